"""The AWS Backup job never starts inside the RDS backup window or the maintenance window.

Both jobs snapshot the same instance: an AWS Backup job that may start while the automated backup runs waits
for it or fails, and AWS Backup does not start a database snapshot during, or in the hour before, the
maintenance window. Config validation catches it before any resource is declared; `rampart check` exits 2.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, parse_stack_config
from tests.support.stacks import STACKS, raw_config

ROOT = Path(__file__).resolve().parents[2]


def _parse(stack: str, schedule: str, **database):
    raw = copy.deepcopy(raw_config(stack))
    raw["backup"] = {**raw["backup"], "schedule": schedule}
    raw["database"] = {**raw["database"], **database}
    return parse_stack_config(raw, stack=stack, stack_file=f"Pulumi.{stack}.yaml")


def _error(stack: str, schedule: str, **database) -> str:
    with pytest.raises(ConfigError) as caught:
        _parse(stack, schedule, **database)
    return str(caught.value)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_schedule_the_backup_job_outside_both_windows(stack):
    cfg = _parse(stack, raw_config(stack)["backup"]["schedule"])
    assert cfg.backup.schedule


@pytest.mark.parametrize("stack", STACKS)
def test_job_starting_in_the_rds_backup_window_is_rejected_naming_both_keys(stack):
    message = _error(stack, "cron(0 2 * * ? *)", backupWindow="02:00-03:00")
    assert f"Pulumi.{stack}.yaml: invalid stack configuration" in message
    assert "rampart:backup.schedule:" in message
    assert "database.backupWindow" in message and "02:00-03:00" in message


def test_job_whose_start_window_reaches_into_the_rds_backup_window_is_rejected():
    # Starts 01:30 UTC, may start until 02:30: the last half hour is inside 02:00-03:00.
    assert "database.backupWindow" in _error("staging", "cron(30 1 * * ? *)", backupWindow="02:00-03:00")


def test_job_ending_its_start_window_as_the_rds_window_opens_is_accepted():
    _parse("staging", "cron(0 1 * * ? *)", backupWindow="02:00-03:00", maintenanceWindow="sun:04:00-sun:05:00")


def test_rds_backup_window_across_midnight_is_understood():
    assert "database.backupWindow" in _error("staging", "cron(15 0 * * ? *)", backupWindow="23:30-00:30",
                                             maintenanceWindow="sun:04:00-sun:05:00")


def test_daily_job_in_the_hour_before_the_maintenance_window_is_rejected():
    # Daily at 03:15: on Sundays the start window meets the hour before sun:04:00.
    message = _error("staging", "cron(15 3 * * ? *)", backupWindow="01:00-02:00",
                     maintenanceWindow="sun:04:00-sun:05:00")
    assert "rampart:backup.schedule:" in message and "database.maintenanceWindow" in message


def test_weekly_job_on_another_day_than_maintenance_is_accepted():
    _parse("staging", "cron(15 3 ? * WED *)", backupWindow="01:00-02:00", maintenanceWindow="sun:04:00-sun:05:00")


def test_weekly_job_on_the_maintenance_day_is_rejected():
    assert "database.maintenanceWindow" in _error(
        "staging", "cron(30 4 ? * SUN *)", backupWindow="01:00-02:00", maintenanceWindow="sun:04:00-sun:05:00"
    )


def test_hourly_job_always_meets_the_rds_backup_window():
    assert "database.backupWindow" in _error("staging", "cron(0 * * * ? *)")


def test_bad_window_exits_2_through_rampart_check(tmp_path):
    from tests.support.project_copy import copy_project

    project = copy_project(tmp_path)
    document = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    document["config"]["rampart:backup"]["schedule"] = "cron(30 2 * * ? *)"
    (project / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(project), "--policy-pack",
         str(ROOT / "tests" / "fixtures" / "packs" / "tiny")],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "rampart:backup.schedule:" in completed.stdout
    assert "database.backupWindow" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
