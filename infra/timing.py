"""How long one blue/green deployment can take, phase by phase, and every timeout that must outlast it.

One pure function over the stack's deployment and alarm config (`deployment_timing`) gives the worst case of a
*healthy* deployment; `rampart deploy`'s default `--timeout` (stack output `services.<s>.deployment`), the deploy
job's `timeout-minutes` (repository variable RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_<STACK>, `deploy_job_minutes`),
the rollback job's `rampart deploy --timeout` (RAMPART_SERVICES) and the
recovery export all derive from it, so no timeout can fire before a healthy release has finished.

Phases, in the order CodeDeploy runs them:
- green start-up: Fargate places the task and pulls the image, the container health check passes (start period
  + interval x retries), the ALB sees `healthy_threshold` good checks `interval` apart, and the service's health
  check grace period; the container and target group figures are the ones components/blue_green_service.py
  registers (tests/infra/test_timing.py compares them with the recorded task definition and target groups);
- ready wait: `readyWaitMinutes`, the longest CodeDeploy holds green on the test listener before the go-ahead;
- traffic shift: canary one interval, linear one interval per step (an upper bound), all-at-once none;
- alarm watch: after the full shift, `rampart deploy` watches the group's alarms for one detection window
  (AlarmsConfig.worst_case_detection_seconds) before it calls the release good: with all-at-once the new
  revision has otherwise served no traffic at all when the shift is seen;
- bake: `terminationWaitMinutes`, blue kept so an alarm can still reroute to it (CodeDeploy's alarm rollback
  covers this phase; `rampart deploy --wait-for-bake` follows it), then blue's deregistration and stop;
- slack: CodeDeploy's own lifecycle steps (create, task set creation, reroutes) and one poll late per phase.

`deploymentTimeoutMinutes` is gone from the config, derived instead of validated. A mature tool does not ask for
a number it can compute: a hand-set timeout is either too short (it rolls back a healthy release, which is how
this bug began: 60 minutes against a 60-minute bake) or too long, and a validator would only turn the same
arithmetic into an error the adopter must then fix by hand on every change of the ready wait, interval or bake.
One run can still be given its own `rampart deploy --timeout`.

The job budget is published by the stack, so it takes effect from the run after the `pulumi up` that changed
it; the workflow falls back to GitHub's job limit while the variable does not exist yet (a fresh stack).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.blue_green_service import (
    DEREGISTRATION_DELAY_SECONDS,
    HEALTH_CHECK_GRACE_SECONDS,
    TARGET_HEALTH_CHECK,
)
from infra.config import AlarmsConfig, ConfigError, DeploymentConfig, StackConfig

FARGATE_TASK_START_SECONDS = 300
"""Placement, ENI attachment and image pull: AWS bounds none of them; five minutes covers a large image."""
CONTAINER_HEALTH_CHECK = {"startPeriod": 30, "interval": 15, "retries": 3}
"""As the component's task definition sets it (tests/infra/test_timing.py holds the two together)."""
ECS_STOP_TIMEOUT_SECONDS = 30
"""ECS's default stopTimeout: SIGTERM to SIGKILL for blue's tasks after their deregistration."""
CODEDEPLOY_LIFECYCLE_SECONDS = 120
"""Create to InProgress, replacement task set creation, test and production reroutes: API latency, not waits."""
POLL_SLACK_SECONDS = 60
"""`rampart deploy` sees each change at most one poll (15 s by default) late; a few polls of margin."""

GITHUB_JOB_LIMIT_MINUTES = 360
"""GitHub-hosted runners end any job after six hours, whatever timeout-minutes says."""
JOB_SETUP_SECONDS = 10 * 60
"""Checkout, `make setup`, `rampart check` and assuming the role."""
PULUMI_UP_SECONDS = 45 * 60
"""`pulumi up --refresh`: an RDS modification or a NAT gateway replacement alone can take tens of minutes."""
SNAPSHOT_SECONDS = 2 * 1800
"""`rampart snapshot`: up to its --wait-timeout (1800 s) for the instance, then again for the snapshot."""
MIGRATION_SECONDS = 3600
"""`rampart migrate`'s default --timeout, per service that declares a migration command."""
VERIFY_SECONDS = 5 * 60


