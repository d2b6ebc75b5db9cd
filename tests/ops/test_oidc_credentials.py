"""Issue 11: in GitHub Actions with RAMPART_ROLE_ARN, commands run on credentials botocore refreshes itself,
each refresh with a fresh OIDC token from GitHub's token endpoint (here a loopback server) and a new
AssumeRoleWithWebIdentity (moto's server). Without the variables nothing changes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from rampart.cli import main
from rampart.ops import aws as ops_aws
from rampart.ops import oidc
from tests.ops.conftest import REGION
from tests.ops.test_snapshot import FAST, _make_instance

ROLE_ARN = "arn:aws:iam::123456789012:role/rampart-deploy"
REQUEST_BEARER = "request-bearer-must-never-be-printed"
STS_DENIED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform "
    b"sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
)


@dataclass
class TokenEndpoint:
    """Stands in for GitHub's OIDC token endpoint; POSTs answer as a denying STS when pointed at."""

    url: str = ""
    status: int = 200
    requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)


@pytest.fixture
def token_endpoint(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenEndpoint]:
    state = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            if state.status != 200:
                self.send_response(state.status)
                self.end_headers()
                return
            token = f"oidc-token-{len(state.requests)}"
            state.issued.append(token)
            self._reply(200, json.dumps({"value": token}).encode(), "application/json")

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._reply(403, STS_DENIED, "text/xml")

        def _reply(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{state.url}/token?api-version=2.0")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_BEARER)
    monkeypatch.setenv("RAMPART_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def signed_with(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The access key id each request of a command's clients was signed with (from its SigV4 header)."""
    keys: list[str] = []
    original = ops_aws.Aws._create

    def record(request: Any, **_: Any) -> None:
        header = request.headers.get("Authorization", b"")
        header = header.decode() if isinstance(header, bytes) else header
        keys.append(header.split("Credential=", 1)[1].split("/", 1)[0])

    def create(self: ops_aws.Aws, name: str) -> Any:
        made = original(self, name)
        made.meta.events.register("before-send", record)
        return made

    monkeypatch.setattr(ops_aws.Aws, "_create", create)
    return keys


def caller_arn(access_key: str) -> str:
    """Who moto's STS says holds this access key (moto resolves the key, it does not check signatures)."""
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id=access_key, aws_secret_access_key="unused")
    return sts.get_caller_identity()["Arn"]


def snapshot(capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["snapshot", "--db-instance", "app-db", *FAST])
    out, err = capfd.readouterr()
    return code, out + err


def test_a_commands_calls_go_out_under_the_assumed_role(client, token_endpoint, signed_with, capfd):
    _make_instance(client("rds"))

    code, output = snapshot(capfd)

    assert code == 0, output
    assert signed_with and set(signed_with) != {"testing"}
    assert {caller_arn(key) for key in set(signed_with)} == {
        "arn:aws:sts::123456789012:assumed-role/rampart-deploy/rampart-snapshot-4242"
    }
    # One token for the whole command: the credentials are good for an hour, and botocore caches them.
    assert len(token_endpoint.requests) == 1
    request = token_endpoint.requests[0]
    assert request["path"] == "/token?api-version=2.0&audience=sts.amazonaws.com"
    assert request["authorization"] == f"bearer {REQUEST_BEARER}"
    assert REQUEST_BEARER not in output and "oidc-token-" not in output


def test_credentials_near_their_expiry_are_refreshed_with_a_new_token_and_role_session(
    client, token_endpoint, signed_with, capfd, monkeypatch
):
    # 900 s is STS's shortest session, inside botocore's 15-minute refresh window from the start: every
    # request finds the credentials about to expire, as an hour-long deploy does after 45 minutes.
    monkeypatch.setattr(oidc, "ROLE_SESSION_SECONDS", 900)
    _make_instance(client("rds"))

    code, output = snapshot(capfd)

    assert code == 0, output
    assert len(signed_with) >= 3
    assert len(token_endpoint.issued) == len(signed_with)  # a fresh token for each refresh
    assert len(set(signed_with)) == len(signed_with)  # and a new role session each time
    assert {caller_arn(key).rsplit("/", 1)[0] for key in signed_with} == {
        "arn:aws:sts::123456789012:assumed-role/rampart-deploy"
    }


def test_without_the_variables_the_usual_credential_chain_is_used(client, token_endpoint, signed_with, capfd,
                                                                    monkeypatch):
    monkeypatch.delenv("RAMPART_ROLE_ARN")
    _make_instance(client("rds"))

    code, output = snapshot(capfd)

    assert code == 0, output
    assert set(signed_with) == {"testing"}
    assert token_endpoint.requests == []


def test_a_role_arn_outside_github_actions_is_a_usage_error(client, token_endpoint, capfd, monkeypatch):
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")

    code, output = snapshot(capfd)

    assert code == 2
    assert "RAMPART_ROLE_ARN is set but ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN" in output
    assert "id-token: write" in output and "Traceback" not in output


def test_a_malformed_role_arn_names_the_variable(client, token_endpoint, capfd, monkeypatch):
    monkeypatch.setenv("RAMPART_ROLE_ARN", "rampart-deploy")

    code, output = snapshot(capfd)

    assert code == 2
    assert "RAMPART_ROLE_ARN: expected an IAM role ARN" in output


def test_a_refused_token_request_is_one_message_without_secrets(client, token_endpoint, capfd):
    token_endpoint.status = 403
    _make_instance(client("rds"))

    code, output = snapshot(capfd)

    assert code == 1
    assert "GitHub OIDC token: the token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) answered HTTP 403" in output
    assert "Traceback" not in output and REQUEST_BEARER not in output


def test_an_unreachable_token_endpoint_is_one_message(client, token_endpoint, capfd, monkeypatch):
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token?api-version=2.0")
    _make_instance(client("rds"))

    code, output = snapshot(capfd)

    assert code == 1
    assert "GitHub OIDC token: cannot reach the token endpoint" in output
    assert "Traceback" not in output and REQUEST_BEARER not in output


def test_sts_access_denied_names_the_role_and_the_trust_policy(client, token_endpoint, capfd, monkeypatch):
    _make_instance(client("rds"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", token_endpoint.url)  # STS answers AccessDenied

    code, output = snapshot(capfd)

    assert code == 1
    assert f"sts:AssumeRoleWithWebIdentity into {ROLE_ARN} failed (AccessDenied)" in output
    assert "trust policy" in output
    assert "Traceback" not in output and "oidc-token-" not in output and REQUEST_BEARER not in output
