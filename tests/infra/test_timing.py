"""infra/timing.py: each phase of a deployment's worst case, and the figures it shares with what the stack
registers (container and target-group health checks, grace period, deregistration delay)."""

from __future__ import annotations

import json

import pytest

from infra import timing
from infra.config import AlarmsConfig, ConfigError, DeploymentConfig
from tests.support.stacks import record_stack, stack_config

ALARMS = AlarmsConfig(period_seconds=60, evaluation_periods=3, datapoints_to_alarm=2, unhealthy_hosts_periods=3)


def _timing(**deployment) -> timing.DeploymentTiming:
    return timing.deployment_timing(DeploymentConfig(**deployment), ALARMS)


def test_production_phase_by_phase():
    cfg = stack_config("production")
    t = timing.deployment_timing(cfg.deployment, cfg.alarms)
    # 300 task start + (30 + 15 x 3) container check + 3 x 15 target check + 60 grace
    assert (t.startup_seconds, t.ready_wait_seconds, t.traffic_shift_seconds) == (480, 1800, 300)
    assert (t.alarm_watch_seconds, t.bake_seconds, t.blue_termination_seconds, t.slack_seconds) == (
        240, 3600, 60, 180)
    assert t.until_shifted_seconds == 180 + 480 + 1800 + 300 + 240
    assert t.with_bake_seconds == 180 + 480 + 1800 + 300 + 3600 + 60
    # The bug this module fixes: the old fixed 60-minute timeout fell inside the production bake.
    assert t.with_bake_seconds > 3600


@pytest.mark.parametrize(("strategy", "percent", "interval", "shift"), [
    ("canary", 10, 5, 300),
    ("linear", 10, 5, 10 * 300),
    ("linear", 30, 5, 4 * 300),  # 30, 60, 90, 100
    ("all-at-once", 10, 5, 0),
])
def test_traffic_shift_by_strategy(strategy, percent, interval, shift):
    assert _timing(strategy=strategy, traffic_percent=percent, interval_minutes=interval).traffic_shift_seconds == shift


def test_the_alarm_watch_is_the_detection_window_and_runs_inside_the_bake():
    t = _timing(strategy="all-at-once", termination_wait_minutes=5)
    assert t.alarm_watch_seconds == ALARMS.worst_case_detection_seconds == 240
    assert t.with_bake_seconds - t.until_shifted_seconds == 300 - 240 + t.blue_termination_seconds


def test_ready_wait_counts_whole():
    assert _timing(strategy="canary", ready_wait_minutes=45).ready_wait_seconds - _timing(
        strategy="canary").ready_wait_seconds == 45 * 60


def test_as_output_keys_are_the_pinned_ones():
    from infra import outputs

    assert tuple(_timing(strategy="canary").as_output()) == outputs.DEPLOYMENT_KEYS


def test_job_budget_counts_migrations_per_service_that_has_one():
    cfg = stack_config("staging")
    with_migration = cfg.model_copy(update={"services": (
        cfg.services[0].model_copy(update={"migration_command": ("bin/migrate",)}), *cfg.services[1:])})
    assert timing.deploy_job_seconds(with_migration) - timing.deploy_job_seconds(cfg) == timing.MIGRATION_SECONDS


def test_a_job_beyond_githubs_limit_is_a_config_error_naming_the_keys():
    cfg = stack_config("production")
    slow = cfg.model_copy(update={"deployment": cfg.deployment.model_copy(update={"ready_wait_minutes": 600})})
    with pytest.raises(ConfigError) as caught:
        timing.deploy_job_minutes(slow)
    message = str(caught.value)
    assert "Pulumi.production.yaml" in message and "readyWaitMinutes" in message and "360" in message


@pytest.fixture(scope="module")
def staging():
    return record_stack("staging")


def test_start_up_figures_are_the_ones_the_stack_registers(staging):
    """The worst case assumes the health checks the component registers; a slower check must move it too."""
    checks = [c["healthCheck"] for registration in staging.by_type("aws:ecs/taskDefinition:TaskDefinition")
              for c in json.loads(registration.plain_inputs()["containerDefinitions"]) if "healthCheck" in c]
    assert len(checks) == len(stack_config("staging").services)  # one per service (the smoke task has none)
    for check in checks:
        assert {key: check[key] for key in timing.CONTAINER_HEALTH_CHECK} == timing.CONTAINER_HEALTH_CHECK
    groups = staging.by_type("aws:lb/targetGroup:TargetGroup")
    assert groups
    for registration in groups:
        inputs = registration.plain_inputs()
        check = inputs["healthCheck"]
        assert check["healthyThreshold"] * check["interval"] <= (
            timing.TARGET_HEALTH_CHECK["healthy_threshold"] * timing.TARGET_HEALTH_CHECK["interval"])
        assert inputs["deregistrationDelay"] <= timing.DEREGISTRATION_DELAY_SECONDS
    for registration in staging.by_type("aws:ecs/service:Service"):
        assert registration.plain_inputs()["healthCheckGracePeriodSeconds"] <= timing.HEALTH_CHECK_GRACE_SECONDS


def test_the_recovery_line_states_the_deploy_worst_case():
    from infra.recovery import recovery_summary
    from rampart.reports.markdown import recovery_line
    from rampart.reports.model import recovery_from_outputs

    line = recovery_line(recovery_from_outputs({"recovery": recovery_summary(stack_config("production"))}))
    assert "; deploy worst case 50 min until shifted, 107 min with the bake;" in line
    assert recovery_line(recovery_from_outputs({"recovery": {"rtoMinutes": 5}})) == (
        "RTO target 5 min, worst case unknown")  # outputs from before the deploy figures: no deploy part
