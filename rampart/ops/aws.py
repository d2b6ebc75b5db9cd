"""The one place that builds boto3 clients, and turns AWS failures into messages a person can act on.

botocore (>= 1.31) reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` itself, so pointing every command at
a local endpoint (moto, LocalStack) needs no flag here; credentials follow the usual chain.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import boto3
import botocore.config
import botocore.loaders
import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    WaiterError,
)
from botocore.parsers import ResponseParserError

from rampart.cli import RUNNING_COMMAND
from rampart.errors import OperationFailed, UsageError
from rampart.ops import oidc

AWS_FAILURES = (ClientError, BotoCoreError, ResponseParserError)
"""What a botocore call raises when AWS (or something between it and us) does not do it. ResponseParserError is
botocore's own, outside BotoCoreError: an answer that is not AWS's (an HTML error page from a proxy or balancer)."""

# Standard mode retries throttling and transient errors with jittered exponential backoff; 8 retries ride out
# the API rate limits CI hits when several pipelines deploy at once.
MAX_ATTEMPTS = 8
RETRY_CONFIG = botocore.config.Config(
    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    connect_timeout=10,
    read_timeout=60,
)

DENIED_CODES = frozenset({
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
})
NOT_FOUND_CODES = frozenset({
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
    "DBSnapshotNotFound",
    "DBSnapshotNotFoundFault",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "ApplicationDoesNotExistException",
    "DeploymentGroupDoesNotExistException",
    "DeploymentDoesNotExistException",
    "ResourceNotFoundException",
    "ResourceNotFound",
})


def resolve_region(flag: str | None) -> str:
    region = flag or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UsageError("no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    return region


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def translate(exc: Exception, action: str, resource: str) -> OperationFailed:
    """An OperationFailed naming the action and the resource, for any AWS failure a command cannot handle itself."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return OperationFailed(
            f"{action} {resource}: no usable AWS credentials (environment, shared config, SSO or instance role); "
            "configure a profile or run under a role"
        )
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in DENIED_CODES:
            return OperationFailed(
                f"{action} {resource}: permission denied ({code}): the caller's role must allow {action}; "
                f"AWS said: {error_message(exc)}"
            )
        if code in NOT_FOUND_CODES or code.endswith("NotFound") or code.endswith("NotFoundFault"):
            return OperationFailed(f"{action} {resource}: not found ({code}): {error_message(exc)}")
        if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"):
            return OperationFailed(
                f"{action} {resource}: still throttled after {MAX_ATTEMPTS} retries "
                f"({code}); retry later"
            )
        return OperationFailed(f"{action} {resource}: {code or 'error'}: {error_message(exc)}")
    if isinstance(exc, EndpointConnectionError):
        return OperationFailed(f"{action} {resource}: cannot reach the AWS endpoint: {exc}")
    if isinstance(exc, ResponseParserError):  # its text quotes the whole answer: not shown
        return OperationFailed(f"{action} {resource}: the answer was not an AWS response (an error page from "
                               "something between here and AWS?); retry later")
    return OperationFailed(f"{action} {resource}: {exc}")


@contextmanager
def calling(action: str, resource: str) -> Iterator[None]:
    """Run AWS calls, re-raising any botocore failure as OperationFailed(action, resource)."""
    try:
        yield
    except AWS_FAILURES as exc:
        raise translate(exc, action, resource) from exc


LAST_CALL: ContextVar[tuple[str, str]] = ContextVar("rampart_last_aws_call", default=("", ""))
"""(service:Action, the resource it named) of the latest AWS call: a failure outside any `calling(...)` still says
which call and which resource, never only "AWS call"."""
_RESOURCE_KEYS = ("Identifier", "Name", "Id", "Arn", "cluster", "service", "taskDefinition", "tasks", "names")


def _note_call(params: dict[str, Any], model: Any, **_: Any) -> None:
    named = [f"{key}={value if isinstance(value, str) else ','.join(map(str, value))}"
             for key, value in params.items()
             if key.endswith(_RESOURCE_KEYS) and isinstance(value, str | list) and value]
    service = model.service_model.endpoint_prefix
    LAST_CALL.set((f"{service}:{model.name}", " ".join(named)[:300]))


def last_call() -> tuple[str, str]:
    action, resource = LAST_CALL.get()
    return action or "AWS call", resource or "(no resource named)"


# Service models are large JSON files; parse each once per process however many commands run in it.
_LOADER = botocore.loaders.create_loader()


class Aws:
    """boto3 clients for one region, built once each with the shared retry policy."""

    def __init__(self, region: str, *, command: str | None = None) -> None:
        self.region = region
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        if oidc.wanted():  # in GitHub Actions: credentials that outlive one role session (rampart/ops/oidc.py)
            oidc.install(core, region, command or RUNNING_COMMAND.get(), _LOADER)
        self._session = boto3.session.Session(botocore_session=core, region_name=region)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._create(service)
        return self._clients[service]

    def single_attempt(self, service: str) -> Any:
        """A client that never retries by itself, for a call with no idempotency token (CodeDeploy's
        CreateDeployment): the caller looks before it tries again, or a lost answer would act twice."""
        key = f"{service}/single-attempt"
        if key not in self._clients:
            made = self._session.client(service, config=RETRY_CONFIG.merge(botocore.config.Config(
                retries={"mode": "standard", "total_max_attempts": 1})))
            made.meta.events.register("provide-client-params.*.*", _note_call)
            self._clients[key] = made
        return self._clients[key]

    def _create(self, service: str) -> Any:
        made = self._session.client(service, config=RETRY_CONFIG)
        made.meta.events.register("provide-client-params.*.*", _note_call)
        return made


def wait(client: Any, waiter_name: str, *, timeout: float, delay: float, **kwargs: Any) -> None:
    """Run a boto3 waiter bounded by `timeout` seconds; WaiterError propagates for the caller to word."""
    delay = max(delay, 0.01)
    attempts = max(1, math.ceil(timeout / delay))
    client.get_waiter(waiter_name).wait(**kwargs, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})


def waited_out(exc: WaiterError) -> bool:
    """True when the waiter ran out of attempts (a timeout); False when a call failed or a failure state came."""
    return "Max attempts exceeded" in waiter_reason(exc)


def wait_or_fail(client: Any, waiter_name: str, *, action: str, resource: str, timeout: float, delay: float,
                 **kwargs: Any) -> None:
    """`wait`, where any failure that is not a timeout becomes OperationFailed naming the polling call, the
    resource and how long it had waited: an error in the first second must not read as a long wait gone stale.
    A timeout still raises WaiterError, for the caller to word with what it knows (the last status)."""
    started = time.monotonic()
    try:
        wait(client, waiter_name, timeout=timeout, delay=delay, **kwargs)
    except WaiterError as exc:
        if waited_out(exc):
            raise
        raise OperationFailed(f"{action} {resource}: waiting failed after {time.monotonic() - started:.1f}s: "
                              f"{waiter_reason(exc)}") from exc
    except AWS_FAILURES as exc:
        failed = translate(exc, action, resource)
        raise OperationFailed(f"{failed} (while waiting, after {time.monotonic() - started:.1f}s)") from exc


def waiter_reason(exc: WaiterError) -> str:
    reason = str(exc.kwargs.get("reason", "")) if hasattr(exc, "kwargs") else ""
    return reason or str(exc)
