import pytest

from infra import outputs
from infra.config import AlarmsConfig, BackupConfig, DatabaseConfig
from infra.recovery import (
    RECOVERY_KEYS,
    recovery_summary,
    worst_case_detection_seconds,
    worst_case_rpo_minutes,
)
from tests.support.stacks import STACKS, stack_config


def test_pitr_bounds_rpo_at_five_minutes_when_automated_backups_are_on():
    assert worst_case_rpo_minutes(DatabaseConfig(backup_retention_days=1), BackupConfig()) == 5


def test_without_automated_backups_the_schedule_bounds_rpo():
    # Config requires a day of retention; a model built without validation stands for "automated backups off".
    database = DatabaseConfig.model_construct(backup_retention_days=0)
    assert worst_case_rpo_minutes(database, BackupConfig(schedule="cron(0 2 * * ? *)")) == 1440
    assert worst_case_rpo_minutes(database, BackupConfig(schedule="cron(0 */6 * * ? *)")) == 360


def test_detection_is_period_times_evaluation_periods_plus_metric_delay():
    alarms = AlarmsConfig(period_seconds=60, evaluation_periods=3, datapoints_to_alarm=2, unhealthy_hosts_periods=1)
    assert worst_case_detection_seconds(alarms) == 240


def test_detection_follows_the_slowest_alarm():
    alarms = AlarmsConfig(period_seconds=30, evaluation_periods=2, datapoints_to_alarm=2, unhealthy_hosts_periods=5)
    assert worst_case_detection_seconds(alarms) == 30 * 5 + 60


def test_detection_agrees_with_the_rollback_alarms():
    from components.deployment_alarms import detection_seconds
    from infra.component_args import alarm_thresholds

    for stack in STACKS:
        alarms = stack_config(stack).alarms
        assert worst_case_detection_seconds(alarms) == detection_seconds(alarm_thresholds(alarms))


def test_production_summary():
    summary = recovery_summary(stack_config("production"))
    assert summary == {
        "rtoMinutes": 5,
        "rpoMinutes": 15,
        "worstCaseDetectionSeconds": 240,
        "worstCaseRpoMinutes": 5,
        # 180 slack + 480 start-up + 1800 ready wait + 300 canary + 240 alarm watch (infra/timing.py)
        "worstCaseDeploySeconds": 3000,
        # the same without the watch, which runs inside the 3600 s bake, + 60 s to stop blue
        "worstCaseDeployWithBakeSeconds": 6420,
        # after the one approval: 600 job setup + 60 stop and reroute to blue + 120 verification
        "worstCaseManualRollbackSeconds": 780,
        "paths": [
            # 240 s detection + 60 s reroute
            {"path": "bad deploy", "objective": "RTO", "targetMinutes": 5, "worstCaseMinutes": 5.0,
             "basis": "detection + reroute to blue"},
            {"path": "data loss", "objective": "RPO", "targetMinutes": 15, "worstCaseMinutes": 5,
             "basis": "point-in-time recovery"},
            # 20 base + 500 GB (max autoscaled) x 10 min / 100 GB + 10 Multi-AZ
            {"path": "restore", "objective": "RTO", "targetMinutes": 90, "worstCaseMinutes": 80,
             "basis": "modelled restore"},
            # daily copy (1440) + 60 copy lag; restore 80 + 60 rebuild
            {"path": "region loss", "objective": "RPO", "targetMinutes": 1500, "worstCaseMinutes": 1500,
             "basis": "cross-region copy interval + lag"},
            {"path": "region loss", "objective": "RTO", "targetMinutes": 180, "worstCaseMinutes": 140,
             "basis": "restore + stack rebuild"},
        ],
    }
    assert tuple(summary) == RECOVERY_KEYS


def test_the_recovery_line_states_the_manual_rollback_path():
    from rampart.reports.markdown import recovery_line
    from rampart.reports.model import recovery_from_outputs

    line = recovery_line(recovery_from_outputs({"recovery": recovery_summary(stack_config("production"))}))
    assert "manual rollback 13 min after its one approval (no wait timer)" in line


@pytest.mark.parametrize("stack", STACKS)
def test_worst_case_within_the_declared_targets(stack):
    summary = recovery_summary(stack_config(stack))
    assert summary["worstCaseRpoMinutes"] <= summary["rpoMinutes"]
    assert summary["worstCaseDetectionSeconds"] <= summary["rtoMinutes"] * 60


def test_staging_region_loss_is_reported_uncovered():
    paths = {(p["path"], p["objective"]): p for p in recovery_summary(stack_config("staging"))["paths"]}
    assert paths[("region loss", "RPO")]["worstCaseMinutes"] is None
    assert paths[("restore", "RTO")]["targetMinutes"] == 45


def test_the_text_report_shows_each_path():
    from rampart.reports.markdown import recovery_path_lines
    from rampart.reports.model import recovery_from_outputs

    lines = recovery_path_lines(recovery_from_outputs({"recovery": recovery_summary(stack_config("staging"))}))
    assert [line.split(":")[0].strip() for line in lines] == [
        "bad deploy RTO", "data loss RPO", "restore RTO", "region loss RPO", "region loss RTO"]
    assert lines[2].endswith("target 45 min, worst case 30 min (modelled restore): met")
    assert lines[3].endswith("worst case unbounded (no cross-region copy): MISSED")


def test_summary_keys_match_the_documented_export():
    assert outputs.RECOVERY == "recovery"
    for key in RECOVERY_KEYS:
        assert f'"{key}"' in outputs.__doc__
