"""`rampart rollback` for an ECS-native blue/green service: stop an in-flight service deployment with ROLLBACK
(StopServiceDeployment), or else put the service back on the revision that served traffic before the last
successful deployment (its source service revision, never "the previous task definition number"); then verify."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rampart.errors import OperationFailed
from rampart.ops import ecs_native as native
from rampart.ops.aws import Aws, calling
from rampart.ops.deploy import _alarm_states
from rampart.ops.report import Report
from rampart.ops.rollback import START_SECONDS, RollbackOptions, leaving


def run_native_rollback(aws: Aws, options: RollbackOptions, report: Report,
                        clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], None] = time.sleep) -> None:
    ecs = native.client(aws)
    report.result.update(stack=options.stack, service=options.service, reason=options.reason)
    with leaving("nothing changed"):
        alarms = native.require_native(native.ecs_ops.describe_service(ecs, options.cluster, options.service),
                                       needs_pause=False)
    # Reroute to blue is near-instant while blue is kept; a redeploy starts green again.
    timeout = options.timeout or float(START_SECONDS)
    report.result["timeoutSeconds"] = timeout
    flying = native.in_flight(ecs, options.cluster, options.service)
    if flying:
        report.result["path"] = "stop"
        expected = None
        for arn in flying:
            native.stop_with_rollback(ecs, arn, f"service deployment {arn}")
            report.ok("rollback requested", f"{arn}: StopServiceDeployment ROLLBACK")
        _follow(ecs, flying[0], report, clock() + timeout, options.poll, clock, sleep, until_rolled_back=True)
    else:
        report.result["path"] = "redeploy"
        with leaving("nothing changed"):
            expected = previous_revision(ecs, options)
        report.info("target revision", f"{expected} (served traffic before the last successful deployment)")
        with leaving("service unchanged"):
            arn = native.start(ecs, options.cluster, options.service, expected)
        report.result["serviceDeploymentArn"] = arn
        _follow(ecs, arn, report, clock() + timeout, options.poll, clock, sleep, until_rolled_back=False)
    report.result["targetTaskDefinitionArn"] = expected
    _verify(aws, ecs, options, expected, alarms, report)


def previous_revision(ecs: Any, options: RollbackOptions) -> str:
    """The task definition of the revision the last successful deployment replaced."""
    done = native._listed(ecs, options.cluster, options.service, ["SUCCESSFUL"])
    if not done:
        raise OperationFailed(f"service {options.service}: no successful deployment to roll back from")
    sources = native.describe(ecs, done[0]).get("sourceServiceRevisions") or []
    if not sources:
        raise OperationFailed(f"{done[0]}: no source revision (the service's first deployment): nothing served "
                              "traffic before it")
    arn = str(sources[0]["arn"])
    with calling("ecs:DescribeServiceRevisions", arn):
        revisions = ecs.describe_service_revisions(serviceRevisionArns=[arn]).get("serviceRevisions") or []
    if not revisions or not revisions[0].get("taskDefinition"):
        raise OperationFailed(f"ecs:DescribeServiceRevisions {arn}: no task definition")
    return str(revisions[0]["taskDefinition"])


def _follow(ecs: Any, arn: str, report: Report, deadline: float, poll: float, clock: Callable[[], float],
            sleep: Callable[[float], None], *, until_rolled_back: bool) -> None:
    def gate(hook_id: str) -> str:
        # The target already served traffic: its smoke gate is not what an emergency waits for.
        native.resume(ecs, arn, hook_id, "CONTINUE")
        report.ok("pause hook continued", "the target revision already served traffic")
        return "again"

    def on_timeout(deployment: dict[str, Any]) -> None:
        # Never stopped: stopping a rollback would roll back onto the revision being escaped.
        report.result["status"] = "TimedOut"
        report.fail("timed out", f"{arn} still {deployment.get('status')} at the deadline; not stopped")

    good = ("ROLLBACK_SUCCESSFUL",) if until_rolled_back else ("SUCCESSFUL",)
    follow = native.Follow(ecs, arn, report, deadline, poll, clock, sleep, good)
    deployment = follow.run(gate, lambda d: not until_rolled_back, on_timeout)
    status = deployment.get("status")
    landed = "ROLLBACK_SUCCESSFUL" if until_rolled_back else "SUCCESSFUL"
    if status in native.FAILED and status != landed or status == "SUCCESSFUL" and until_rolled_back:
        raise OperationFailed(f"{arn} ended {status}: {deployment.get('statusReason') or 'no reason given'}")


def _verify(aws: Aws, ecs: Any, options: RollbackOptions, expected: str | None, alarms: tuple[str, ...],
            report: Report) -> None:
    if report.result.get("status") == "TimedOut":
        return
    running = native.running(ecs, options.cluster, options.service)
    if expected is not None and running.rsplit("/", 1)[-1] != expected.rsplit("/", 1)[-1]:
        raise OperationFailed(f"service {options.service} runs {running}, expected {expected}")
    states = _alarm_states(aws, alarms)
    firing = [name for name in alarms if states.get(name) == "ALARM"]
    if firing:
        raise OperationFailed(f"landed on {running} but alarms in ALARM: {', '.join(firing)}")
    report.ok("verified", f"service runs {running}; no rollback alarm in ALARM")
