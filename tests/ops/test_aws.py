"""The shared client factory: region, endpoint, retry policy, and AWS failures turned into clear messages."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from rampart.errors import OperationFailed, UsageError
from rampart.ops import aws as ops_aws
from tests.ops.conftest import REGION, run_json


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_):
        yield self._data


def _query_error(status: int, code: str, message: str) -> AWSResponse:
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>r-1</RequestId></ErrorResponse>").encode()
    return AWSResponse("http://fault", status, {"Content-Type": "text/xml"}, _Body(body))


def _fail_first(monkeypatch, service: str, operation: str, times: int, make) -> list[int]:
    """A botocore event hook on the command's own client: the first `times` sends of `operation` get `make()`
    instead of reaching moto, so the real retry handler (standard mode) sees them."""
    sent: list[int] = []
    original = ops_aws.Aws._create

    def create(self, name):
        made = original(self, name)
        if name == service:
            def before_send(request, **_):
                sent.append(1)
                return make() if len(sent) <= times else None

            made.meta.events.register(f"before-send.{service}.{operation}", before_send)
        return made

    monkeypatch.setattr(ops_aws.Aws, "_create", create)
    return sent


def _make_db(client) -> None:
    client("rds").create_db_instance(
        DBInstanceIdentifier="db", DBInstanceClass="db.t4g.medium", Engine="postgres", MasterUsername="admin_user",
        MasterUserPassword="not-a-real-pass-1", AllocatedStorage=20)


def test_throttling_is_retried_with_backoff(client, monkeypatch, capsys):
    _make_db(client)
    sent = _fail_first(monkeypatch, "rds", "DescribeDBInstances", 1,
                       lambda: _query_error(400, "Throttling", "Rate exceeded"))

    code, report = run_json(capsys, ["snapshot", "--db-instance", "db", "--wait-delay", "0.05"])

    assert code == 0, report
    assert len(sent) >= 2  # the throttled send, then the retry that reached moto


def test_access_denied_names_the_action_and_resource(client, monkeypatch, capsys):
    _make_db(client)
    _fail_first(monkeypatch, "rds", "DescribeDBInstances", 99,
                lambda: _query_error(403, "AccessDenied", "User: arn:aws:sts::1:assumed-role/ci is not authorized"))

    code, report = run_json(capsys, ["snapshot", "--db-instance", "db"])

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert "permission denied" in detail and "rds:DescribeDBInstances" in detail and "DB instance db" in detail


def test_no_credentials_is_a_clear_failure(aws_env, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code, report = run_json(capsys, ["snapshot", "--db-instance", "db"])

    assert code == 1
    assert "no usable AWS credentials" in report["steps"][-1]["detail"]


def test_clients_use_the_endpoint_region_and_standard_retries(aws_env):
    rds = ops_aws.Aws(REGION).client("rds")
    assert rds.meta.endpoint_url == aws_env  # AWS_ENDPOINT_URL, honoured by botocore itself
    assert rds.meta.region_name == REGION
    assert rds.meta.config.retries["mode"] == "standard"
    # botocore counts the first try too: 8 retries are 9 attempts in all.
    assert rds.meta.config.retries["total_max_attempts"] == ops_aws.MAX_ATTEMPTS + 1 == 9


def test_region_flag_wins_then_environment(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert ops_aws.resolve_region("us-east-2") == "us-east-2"
    assert ops_aws.resolve_region(None) == "eu-west-2"
    monkeypatch.delenv("AWS_REGION")
    assert ops_aws.resolve_region(None) == "eu-west-3"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(UsageError, match="--region"):
        ops_aws.resolve_region(None)


@pytest.mark.parametrize(("code", "expected"), [
    ("UnauthorizedOperation", "permission denied"),
    ("AccessDeniedException", "permission denied"),
    ("DeploymentGroupDoesNotExistException", "not found"),
    ("DBInstanceNotFound", "not found"),
    ("ThrottlingException", "still throttled"),
    ("InvalidParameterValue", "InvalidParameterValue: boom"),
])
def test_translate(code, expected):
    error = ClientError({"Error": {"Code": code, "Message": "boom"}}, "Op")
    failure = ops_aws.translate(error, "svc:Op", "thing X")
    assert isinstance(failure, OperationFailed)
    assert str(failure).startswith("svc:Op thing X: ")
    assert expected in str(failure)
