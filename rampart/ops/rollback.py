"""Emergency rollback: stop an in-flight deployment with rollback, or redeploy the revision that served traffic
before the current one; then verify that the service really runs it.

Only revisions that already served traffic are ever deployed: the target comes from the deployment group's own
history of Succeeded deployments, never from "the previous task definition number" (a revision may be registered
and never run). Nothing is registered and no image is pushed: the role running this needs no ECR or
RegisterTaskDefinition rights. A rollback deployment is never stopped on timeout: that would roll back the
rollback, onto the revision being escaped.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from rampart.errors import OperationFailed
from rampart.ops import ecs as ecs_ops
from rampart.ops.aws import Aws, calling
from rampart.ops.deploy import MEANING, TERMINAL, _continue, _stop, appspec
from rampart.ops.report import Report

IN_FLIGHT = ("Created", "Queued", "InProgress", "Ready", "Baking")
# Statuses at which production traffic is on the deployment's revision: following stops there (the bake can last
# an hour, and the verification below is what proves the rollback landed).
SHIFTED = ("Baking", "Succeeded")
# Allowance for replacement tasks to start and pass the target group's health checks (or for a stop to reroute).
START_SECONDS = 600
# CloudWatch publishes a datapoint about a minute after its period ends.
METRIC_DELAY_SECONDS = 60
_PREDEFINED = re.compile(r"CodeDeployDefault\.ECS(?:Canary(\d+)Percent(\d+)Minutes?|Linear(\d+)PercentEvery(\d+)"
                         r"Minutes?|AllAtOnce)$")


@dataclass(frozen=True, kw_only=True)
class RollbackOptions:
    stack: str
    cluster: str
    service: str
    application: str
    deployment_group: str
    container_name: str
    container_port: int
    reason: str
    timeout: float | None = None
    """None: derived from the group (see default_timeout)."""
    poll: float = 15.0
    traffic_control: str = "CODE_DEPLOY"
    """"ECS": an ECS-native blue/green service (rampart/ops/ecs_native_rollback.py); no CodeDeploy names."""


@dataclass
class _Clock:
    deadline: float
    timeout: float
    poll: float
    now: Callable[[], float]
    sleep: Callable[[float], None]

    def expired(self) -> bool:
        return self.now() >= self.deadline

    def pause(self) -> None:
        self.sleep(min(self.poll, max(0.0, self.deadline - self.now())))


@contextmanager
def leaving(state: str) -> Iterator[None]:
    """Append what a failure leaves behind to its message: in an emergency, the next person needs to know."""
    try:
        yield
    except OperationFailed as exc:
        raise OperationFailed(f"{exc}; left: {state}") from exc


def run_rollback(aws: Aws, options: RollbackOptions, report: Report,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    if options.traffic_control == "ECS":
        from rampart.ops.ecs_native_rollback import run_native_rollback  # imports this module

        run_native_rollback(aws, options, report, clock, sleep)
        return
    codedeploy = aws.client("codedeploy")
    group_name = f"deployment group {options.deployment_group} of application {options.application}"
    report.result.update(stack=options.stack, service=options.service, reason=options.reason)
    with leaving("nothing changed"), calling("codedeploy:GetDeploymentGroup", group_name):
        group = codedeploy.get_deployment_group(applicationName=options.application,
                                                deploymentGroupName=options.deployment_group)["deploymentGroupInfo"]
    alarm_names = [str(a["name"]) for a in (group.get("alarmConfiguration") or {}).get("alarms") or [] if a.get("name")]
    with leaving("nothing changed"):
        alarms = _describe_alarms(aws, alarm_names)
        timeout = options.timeout or default_timeout(codedeploy, group, alarms, report)
    report.result["timeoutSeconds"] = timeout
    timer = _Clock(clock() + timeout, timeout, options.poll, clock, sleep)

    in_flight = _in_flight(codedeploy, options, group_name)
    if in_flight:
        report.result["path"] = "stop"
        expected, forbidden = _stop_in_flight(codedeploy, in_flight, options, report, timer)
    else:
        report.result["path"] = "redeploy"
        expected, forbidden = _redeploy_previous(aws, options, group_name, report, timer), None
    report.result["targetTaskDefinitionArn"] = expected
    _verify(aws, options, expected, forbidden, alarm_names, report, timer)


# --- the target: only what already served traffic ------------------------------------------------------------


def revision_arn(info: dict[str, Any]) -> str | None:
    """The task definition a deployment's AppSpec names; None when it is not inline (S3, GitHub) or unreadable."""
    revision = info.get("revision") or {}
    kind = revision.get("revisionType")
    content = (revision.get("appSpecContent") if kind == "AppSpecContent" else
               revision.get("string") if kind == "String" else None) or {}
    try:
        spec = yaml.safe_load(str(content.get("content") or ""))  # an AppSpec is YAML or JSON (a YAML subset)
        target = next(iter(spec["Resources"][0].values()))  # one resource, under a name of the author's choice
        return str(target["Properties"]["TaskDefinition"])
    except (yaml.YAMLError, LookupError, TypeError, AttributeError, StopIteration):
        return None


