"""Blue/green through CodeDeploy: a new revision, an AppSpec naming it, followed until traffic has fully shifted
and the group's alarms stay quiet (or, with --wait-for-bake, until Succeeded); on timeout stopped with rollback,
but only while traffic has not fully shifted.

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
from rampart.ops.deploy_create import create_deployment
from rampart.ops.report import Report
from rampart.ops.smoke import SmokeOptions, display_url, run_smoke
from rampart.ops.smoke_task import SmokeTaskOptions, run_smoke_task

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
    base_task_definition: str | None = None
    """With image: the revision the new one copies (default: the one the service runs)."""
    task_definition: str | None = None
    register_only: bool = False
    timeout: float
    """Seconds before a deployment whose traffic has not fully shifted is stopped with rollback; after the shift
    the timeout only reports (see _Follow). The stack output services.<s>.deployment derives it."""
    poll: float = 15.0
    alarm_watch: float = 0.0
    """After the full shift, how long the group's alarms must stay quiet before the release counts as good."""
    wait_for_bake: bool = False
    """Follow the bake to Succeeded instead of returning once traffic has shifted and the alarms are quiet."""
    description: str = "rampart deploy"
    smoke: SmokeOptions | None = None
    """Checks against the test listener while the deployment waits in Ready; None: no gate."""
    smoke_task: SmokeTaskOptions | None = None
    """Run those checks as the stack's smoke task inside the VPC instead of from this machine."""
    continue_when_ready: bool = False
    """Without a smoke gate, let a deployment held in Ready go on at once (a rollback to a revision that ran)."""
    traffic_control: str = "CODE_DEPLOY"
    """"ECS": the service runs ECS-native blue/green (rampart/ops/ecs_native_deploy.py), no CodeDeploy call."""


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


def register_image_revision(ecs: Any, options: DeployOptions, current: str, report: Report) -> str:
    """--image: a new revision of --from-task-definition (else the running one) with the image swapped in; both
    deployment paths (CodeDeploy, ECS-native) register it and say what they left the same way."""
    assert options.image is not None
    base = options.base_task_definition or current
    family = base.rsplit("/", 1)[-1].split(":", 1)[0]
    with report.creating(f"a new revision of task definition family {family}"):
        new_arn = register_revision(ecs, base, options.container_name, options.image)
    report.leave(f"task definition revision {new_arn} (tags copied from {base})")
    report.ok("revision registered", f"{new_arn} ({options.container_name} -> {options.image})")
    return new_arn


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
    if options.traffic_control == "ECS":
        from rampart.ops.ecs_native_deploy import run_native_deploy  # imports this module

        run_native_deploy(aws, options, report, clock, sleep)
        return
    ecs = aws.client("ecs")
    codedeploy = aws.client("codedeploy")
    group_name = f"deployment group {options.deployment_group} of application {options.application}"
    group: dict[str, Any] = {}

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
        new_arn = register_image_revision(ecs, options, current, report)
    report.result["taskDefinitionArn"] = new_arn
    if options.register_only:
        return

    content = appspec(new_arn, options.container_name, options.container_port)
    revision = {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }
    with report.creating(f"a deployment of {group_name}"):
        deployment_id = create_deployment(aws, options, revision, group_name, report, sleep)
    report.result["deploymentId"] = deployment_id
    report.leave(f"deployment {deployment_id} (CodeDeploy carries it on if this run stops; stop it with "
                 f"`aws deploy stop-deployment --deployment-id {deployment_id} --auto-rollback-enabled`)")
    report.result["timeoutSeconds"] = options.timeout
    report.ok("deployment started", deployment_id)

    alarms = _group_alarms(group.get("deploymentGroupInfo") or {})
    _Follow(aws, codedeploy, deployment_id, options, report, clock, sleep, alarms).run()