@dataclass(frozen=True, kw_only=True)
class DeploymentTiming:
    """Worst case of one healthy deployment of one service, in seconds."""

    startup_seconds: int
    ready_wait_seconds: int
    traffic_shift_seconds: int
    alarm_watch_seconds: int
    bake_seconds: int
    blue_termination_seconds: int
    slack_seconds: int

    @property
    def until_shifted_seconds(self) -> int:
        """Created to all traffic on green and one quiet detection window: what `rampart deploy` waits for."""
        return (self.slack_seconds + self.startup_seconds + self.ready_wait_seconds + self.traffic_shift_seconds
                + self.alarm_watch_seconds)

    @property
    def with_bake_seconds(self) -> int:
        """Created to Succeeded (`--wait-for-bake`); the alarm watch runs inside the bake, which outlasts it."""
        return (self.slack_seconds + self.startup_seconds + self.ready_wait_seconds + self.traffic_shift_seconds
                + max(self.alarm_watch_seconds, self.bake_seconds) + self.blue_termination_seconds)

    def as_output(self) -> dict[str, int]:
        """The `services.<s>.deployment` export (keys pinned in infra/outputs.py)."""
        return {
            "untilShiftedSeconds": self.until_shifted_seconds,
            "withBakeSeconds": self.with_bake_seconds,
            "alarmWatchSeconds": self.alarm_watch_seconds,
        }


def green_startup_seconds() -> int:
    container = CONTAINER_HEALTH_CHECK["startPeriod"] + CONTAINER_HEALTH_CHECK["interval"] * CONTAINER_HEALTH_CHECK[
        "retries"]
    target = int(TARGET_HEALTH_CHECK["healthy_threshold"]) * int(TARGET_HEALTH_CHECK["interval"])
    return FARGATE_TASK_START_SECONDS + container + target + HEALTH_CHECK_GRACE_SECONDS


def traffic_shift_seconds(deployment: DeploymentConfig) -> int:
    interval = deployment.interval_minutes * 60
    if deployment.strategy == "canary":
        return interval
    if deployment.strategy == "linear":
        return math.ceil(100 / deployment.traffic_percent) * interval
    return 0


def deployment_timing(deployment: DeploymentConfig, alarms: AlarmsConfig) -> DeploymentTiming:
    """The worst case of a healthy deployment under this config (see the module docstring for each phase)."""
    return DeploymentTiming(
        startup_seconds=green_startup_seconds(),
        ready_wait_seconds=deployment.ready_wait_minutes * 60,
        traffic_shift_seconds=traffic_shift_seconds(deployment),
        alarm_watch_seconds=alarms.worst_case_detection_seconds,
        bake_seconds=deployment.termination_wait_minutes * 60,
        blue_termination_seconds=DEREGISTRATION_DELAY_SECONDS + ECS_STOP_TIMEOUT_SECONDS,
        slack_seconds=CODEDEPLOY_LIFECYCLE_SECONDS + POLL_SLACK_SECONDS,
    )


def deploy_job_seconds(cfg: StackConfig) -> int:
    """deploy-stack.yml's job: setup, `pulumi up`, snapshot, then per service its migration (when it has one)
    and its deployment until shifted, one after the other, then verify."""
    until_shifted = deployment_timing(cfg.deployment, cfg.alarms).until_shifted_seconds
    per_service = sum(until_shifted + (MIGRATION_SECONDS if service.migration_command else 0)
                      for service in cfg.services)
    return JOB_SETUP_SECONDS + PULUMI_UP_SECONDS + SNAPSHOT_SECONDS + per_service + VERIFY_SECONDS


def deploy_job_minutes(cfg: StackConfig) -> int:
    """The job's timeout-minutes; ConfigError (naming the keys to change) beyond what GitHub lets a job run."""
    minutes = math.ceil(deploy_job_seconds(cfg) / 60)
    if minutes > GITHUB_JOB_LIMIT_MINUTES:
        raise ConfigError(
            f"Pulumi.{cfg.stack}.yaml: rampart:deployment: deploying {len(cfg.services)} service(s) one after "
            f"the other can take {minutes} minutes, "
            f"beyond GitHub's {GITHUB_JOB_LIMIT_MINUTES}-minute job limit; shorten readyWaitMinutes, "
            "intervalMinutes or the migrations, or split the services over stacks"
        )
    return minutes


MANUAL_STOP_AND_REROUTE_SECONDS = 60
"""StopDeployment with rollback while blue still runs: CodeDeploy moves the listeners back within a minute."""
MANUAL_ROLLBACK_VERIFY_SECONDS = 120
"""`rampart rollback` confirming revision, task count and quiet alarms after the reroute."""


def manual_rollback_seconds() -> int:
    """The emergency path (rollback.yml in `<stack>-rollback`), from its one approval (no wait timer) until the
    service is verified back on blue: job setup, stop with rollback, reroute, verification."""
    return JOB_SETUP_SECONDS + MANUAL_STOP_AND_REROUTE_SECONDS + MANUAL_ROLLBACK_VERIFY_SECONDS


def rollback_job_seconds(cfg: StackConfig) -> int:
    """rollback.yml's job: setup, then one service redeployed to a revision that already ran, until shifted."""
    return JOB_SETUP_SECONDS + deployment_timing(cfg.deployment, cfg.alarms).until_shifted_seconds
