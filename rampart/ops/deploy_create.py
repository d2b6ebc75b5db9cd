"""CodeDeploy's CreateDeployment, which takes no idempotency token, made safe to retry.

botocore retries a call whose answer was lost (a reset after CodeDeploy acted): for CreateDeployment that would
start a second deployment of the same revision, or fail on the first one while it runs unnamed. So: one attempt
at a time, and before each retry a look for our deployment (the AppSpec's sha256) among the group's active ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from rampart.ops.aws import Aws, calling, error_code, translate
from rampart.ops.report import Report

if TYPE_CHECKING:
    from rampart.ops.deploy import DeployOptions

CREATE_ATTEMPTS = 4
ACTIVE = ["Created", "Queued", "InProgress", "Ready", "Baking"]


def create_deployment(aws: Aws, options: DeployOptions, revision: dict[str, Any], group_name: str,
                      report: Report, sleep: Callable[[float], None]) -> str:
    """CreateDeployment has no idempotency token: after a failure that may have lost the answer, look for our
    deployment (the AppSpec's sha256) among the group's active ones before trying again, never start a second."""
    once = aws.single_attempt("codedeploy")
    sha = revision["appSpecContent"]["sha256"]
    failure: Exception | None = None
    for attempt in range(CREATE_ATTEMPTS):
        if attempt:
            sleep(min(8.0, 0.5 * 2 ** attempt))
            found = _active_deployment_with(aws.client("codedeploy"), options, sha, group_name)
            if found:
                report.info("create answer lost", f"{found} was started by the request whose answer was lost")
                return found
        try:
            return str(once.create_deployment(
                applicationName=options.application, deploymentGroupName=options.deployment_group,
                revision=revision, description=options.description)["deploymentId"])
        except (ClientError, BotoCoreError) as exc:
            failure = exc
            if isinstance(exc, ClientError) and not _transient(exc):
                break
    assert failure is not None
    raise translate(failure, "codedeploy:CreateDeployment", group_name) from failure


def _transient(exc: ClientError) -> bool:
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return status >= 500 or status == 429 or "Throttl" in error_code(exc) or error_code(exc) in (
        "TooManyRequestsException", "RequestLimitExceeded")


def _active_deployment_with(codedeploy: Any, options: DeployOptions, sha: str, group_name: str) -> str | None:
    with calling("codedeploy:ListDeployments", group_name):
        ids = codedeploy.list_deployments(applicationName=options.application,
                                          deploymentGroupName=options.deployment_group,
                                          includeOnlyStatuses=ACTIVE).get("deployments", [])
    for start in range(0, len(ids), 25):  # BatchGetDeployments takes at most 25 ids
        chunk = ids[start:start + 25]
        with calling("codedeploy:BatchGetDeployments", ", ".join(chunk)):
            infos = codedeploy.batch_get_deployments(deploymentIds=chunk).get("deploymentsInfo", [])
        for info in infos:
            if ((info.get("revision") or {}).get("appSpecContent") or {}).get("sha256") == sha:
                return str(info["deploymentId"])
    return None