class _Follow:
    """Follow one deployment: the smoke gate in Ready, then either success once traffic has fully shifted and the
    group's alarms stayed quiet for the alarm watch (or, with --wait-for-bake, Succeeded), or the outcome.

    The timeout stops with rollback only while traffic has not fully shifted. After the shift the release serves
    all traffic with blue kept behind it, and CodeDeploy's alarm rollback guards the bake: stopping then would
    roll back a release that may well be healthy, so the timeout only reports."""

    def __init__(self, aws: Aws, codedeploy: Any, deployment_id: str, options: DeployOptions, report: Report,
                 clock: Callable[[], float], sleep: Callable[[float], None], alarms: tuple[str, ...]) -> None:
        self.aws, self.codedeploy, self.deployment_id = aws, codedeploy, deployment_id
        self.options, self.report, self.clock, self.sleep, self.alarms = options, report, clock, sleep, alarms
        self.deadline = clock() + options.timeout
        self.gate = "waiting" if options.smoke is not None else "none"
        self.shifted_at: float | None = None
        self.noisy: tuple[str, ...] = ()

    def run(self) -> None:
        last: str | None = None
        while True:
            with calling("codedeploy:GetDeployment", f"deployment {self.deployment_id}"):
                info = self.codedeploy.get_deployment(deploymentId=self.deployment_id)["deploymentInfo"]
            status = str(info.get("status"))
            if status != last:
                step = self.report.fail if status in ("Failed", "Stopped") else \
                    self.report.ok if status == "Succeeded" else self.report.info
                step(f"status {status}", MEANING.get(status, ""))
                last = status
            handled = self._gate(status)
            if handled == "again":
                continue
            if handled == "done":
                return
            if status in TERMINAL:
                _outcome(info, status, self.report)
                return
            if status == "Baking" and self._shifted() and self._quiet():
                return
            if self.clock() >= self.deadline:
                self._timed_out(status)
                return
            self.report.progress(f"{self.deployment_id}: {status}")
            self.sleep(self._next_wait())

    def _gate(self, status: str) -> str:
        """The smoke gate and --continue-when-ready in Ready; "again" to poll at once, "done" to stop following."""
        options, report = self.options, self.report
        if self.gate == "waiting" and status == "Ready":
            assert options.smoke is not None
            report.ok("green ready on the test listener", f"smoke checks on {display_url(options.smoke.url)}")
            smoke, task = options.smoke, options.smoke_task
            checks = (lambda: run_smoke_task(self.aws, task, smoke, report)) if task is not None else \
                (lambda: run_smoke(smoke, report, sleep=self.sleep))
            if not _smoke_gate(self.codedeploy, self.deployment_id, smoke, report, checks):
                return "done"
            self.gate = "passed"
            return "again"
        if self.gate == "none" and options.continue_when_ready and status == "Ready":
            _continue(self.codedeploy, self.deployment_id)
            report.ok("traffic shifting", "continued without a smoke gate (--continue-when-ready)")
            self.gate = "continued"
            return "again"
        if self.gate == "waiting" and status in ("Baking", "Succeeded"):
            # Checked up front, so only a group changed since then gets here: say the gate never ran.
            report.fail("smoke gate bypassed", f"deployment reached {status} without waiting in Ready: traffic "
                        "shifted with no smoke check; the group's ready option is no longer STOP_DEPLOYMENT")
            report.result["status"] = status
            report.exit_code_override = 2
            return "done"
        return ""

    def _shifted(self) -> bool:
        """Note the full shift once; True when the default path may now judge the alarms (not --wait-for-bake)."""
        if self.shifted_at is None:
            self.shifted_at = self.clock()
            self.report.result["shifted"] = True
            watch = f"; alarms watched for {self.options.alarm_watch:g}s" if self.options.alarm_watch else ""
            self.report.ok("traffic shifted", f"all production traffic on the new revision{watch}")
        if self.options.wait_for_bake:
            return False
        return self.clock() - self.shifted_at >= self.options.alarm_watch

    def _quiet(self) -> bool:
        """The group's alarms: none in ALARM and none missing. Success then, the bake left to CodeDeploy."""
        if not self.alarms:
            self.report.info("no alarms on the group", "nothing but CodeDeploy's failure rollback guards the bake")
        states = _alarm_states(self.aws, self.alarms)
        noisy = tuple(f"{name} ({states.get(name, 'missing')})" for name in self.alarms
                      if states.get(name) not in ("OK", "INSUFFICIENT_DATA"))
        if noisy:
            if noisy != self.noisy:
                self.report.info("alarms not quiet", f"{', '.join(noisy)}: CodeDeploy rolls back on its alarms; "
                                 "following until they clear or the deployment stops")
                self.noisy = noisy
            return False
        if self.alarms:
            self.report.ok("alarms quiet", ", ".join(f"{name} {states[name]}" for name in self.alarms))
        self.report.result["status"] = "Baking"
        self.report.ok("released", "traffic shifted and alarms quiet; CodeDeploy's alarm rollback covers the bake "
                       "(--wait-for-bake follows it to Succeeded)")
        return True

    def _timed_out(self, status: str) -> None:
        options, report = self.options, self.report
        if self.shifted_at is None:
            _stop_with_rollback(self.codedeploy, self.deployment_id, options.timeout, report)
            return
        report.result["status"] = "TimedOutAfterShift"
        report.fail("timed out after the shift", f"still {status} after {options.timeout:g}s; not stopped: all "
                    "traffic already runs on the new revision with blue kept behind it, and CodeDeploy's alarm "
                    "rollback still guards the bake, so a stop now could only roll back a release that may be "
                    "healthy. Watch the deployment, or run the rollback workflow if it is not")

    def _next_wait(self) -> float:
        now = self.clock()
        wake = [self.options.poll, self.deadline - now]
        watch_ends = None if self.shifted_at is None else self.shifted_at + self.options.alarm_watch
        if watch_ends is not None and watch_ends > now and not self.options.wait_for_bake:
            wake.append(watch_ends - now)  # judge the alarms as soon as the watch is over, then every poll
        return max(0.0, min(wake))


