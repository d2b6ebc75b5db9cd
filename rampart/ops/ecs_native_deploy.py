"""`rampart deploy` for an ECS-native blue/green service: register the revision, UpdateService, follow the service
deployment (rampart/ops/ecs_native.py) through the smoke gate at the pause hook to the shift and quiet alarms."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rampart.ops import ecs_native as native
from rampart.ops.aws import Aws
from rampart.ops.deploy import DeployOptions, _alarm_states, register_image_revision
from rampart.ops.report import Report
from rampart.ops.smoke import display_url, run_smoke
from rampart.ops.smoke_task import run_smoke_task


def run_native_deploy(aws: Aws, options: DeployOptions, report: Report,
                      clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> None:
    ecs = native.client(aws)
    service = native.ecs_ops.describe_service(ecs, options.cluster, options.service)
    alarms: tuple[str, ...] = ()
    if not options.register_only:
        # Fail before registering anything: the path must be the one the service is under.
        alarms = native.require_native(service, needs_pause=options.smoke is not None)
    current = native.ecs_ops.current_task_definition(service)
    report.info("current revision", current)
    new_arn = options.task_definition or register_image_revision(ecs, options, current, report)
    report.result["taskDefinitionArn"] = new_arn
    if options.register_only:
        return
    with report.creating(f"an ECS blue/green deployment of service {options.service}"):
        arn = native.start(ecs, options.cluster, options.service, new_arn)
    report.result["serviceDeploymentArn"] = arn
    report.leave(f"service deployment {arn} (ECS carries it on if this run stops; stop it with `aws ecs "
                 f"stop-service-deployment --service-deployment-arn {arn} --stop-type ROLLBACK`)")
    report.result["timeoutSeconds"] = options.timeout
    report.ok("deployment started", arn)
    _Deploy(aws, ecs, arn, options, report, clock, sleep, alarms).run()


class _Deploy:
    """The CodeDeploy path's judgement (rampart/ops/deploy.py _Follow) on an ECS service deployment."""

    def __init__(self, aws: Aws, ecs: Any, arn: str, options: DeployOptions, report: Report,
                 clock: Callable[[], float], sleep: Callable[[float], None], alarms: tuple[str, ...]) -> None:
        self.aws, self.ecs, self.arn, self.options, self.report = aws, ecs, arn, options, report
        self.alarms, self.sleep, self.clock = alarms, sleep, clock
        self.shifted_at: float | None = None
        self.follow = native.Follow(ecs, arn, report, clock() + options.timeout, options.poll, clock, sleep)

    def run(self) -> None:
        self.follow.run(self._gate, self._on_shift, self._on_timeout)
        status = self.report.result.get("status")
        if status in native.FAILED:
            deployment = native.describe(self.ecs, self.arn)
            self.report.fail("deployment " + str(status).lower(), str(deployment.get("statusReason") or ""))

    def _gate(self, hook_id: str) -> str:
        """Green is on the test listener rule and production still on blue: smoke, then continue or roll back."""
        options, report = self.options, self.report
        if options.smoke is None:
            if options.continue_when_ready:
                native.resume(self.ecs, self.arn, hook_id, "CONTINUE")
                report.ok("traffic shifting", "continued without a smoke gate (--continue-when-ready)")
                return "again"
            # As CodeDeploy's Ready without a gate: someone continues it, or the timeout stops it with rollback.
            return "wait"
        smoke, task = options.smoke, options.smoke_task
        report.ok("green on the test listener rule", f"smoke checks on {display_url(smoke.url)}")
        if task is not None:
            run_smoke_task(self.aws, task, smoke, report)
        else:
            run_smoke(smoke, report, sleep=self.sleep)
        checks = report.result.pop("checks", [])
        report.result["smoke"] = {"url": report.result.pop("url", display_url(smoke.url)), "checks": checks}
        failed = [check for check in checks if not check["ok"]]
        if not failed:
            native.resume(self.ecs, self.arn, hook_id, "CONTINUE")
            report.ok("traffic shifting", "smoke checks passed; deployment continued")
            return "again"
        native.resume(self.ecs, self.arn, hook_id, "ROLLBACK")
        report.result["status"] = "SmokeFailed"
        report.fail("smoke failed", "; ".join(f"GET {c['path']}" for c in failed) + ": rolled back at the pause "
                    "hook; production traffic never moved")
        return "done"

    def _on_shift(self, deployment: dict[str, Any]) -> bool:
        if self.shifted_at is None:
            self.shifted_at = self.clock()
            self.report.result["shifted"] = True
            self.report.ok("traffic shifted", "all production traffic on the new revision; blue kept for the bake")
        if self.options.wait_for_bake or self.clock() - self.shifted_at < self.options.alarm_watch:
            return False
        states = _alarm_states(self.aws, self.alarms)
        noisy = [f"{n} ({states.get(n, 'missing')})" for n in self.alarms
                 if states.get(n) not in ("OK", "INSUFFICIENT_DATA")]
        if noisy:
            self.report.info("alarms not quiet", f"{', '.join(noisy)}: ECS rolls back on them during the bake")
            return False
        self.report.result["status"] = "Baking"
        self.report.ok("released", "traffic shifted and alarms quiet; ECS's alarm rollback covers the bake "
                       "(--wait-for-bake follows it to SUCCESSFUL)")
        return True

    def _on_timeout(self, deployment: dict[str, Any]) -> None:
        options, report = self.options, self.report
        if self.shifted_at is None:
            native.stop_with_rollback(self.ecs, self.arn, f"deployment {self.arn} still running after "
                                      f"{options.timeout:g}s and")
            report.result["status"] = "TimedOut"
            report.fail("timed out", f"still running after {options.timeout:g}s; stopped with rollback")
            return
        report.result["status"] = "TimedOutAfterShift"
        report.fail("timed out after the shift", f"still baking after {options.timeout:g}s; not stopped: ECS's "
                    "alarm rollback still guards the bake")
