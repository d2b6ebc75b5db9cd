"""ECS-native blue/green (a service whose deployment controller is ECS with strategy BLUE_GREEN): deploy is a new
revision plus UpdateService, and ECS runs the blue/green itself; rollback is StopServiceDeployment with ROLLBACK.

The deployment is followed through its lifecycle (DescribeServiceDeployments) as the CodeDeploy path follows its
deployment: the smoke gate runs while a PAUSE hook holds green on the test listener rule (POST_TEST_TRAFFIC_SHIFT),
then ContinueServiceDeployment lets production traffic move (or rolls back on failure); success is all traffic
shifted (the bake has begun) with the service's alarms quiet, or with --wait-for-bake SUCCESSFUL; on timeout
before the shift the deployment is stopped with rollback, after it the timeout only reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rampart.errors import OperationFailed, UsageError
from rampart.ops import ecs as ecs_ops
from rampart.ops.aws import Aws, calling, translate
from rampart.ops.report import Report

IN_FLIGHT = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
FAILED = ("STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# Stages at which all production traffic is on green: the bake (blue kept, alarms can still roll back) and after.
SHIFTED_STAGES = ("BAKE_TIME", "CLEAN_UP")
SMOKE_STAGE = "POST_TEST_TRAFFIC_SHIFT"
MEANING = {
    "PENDING": "deployment created",
    "IN_PROGRESS": "green starting, traffic moving through the lifecycle",
    "SUCCESSFUL": "traffic on the new revision, blue retired",
    "STOPPED": "deployment stopped",
    "STOP_REQUESTED": "stop requested",
    "ROLLBACK_REQUESTED": "rollback requested",
    "ROLLBACK_IN_PROGRESS": "rolling back to blue",
    "ROLLBACK_SUCCESSFUL": "rolled back: traffic on the previous revision",
    "ROLLBACK_FAILED": "rollback failed",
}


def require_native(service: dict[str, Any], needs_pause: bool) -> tuple[str, ...]:
    """The service must be ECS-native blue/green (and, for a smoke gate, pause after the test traffic shift);
    returns its rollback alarm names."""
    name = service.get("serviceName")
    controller = (service.get("deploymentController") or {}).get("type") or "ECS"
    config = service.get("deploymentConfiguration") or {}
    if controller != "ECS" or config.get("strategy") != "BLUE_GREEN":
        raise UsageError(f"services.<service>.trafficControl: service {name} is not ECS-native blue/green "
                         f"(deploymentController {controller}, strategy {config.get('strategy') or 'ROLLING'}); "
                         "expected ECS with BLUE_GREEN, or deploy it through its CodeDeploy group")
    if needs_pause and not any(
        hook.get("targetType") == "PAUSE" and SMOKE_STAGE in (hook.get("lifecycleStages") or [])
        for hook in config.get("lifecycleHooks") or []
    ):
        raise UsageError(f"--smoke-url: service {name} does not pause after the test traffic shift (no PAUSE hook "
                         f"at {SMOKE_STAGE}); expected one (the service's readyWaitMinutes > 0), or deploy "
                         "without --smoke-url")
    alarms = config.get("alarms") or {}
    return tuple(alarms.get("alarmNames") or []) if alarms.get("enable") else ()


def start(ecs: Any, cluster: str, service: str, task_definition: str) -> str:
    """UpdateService to the new revision (ECS starts a blue/green deployment) and the deployment it started."""
    with calling("ecs:UpdateService", f"service {service} in cluster {cluster}"):
        ecs.update_service(cluster=cluster, service=service, taskDefinition=task_definition)
    found = in_flight(ecs, cluster, service)
    if not found:
        raise OperationFailed(f"ecs:UpdateService service {service}: no service deployment in flight afterwards; "
                              "the service may not be ECS-native blue/green")
    return found[0]


def in_flight(ecs: Any, cluster: str, service: str) -> list[str]:
    """The service's deployments not yet finished, newest first."""
    return _listed(ecs, cluster, service, IN_FLIGHT)