def _outcome(info: dict[str, Any], status: str, report: Report) -> None:
    report.result["status"] = status
    if status == "Succeeded":
        return
    error = info.get("errorInformation") or {}
    rollback = info.get("rollbackInfo") or {}
    detail = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    report.fail("deployment " + status.lower(), detail or "no error information")
    if rollback.get("rollbackDeploymentId") or rollback.get("rollbackMessage"):
        report.info("rolled back", f"{rollback.get('rollbackDeploymentId', '')} {rollback.get('rollbackMessage', '')}"
                    .strip())
        report.result["rollbackDeploymentId"] = rollback.get("rollbackDeploymentId")


def _group_alarms(group: dict[str, Any]) -> tuple[str, ...]:
    """The alarms CodeDeploy stops this group's deployments on (none when its alarm configuration is off)."""
    config = group.get("alarmConfiguration") or {}
    if not config.get("enabled"):
        return ()
    return tuple(str(alarm["name"]) for alarm in config.get("alarms") or [] if alarm.get("name"))


def _alarm_states(aws: Aws, names: tuple[str, ...]) -> dict[str, str]:
    if not names:
        return {}
    cloudwatch = aws.client("cloudwatch")
    states: dict[str, str] = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        chunk = list(names[start:start + 100])
        with calling("cloudwatch:DescribeAlarms", ", ".join(chunk)):
            for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=chunk):
                for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                    states[str(alarm["AlarmName"])] = str(alarm.get("StateValue"))
    return states


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
                checks: Callable[[], None]) -> bool:
    """Smoke the test listener (`checks`: from here, or the smoke task in the VPC); continue the deployment on
    success (True), stop it with rollback on failure."""
    checks()
    # run_smoke files its facts at the top of the result; under the deploy they belong to the gate.
    checks = report.result.pop("checks", [])
    report.result["smoke"] = {"url": report.result.pop("url", display_url(smoke.url)), "checks": checks}
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
