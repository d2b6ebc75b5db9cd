"""Record every boto3 call a block makes, and turn each into the IAM requests AWS would authorise for it.

The patch sits on `BaseClient._make_api_call`, below waiters, paginators and botocore's Stubber (whose hook runs
inside it), so calls a test serves from a Stubber are recorded like calls that reach moto. Each call becomes:
the IAM action; the resource ARN(s) the Service Authorization Reference lists for it (`*` for actions without
resource-level permissions); the condition keys AWS puts in the request context (request tags on create,
`ecs:cluster`, resource tags on delete, read from moto by an unrecorded client); and the implicit authorisations
AWS makes on the caller's behalf (`iam:PassRole`, tag-on-create). TABLE is keyed by botocore service name and
each entry spells out its IAM action, since the two namings differ (botocore `elbv2` is IAM
`elasticloadbalancing`, `cloudwatch` signs as `monitoring`). An operation missing from the table fails the test:
a new call cannot slip past the contract.

TABLE joins the tables of aws_calls_deploy.py (ECS, CodeDeploy, ECR), aws_calls_rds.py and aws_calls_monitoring.py
(CloudWatch, Logs, SNS), which translate onto the Account of aws_calls_account.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import botocore.client

from tests.support import aws_calls_deploy, aws_calls_monitoring, aws_calls_rds
from tests.support.aws_calls_account import Account, Translator
from tests.support.iam import Request


@dataclass(frozen=True)
class Call:
    service: str
    """botocore's service name (`ecs`, `codedeploy`, `cloudwatch`...)."""
    operation: str
    params: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.service}.{self.operation}"


# Each entry checked against the Service Authorization Reference (the data iam-simulate validates with).
TABLE: dict[tuple[str, str], Translator] = {
    **aws_calls_deploy.TABLE, **aws_calls_rds.TABLE, **aws_calls_monitoring.TABLE,
}


class UnknownOperation(AssertionError):
    pass


def translate(account: Account, call: Call) -> list[Request]:
    translator = TABLE.get((call.service, call.operation))
    if translator is None:
        raise UnknownOperation(
            f"{call.label}: no IAM translation in TABLE (tests/support/aws_calls_*.py); add its action, resource ARN "
            "and context keys from the Service Authorization Reference"
        )
    # The resource's own policy (a KMS key's) travels with the request: without it KMS denies everything.
    return [Request(r.action, r.resource, r.context, r.origin or call.label, resource_policy=r.resource_policy)
            for r in translator(account, call.params)]


@dataclass
class Recorded:
    account: Account
    calls: list[Call] = field(default_factory=list)
    iam: list[Request] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def requests(self) -> list[Request]:
        """The IAM requests of every call; an operation the table does not know fails here, loudly."""
        if self.unknown:
            raise UnknownOperation("\n".join(dict.fromkeys(self.unknown)))
        return list(self.iam)

    def add(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """A call made outside boto3 (an `aws` CLI line in a workflow), evaluated like a recorded one."""
        call = Call(service, operation, dict(params))
        self.calls.append(call)
        try:
            self.iam += translate(self.account, call)
        except UnknownOperation as exc:
            self.unknown.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - never break the command under test; fail at requests()
            self.unknown.append(f"{call.label}: cannot translate {dict(params)}: {type(exc).__name__}: {exc}")


_state = threading.local()


@contextmanager
def recording(account_id: str, region: str, endpoint_url: str | None = None) -> Iterator[Recorded]:
    """Record the block's boto3 calls (any client, any thread) as IAM requests for this account and region."""
    lookups: dict[str, Any] = {}

    def lookup(service: str) -> Any:
        if service not in lookups:
            lookups[service] = boto3.client(service, region_name=region, endpoint_url=endpoint_url)
        return lookups[service]

    recorded = Recorded(Account(account_id, region, lookup))
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(client: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
        if not getattr(_state, "looking_up", False):
            _state.looking_up = True  # the lookups' own calls are facts about AWS, not calls of the command
            try:
                recorded.add(client.meta.service_model.service_name, operation_name, api_params)
            finally:
                _state.looking_up = False
        return original(client, operation_name, api_params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", make_api_call):
        yield recorded