def _listed(ecs: Any, cluster: str, service: str, statuses: list[str]) -> list[str]:
    briefs: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        with calling("ecs:ListServiceDeployments", f"service {service} in cluster {cluster}"):
            page = ecs.list_service_deployments(cluster=cluster, service=service, status=statuses,
                                                **({"nextToken": token} if token else {}))
        briefs += page.get("serviceDeployments", [])
        token = page.get("nextToken")
        if not token:
            break
    briefs.sort(key=lambda b: b.get("createdAt") or 0, reverse=True)
    return [str(b["serviceDeploymentArn"]) for b in briefs]


def describe(ecs: Any, arn: str) -> dict[str, Any]:
    with calling("ecs:DescribeServiceDeployments", arn):
        answer = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    found = answer.get("serviceDeployments") or []
    if not found:
        raise OperationFailed(f"ecs:DescribeServiceDeployments {arn}: not found")
    return found[0]


def awaiting_hook(deployment: dict[str, Any]) -> str | None:
    """The id of a PAUSE hook waiting for ContinueServiceDeployment, if any."""
    for hook in deployment.get("lifecycleHookDetails") or []:
        if hook.get("targetType") == "PAUSE" and hook.get("status") == "AWAITING_ACTION":
            return str(hook["hookId"])
    return None


def resume(ecs: Any, arn: str, hook_id: str, action: str) -> None:
    """CONTINUE lets the deployment go on to production traffic; ROLLBACK returns to blue."""
    with calling("ecs:ContinueServiceDeployment", f"{arn} hook {hook_id} ({action})"):
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)


def stop_with_rollback(ecs: Any, arn: str, what: str) -> None:
    try:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    except Exception as exc:  # noqa: BLE001 - worded with what is left running
        raise OperationFailed(f"{what} could not be stopped: "
                              f"{translate(exc, 'ecs:StopServiceDeployment', arn)}") from exc


def shifted(deployment: dict[str, Any]) -> bool:
    return deployment.get("status") == "SUCCESSFUL" or deployment.get("lifecycleStage") in SHIFTED_STAGES


@dataclass
class Follow:
    """One deployment followed to an outcome: `gate` runs when a pause hook waits ("again": poll at once, "done":
    stop following, "wait": keep polling),
    `on_shift` judges the shift (True: done), `on_timeout` acts on the deadline."""

    ecs: Any
    arn: str
    report: Report
    deadline: float
    poll: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    good: tuple[str, ...] = ("SUCCESSFUL",)
    """The outcome sought: a rollback seeks ROLLBACK_SUCCESSFUL."""

    def run(self, gate: Callable[[str], str], on_shift: Callable[[dict[str, Any]], bool],
            on_timeout: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        last: tuple[str, str] | None = None
        while True:
            deployment = describe(self.ecs, self.arn)
            status, stage = str(deployment.get("status")), str(deployment.get("lifecycleStage") or "")
            if (status, stage) != last:
                step = self.report.ok if status in self.good else \
                    self.report.fail if status in FAILED else self.report.info
                step(f"status {status}" + (f" ({stage})" if stage else ""), MEANING.get(status, ""))
                last = (status, stage)
            if status == "SUCCESSFUL" or status in FAILED:
                self.report.result["status"] = status
                return deployment
            hook = awaiting_hook(deployment)
            handled = gate(hook) if hook is not None and status == "IN_PROGRESS" else "wait"
            if handled == "done":
                return deployment
            if handled == "again":
                continue
            if shifted(deployment) and on_shift(deployment):
                return deployment
            if self.clock() >= self.deadline:
                on_timeout(deployment)
                return deployment
            self.report.progress(f"{self.arn}: {status} {stage}".strip())
            self.sleep(max(0.0, min(self.poll, self.deadline - self.clock())))


def client(aws: Aws) -> Any:
    return aws.client("ecs")


def running(ecs: Any, cluster: str, service: str) -> str:
    return ecs_ops.current_task_definition(ecs_ops.describe_service(ecs, cluster, service))
