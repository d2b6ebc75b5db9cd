"""Blue/green through CodeDeploy: a new revision, an AppSpec naming it, followed; stopped with rollback on timeout.

With a smoke gate, the deployment group must hold the green task set in `Ready` (ready option STOP_DEPLOYMENT):
the checks run against the test listener there, and only their success lets traffic shift (ContinueDeployment);
their failure stops the deployment with rollback before the production listener ever moves.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from rampart.errors import OperationFailed, UsageError
from rampart.ops import ecs as ecs_ops
from rampart.ops.aws import Aws, calling, translate
from rampart.ops.report import Report
from rampart.ops.smoke import SmokeOptions, run_smoke

TERMINAL = ("Succeeded", "Failed", "Stopped")
# What each CodeDeploy status means for the traffic, in the words the report uses.
MEANING = {
    "Created": "deployment created",
    "Queued": "queued behind another deployment",
    "InProgress": "replacement tasks starting, traffic shifting",
    "Baking": "traffic shifted; waiting before terminating the original tasks",
    "Ready": "replacement ready; waiting to reroute traffic",
    "Succeeded": "traffic on the new revision",
    "Failed": "deployment failed",
    "Stopped": "deployment stopped",
}


@dataclass(frozen=True, kw_only=True)
class DeployOptions:
    cluster: str
    service: str
    application: str
    deployment_group: str
    container_name: str
    container_port: int
    image: str | None = None
    task_definition: str | None = None
    register_only: bool = False
    timeout: float = 3600.0
    poll: float = 15.0
    description: str = "rampart deploy"
    smoke: SmokeOptions | None = None
    """Checks against the test listener while the deployment waits in Ready; None: no gate."""
    continue_when_ready: bool = False
    """Without a smoke gate, let a deployment held in Ready go on at once (a rollback to a revision that ran)."""


def registrable(task_definition: dict[str, Any], accepted: set[str]) -> dict[str, Any]:
    """Only the fields RegisterTaskDefinition accepts: the read-only ones (ARN, revision, status...) are dropped."""
    return {key: value for key, value in task_definition.items() if key in accepted and value not in (None, [], {})}


def register_revision(ecs: Any, current_arn: str, container_name: str, image: str) -> str:
    task_definition, tags = ecs_ops.describe_task_definition(ecs, current_arn)
    accepted = set(ecs.meta.service_model.operation_model("RegisterTaskDefinition").input_shape.members)
    request = registrable(task_definition, accepted)
    ecs_ops.container(task_definition, container_name)  # a clear error when the container is missing
    request["containerDefinitions"] = [
        {**c, "image": image} if c.get("name") == container_name else c
        for c in task_definition["containerDefinitions"]
    ]
    if tags:
        request["tags"] = tags
    with calling("ecs:RegisterTaskDefinition", f"family {task_definition.get('family')}"):
        answer = ecs.register_task_definition(**request)
    return str(answer["taskDefinition"]["taskDefinitionArn"])


def appspec(task_definition_arn: str, container_name: str, container_port: int) -> str:
    spec = {
        "version": "0.0",
        "Resources": [{
            "TargetService": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": task_definition_arn,
                    "LoadBalancerInfo": {"ContainerName": container_name, "ContainerPort": container_port},
                },
            }
        }],
    }
    return json.dumps(spec, indent=2, sort_keys=True)


def run_deploy(aws: Aws, options: DeployOptions, report: Report,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    ecs = aws.client("ecs")
    codedeploy = aws.client("codedeploy")
    group_name = f"deployment group {options.deployment_group} of application {options.application}"

    if not options.register_only:
        # Fail before registering anything: an orphan revision is clutter, a missing group is a wiring error.
        with calling("codedeploy:GetDeploymentGroup", group_name):
            group = codedeploy.get_deployment_group(applicationName=options.application,
                                                    deploymentGroupName=options.deployment_group)
        if options.smoke is not None:
            _require_ready_wait(group.get("deploymentGroupInfo") or {}, group_name)

    service = ecs_ops.describe_service(ecs, options.cluster, options.service)
    current = ecs_ops.current_task_definition(service)
    report.info("current revision", current)
    if options.task_definition:
        new_arn = options.task_definition
        report.info("revision given", new_arn)
    else:
        assert options.image is not None
        new_arn = register_revision(ecs, current, options.container_name, options.image)
        report.ok("revision registered", f"{new_arn} ({options.container_name} -> {options.image})")
    report.result["taskDefinitionArn"] = new_arn
    if options.register_only:
        return

    content = appspec(new_arn, options.container_name, options.container_port)
    revision = {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }
    with calling("codedeploy:CreateDeployment", group_name):
        deployment_id = codedeploy.create_deployment(
            applicationName=options.application, deploymentGroupName=options.deployment_group,
            revision=revision, description=options.description,
        )["deploymentId"]
    report.result["deploymentId"] = deployment_id
    report.ok("deployment started", deployment_id)

    deadline = clock() + options.timeout
    last: str | None = None
    info: dict[str, Any] = {}
    gate = "waiting" if options.smoke is not None else "none"
    while True:
        with calling("codedeploy:GetDeployment", f"deployment {deployment_id}"):
            info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        status = str(info.get("status"))
        if status != last:
            step = report.fail if status in ("Failed", "Stopped") else report.ok if status == "Succeeded" else \
                report.info
            step(f"status {status}", MEANING.get(status, ""))
            last = status
        if gate == "waiting" and status == "Ready":
            assert options.smoke is not None
            report.ok("green ready on the test listener", f"smoke checks on {options.smoke.url}")
            if not _smoke_gate(codedeploy, deployment_id, options.smoke, report, sleep):
                return
            gate = "passed"
            continue
        if gate == "none" and options.continue_when_ready and status == "Ready":
            _continue(codedeploy, deployment_id)
            report.ok("traffic shifting", "continued without a smoke gate (--continue-when-ready)")
            gate = "continued"
            continue
        if gate == "waiting" and status in ("Baking", "Succeeded"):
            # Checked up front, so only a group changed since then gets here: say the gate never ran.
            report.fail("smoke gate bypassed", f"deployment reached {status} without waiting in Ready: traffic "
                        "shifted with no smoke check; the group's ready option is no longer STOP_DEPLOYMENT")
            report.result["status"] = status
            report.exit_code_override = 2
            return
        if status in TERMINAL:
            break
        if clock() >= deadline:
            _stop_with_rollback(codedeploy, deployment_id, options.timeout, report)
            return
        report.progress(f"{deployment_id}: {status}")
        sleep(min(options.poll, max(0.0, deadline - clock())))

    report.result["status"] = last
    if last == "Succeeded":
        return
    error = info.get("errorInformation") or {}
    rollback = info.get("rollbackInfo") or {}
    detail = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    report.fail("deployment " + str(last).lower(), detail or "no error information")
    if rollback.get("rollbackDeploymentId") or rollback.get("rollbackMessage"):
        report.info("rolled back", f"{rollback.get('rollbackDeploymentId', '')} {rollback.get('rollbackMessage', '')}"
                    .strip())
        report.result["rollbackDeploymentId"] = rollback.get("rollbackDeploymentId")


def _continue(codedeploy: Any, deployment_id: str) -> None:
    """Release a deployment the group holds in Ready: CodeDeploy starts moving production traffic."""
    with calling("codedeploy:ContinueDeployment", f"deployment {deployment_id}"):
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")


def _stop(codedeploy: Any, deployment_id: str, what: str, consequence: str = "") -> dict[str, Any]:
    """StopDeployment with rollback; if AWS refuses, say what happened (`what ... could not be stopped`) and what
    is left running."""
    try:
        return codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    except ClientError as exc:
        raise OperationFailed(
            f"{what} could not be stopped: {translate(exc, 'codedeploy:StopDeployment', deployment_id)}{consequence}"
        ) from exc


def _stop_with_rollback(codedeploy: Any, deployment_id: str, timeout: float, report: Report) -> None:
    answer = _stop(codedeploy, deployment_id, f"deployment {deployment_id} still running after {timeout:g}s and")
    report.result["status"] = "TimedOut"
    report.result["stopStatus"] = answer.get("status")
    report.fail("timed out", f"still running after {timeout:g}s")
    report.info("rollback requested", f"stop {answer.get('status', '?')}: {answer.get('statusMessage', '')}".strip())


def _require_ready_wait(group: dict[str, Any], group_name: str) -> None:
    """A smoke gate needs CodeDeploy to hold the green task set in Ready, and to roll back if nobody continues."""
    ready = (group.get("blueGreenDeploymentConfiguration") or {}).get("deploymentReadyOption") or {}
    action = ready.get("actionOnTimeout")
    if action != "STOP_DEPLOYMENT":
        raise UsageError(
            f"--smoke-url: {group_name} does not wait for a go-ahead before shifting traffic "
            f"(blueGreenDeploymentConfiguration.deploymentReadyOption.actionOnTimeout is {action or 'not set'}); "
            "expected STOP_DEPLOYMENT with a wait (the service's readyWaitMinutes > 0), or deploy without --smoke-url"
        )


def _smoke_gate(codedeploy: Any, deployment_id: str, smoke: SmokeOptions, report: Report,
                sleep: Callable[[float], None]) -> bool:
    """Smoke the test listener; continue the deployment on success (True), stop it with rollback on failure."""
    run_smoke(smoke, report, sleep=sleep)
    # run_smoke files its facts at the top of the result; under the deploy they belong to the gate.
    checks = report.result.pop("checks", [])
    report.result["smoke"] = {"url": report.result.pop("url", smoke.url), "checks": checks}
    failed = [check for check in checks if not check["ok"]]
    if not failed:
        _continue(codedeploy, deployment_id)
        report.ok("traffic shifting", "smoke checks passed; deployment continued")
        return True
    why = "; ".join(f"GET {check['path']}: {check['problems'][-1] if check['problems'] else 'failed'}"
                    for check in failed)
    answer = _stop(codedeploy, deployment_id, f"smoke failed ({why}) and deployment {deployment_id}",
                   "; CodeDeploy stops it itself when the ready wait expires, and the production listener has "
                   "not moved")
    report.result["status"] = "SmokeFailed"
    report.result["stopStatus"] = answer.get("status")
    report.fail("smoke failed", f"{why}; the production listener never moved")
    report.info("rollback requested", f"stop {answer.get('status', '?')}: {answer.get('statusMessage', '')}".strip())
    return False