def same_revision(a: str | None, b: str | None) -> bool:
    """An AppSpec may name `family:revision` or the full ARN; ECS always answers with the ARN."""
    return a is not None and b is not None and a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def _deployments(codedeploy: Any, options: RollbackOptions, statuses: tuple[str, ...], what: str) -> list[dict]:
    """Every deployment of the group in `statuses`, oldest first (ListDeployments promises no order)."""
    ids: list[str] = []
    with calling("codedeploy:ListDeployments", what):
        for page in codedeploy.get_paginator("list_deployments").paginate(
                applicationName=options.application, deploymentGroupName=options.deployment_group,
                includeOnlyStatuses=list(statuses)):
            ids.extend(page.get("deployments") or [])
    infos = []
    for deployment_id in ids:
        with calling("codedeploy:GetDeployment", f"deployment {deployment_id}"):
            infos.append(codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"])
    return sorted(infos, key=lambda info: (info.get("createTime") or 0, info.get("deploymentId")))


def _in_flight(codedeploy: Any, options: RollbackOptions, group_name: str) -> list[dict]:
    with leaving("nothing changed"):
        return _deployments(codedeploy, options, IN_FLIGHT, group_name)


def served_before(history: list[dict], current: str, group_name: str) -> dict[str, Any]:
    """The newest Succeeded deployment, older than the one that put `current` in service, of another revision."""
    mine = [i for i, info in enumerate(history) if same_revision(revision_arn(info), current)]
    if not mine:
        raise OperationFailed(
            f"the running revision {current} is not the target of any Succeeded deployment of {group_name} "
            f"({len(history)} in its history): nothing tells which revision served traffic before it")
    for info in reversed(history[:mine[-1]]):
        arn = revision_arn(info)
        if arn is None:
            raise OperationFailed(f"deployment {info.get('deploymentId')} of {group_name} holds no inline AppSpec "
                                  "(S3 or GitHub revision): cannot tell which task definition served traffic then")
        if not same_revision(arn, current):
            return info
    raise OperationFailed(
        f"nothing to roll back to: no Succeeded deployment of {group_name} before "
        f"{history[mine[-1]].get('deploymentId')} deployed a revision other than {current}; "
        "the revision a service was created with is not in CodeDeploy's history")


# --- the two paths -------------------------------------------------------------------------------------------


def _stop_in_flight(codedeploy: Any, in_flight: list[dict], options: RollbackOptions, report: Report,
                    timer: _Clock) -> tuple[str | None, str | None]:
    """Stop every in-flight deployment with rollback (queued ones first: they have not touched traffic), then
    follow the rollback CodeDeploy starts for the newest one. Returns (expected revision, revision escaped)."""
    active = in_flight[-1]
    active_id = str(active["deploymentId"])
    report.result["stoppedDeploymentIds"] = []
    for info in sorted(in_flight, key=lambda i: i is active):
        deployment_id, status = str(info["deploymentId"]), str(info.get("status"))
        report.info(f"in flight: {deployment_id}", f"{status}: {MEANING.get(status, '')} "
                    f"(revision {revision_arn(info) or 'unknown'})")
        answer = _stop(codedeploy, deployment_id, f"deployment {deployment_id} ({status})",
                       f"; left: it continues under CodeDeploy's own alarms and rollback; "
                       f"stopped so far: {', '.join(report.result['stoppedDeploymentIds']) or 'none'}")
        report.result["stoppedDeploymentIds"].append(deployment_id)
        report.ok("stop requested", f"{deployment_id}: {answer.get('status', '?')} "
                  f"{answer.get('statusMessage', '')}".strip())

    stopped = _follow(codedeploy, active_id, report, timer, until=TERMINAL, announce=False,
                      left=f"deployment {active_id} asked to stop with rollback")
    forbidden = revision_arn(stopped)
    rollback = stopped.get("rollbackInfo") or {}
    rollback_id = rollback.get("rollbackDeploymentId")
    if not rollback_id:
        report.info("no rollback deployment", str(rollback.get("rollbackMessage") or
                                                   f"{active_id} ended {stopped.get('status')} before moving traffic"))
        return None, forbidden
    report.result["rollbackDeploymentId"] = rollback_id
    report.ok("rollback deployment", f"{rollback_id} (CodeDeploy reroutes to the original task set)")
    info = _follow(codedeploy, str(rollback_id), report, timer, until=SHIFTED + TERMINAL,
                   left=f"{active_id} stopped; rollback deployment {rollback_id} running in CodeDeploy")
    _require_shifted(info, f"{active_id} stopped; rollback deployment {rollback_id} did not return traffic")
    return revision_arn(info), forbidden


def _redeploy_previous(aws: Aws, options: RollbackOptions, group_name: str, report: Report,
                       timer: _Clock) -> str:
    codedeploy = aws.client("codedeploy")
    service = ecs_ops.describe_service(aws.client("ecs"), options.cluster, options.service)
    current = ecs_ops.current_task_definition(service)
    report.info("current revision", current)
    unchanged = f"nothing changed; the service still runs {current}"
    with leaving(unchanged):
        history = _deployments(codedeploy, options, ("Succeeded",), group_name)
        source = served_before(history, current, group_name)
    target = str(revision_arn(source))
    report.ok("served before", f"{target} (deployment {source.get('deploymentId')}, Succeeded)")

    content = appspec(target, options.container_name, options.container_port)
    revision = {"revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}}
    with leaving(unchanged), calling("codedeploy:CreateDeployment", group_name):
        deployment_id = str(codedeploy.create_deployment(
            applicationName=options.application, deploymentGroupName=options.deployment_group, revision=revision,
            description=f"rampart rollback of {options.stack}/{options.service}: {options.reason}"[:512],
        )["deploymentId"])
    report.result["deploymentId"] = deployment_id
    report.ok("deployment started", f"{deployment_id}: {current} -> {target}")
    info = _follow(codedeploy, deployment_id, report, timer, until=SHIFTED + TERMINAL, continue_ready=True,
                   left=f"rollback deployment {deployment_id} running in CodeDeploy")
    _require_shifted(info, f"rollback deployment {deployment_id} ended {info.get('status')}; CodeDeploy kept or "
                     f"restored {current}")
    return target


def _follow(codedeploy: Any, deployment_id: str, report: Report, timer: _Clock, *, until: tuple[str, ...],
            left: str, continue_ready: bool = False, announce: bool = True) -> dict[str, Any]:
    """Poll a deployment until its status is in `until`; a held Ready is continued (the revision already served
    traffic, so there is nothing for a smoke gate to learn). Past the deadline: fail, stopping nothing."""
    last, continued = None, False
    while True:
        with leaving(left):
            with calling("codedeploy:GetDeployment", f"deployment {deployment_id}"):
                info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            status = str(info.get("status"))
            if status != last and announce:
                report.info(f"{deployment_id}: {status}", MEANING.get(status, ""))
            last = status
            if status in until:
                report.result["status"] = status
                return info
            if status == "Ready" and continue_ready and not continued:
                _continue(codedeploy, deployment_id)
                report.ok("traffic shifting", f"{deployment_id} continued past the ready wait")
                continued = True
                continue
        if timer.expired():
            report.result["status"] = "TimedOut"
            raise OperationFailed(f"deployment {deployment_id} still {status} after {timer.timeout:g}s; left: "
                                  f"{left}, not stopped (stopping a rollback would undo it)")
        report.progress(f"{deployment_id}: {status}")
        timer.pause()


def _require_shifted(info: dict[str, Any], left: str) -> None:
    if info.get("status") in SHIFTED:
        return
    error = info.get("errorInformation") or {}
    detail = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ") or "no error information"
    raise OperationFailed(f"deployment {info.get('deploymentId')} {str(info.get('status')).lower()} ({detail}); "
                          f"left: {left}")


# --- timing --------------------------------------------------------------------------------------------------


def default_timeout(codedeploy: Any, group: dict[str, Any], alarms: dict[str, dict], report: Report) -> float:
    """START_SECONDS + the group's traffic-shift time + its slowest alarm's detection window: long enough for a
    healthy redeploy to shift traffic, and for an alarm the bad release left in ALARM to recover before the
    verification gives up (e.g. a 5-minute canary and 3 x 60 s alarms: 600 + 300 + 240 = 1140 s)."""
    name = str(group.get("deploymentConfigName") or "CodeDeployDefault.ECSAllAtOnce")
    shift = _shift_seconds(codedeploy, name)
    windows = [int(a.get("Period") or 0) * int(a.get("EvaluationPeriods") or 0) for a in alarms.values()]
    detection = max(windows) + METRIC_DELAY_SECONDS if windows and max(windows) else 0
    total = float(START_SECONDS + shift + detection)
    report.info("timeout", f"{total:g}s = {START_SECONDS} start-up + {shift} traffic shift ({name}) + {detection} "
                "alarm detection")
    return total


def _shift_seconds(codedeploy: Any, name: str) -> int:
    """Seconds from the first to the last traffic step of a deployment config."""
    match = _PREDEFINED.match(name)
    if match:
        canary_minutes, linear_percent, linear_minutes = match.group(2), match.group(3), match.group(4)
        if canary_minutes:
            return int(canary_minutes) * 60
        if linear_percent:
            return math.ceil(100 / int(linear_percent)) * int(linear_minutes) * 60
        return 0
    with leaving("nothing changed"), calling("codedeploy:GetDeploymentConfig", f"deployment config {name}"):
        routing = codedeploy.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"].get(
            "trafficRoutingConfig") or {}
    canary, linear = routing.get("timeBasedCanary") or {}, routing.get("timeBasedLinear") or {}
    if canary:
        return int(canary.get("canaryInterval") or 0) * 60
    if linear:
        steps = math.ceil(100 / max(1, int(linear.get("linearPercentage") or 100)))
        return steps * int(linear.get("linearInterval") or 0) * 60
    return 0


# --- verification --------------------------------------------------------------------------------------------


def _describe_alarms(aws: Aws, names: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        chunk = names[start:start + 100]
        with calling("cloudwatch:DescribeAlarms", ", ".join(chunk)):
            for page in aws.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNames=chunk):
                for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                    found[str(alarm["AlarmName"])] = alarm
    return found


def _checks(aws: Aws, options: RollbackOptions, expected: str | None, forbidden: str | None,
            alarm_names: list[str]) -> list[tuple[str, bool, str]]:
    """(check, passed, what was seen) for the revision, the task count and the alarms."""
    service = ecs_ops.describe_service(aws.client("ecs"), options.cluster, options.service)
    primary = ecs_ops.primary(service)
    running = ecs_ops.current_task_definition(service)
    if expected:
        revision = (same_revision(running, expected), f"primary runs {running} (target {expected})")
    else:
        revision = (not same_revision(running, forbidden),
                    f"primary runs {running} (not the stopped {forbidden or 'revision'})")
    # Under CodeDeploy the PRIMARY task set carries the count: the service's own count includes the other set.
    count, desired = int(primary.get("runningCount") or 0), int(service.get("desiredCount") or 0)
    tasks = (service.get("status") == "ACTIVE" and desired > 0 and count == desired,
             f"{count} running of {desired} desired ({service.get('status')})")
    alarms = _describe_alarms(aws, alarm_names)
    firing = [n for n in alarm_names if (alarms.get(n) or {}).get("StateValue") == "ALARM"]
    missing = [n for n in alarm_names if n not in alarms]
    quiet = (not firing and not missing,
             "; ".join(filter(None, [f"in ALARM: {', '.join(firing)}" if firing else "",
                                     f"missing: {', '.join(missing)}" if missing else ""]))
             or f"{len(alarm_names)} alarm(s) not in ALARM")
    return [("revision", *revision), ("tasks", *tasks), ("alarms", *quiet)]


def _verify(aws: Aws, options: RollbackOptions, expected: str | None, forbidden: str | None,
            alarm_names: list[str], report: Report, timer: _Clock) -> None:
    """Retry until every check passes or the deadline: tasks settle, and an alarm the bad release tripped needs
    its evaluation periods of healthy data to leave ALARM."""
    left = "the rollback deployment finished; the service's state is unverified"
    while True:
        with leaving(left):
            checks = _checks(aws, options, expected, forbidden, alarm_names)
        if all(passed for _, passed, _ in checks) or timer.expired():
            break
        report.progress("verifying: " + "; ".join(seen for _, passed, seen in checks if not passed))
        timer.pause()
    report.result["verified"] = {name: passed for name, passed, _ in checks}
    for name, passed, seen in checks:
        (report.ok if passed else report.fail)(f"verified: {name}", seen)
    if not all(passed for _, passed, _ in checks):
        report.fail("not landed", f"the rollback did not land after {timer.timeout:g}s; left: "
                    + "; ".join(f"{name}: {seen}" for name, _, seen in checks))
