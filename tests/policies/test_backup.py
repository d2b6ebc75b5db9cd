"""AWS Backup rule (catalogue 57): a plan whose jobs may start in a selected RDS instance's backup window, or in
its maintenance window or the hour before, fails; a plan clear of both passes; the pack agrees with the
program's own config check (infra/backup_windows.py) on every schedule below."""

from __future__ import annotations

import pytest
from guardrails import backup

from infra import backup_windows
from tests.support.pack import analyze_stack, registration
from tests.support.rules import stack_findings, urn

RULE = backup.POLICIES[0]
PLAN, SELECTION, INSTANCE = backup.PLAN, backup.SELECTION, "aws:rds/instance:Instance"
PLAN_URN, DB_URN = urn(PLAN, "plan"), urn(INSTANCE, "db")
DB = {"engine": "postgres", "backupWindow": "02:00-03:00", "maintenanceWindow": "sun:04:00-sun:05:00"}


def _rule(schedule: str, **extra):
    return {"ruleName": "daily", "schedule": schedule, "startWindow": 60.0, "scheduleExpressionTimezone": "Etc/UTC",
            **extra}


def _stack(schedule: str, db=None, **extra):
    from guardrails.rule import Resource

    return [
        Resource(INSTANCE, db or DB, urn=DB_URN, name="db"),
        Resource(PLAN, {"name": "p", "rules": [_rule(schedule, **extra)]}, urn=PLAN_URN, name="plan"),
        Resource(SELECTION, {"name": "s", "resources": ["<unknown arn>"]}, urn=urn(SELECTION, "sel"), name="sel",
                 property_dependencies={"planId": (PLAN_URN,), "resources": (DB_URN,)}),
    ]


def test_job_in_the_rds_backup_window_fails_on_the_plan():
    [finding] = stack_findings(RULE, _stack("cron(0 2 * * ? *)"))
    assert finding.urn == PLAN_URN
    assert "may start 02:00-03:00 UTC, inside the instance's backupWindow 02:00-03:00" in finding.message


def test_job_in_the_hour_before_maintenance_fails():
    [finding] = stack_findings(RULE, _stack("cron(30 3 * * ? *)", db={**DB, "backupWindow": "01:00-02:00"}))
    assert "maintenanceWindow sun:04:00-sun:05:00 or the hour before it" in finding.message


def test_missing_start_window_counts_as_the_aws_default_of_eight_hours():
    assert stack_findings(RULE, _stack("cron(0 20 * * ? *)", startWindow=None))


def test_job_clear_of_both_windows_passes():
    assert not stack_findings(RULE, _stack("cron(0 5 * * ? *)"))


def test_other_timezones_and_unselected_instances_are_not_judged():
    assert not stack_findings(RULE, _stack("cron(0 2 * * ? *)", scheduleExpressionTimezone="Europe/Paris"))
    unselected = _stack("cron(0 2 * * ? *)")
    unselected[2] = unselected[2].__class__(SELECTION, {"name": "s"}, urn=urn(SELECTION, "sel"), name="sel",
                                            property_dependencies={"planId": (PLAN_URN,)})
    assert not stack_findings(RULE, unselected)


@pytest.mark.parametrize("schedule", [
    "cron(0 2 * * ? *)", "cron(30 1 * * ? *)", "cron(0 1 * * ? *)", "cron(15 3 * * ? *)", "cron(0 5 * * ? *)",
    "cron(0 * * * ? *)", "cron(0 */6 * * ? *)", "cron(15 3 ? * WED *)", "cron(30 4 ? * SUN *)", "cron(0 4 ? * 1 *)",
])
@pytest.mark.parametrize("windows", [("02:00-03:00", "sun:04:00-sun:05:00"), ("23:30-00:30", "mon:01:00-mon:02:00")])
def test_pack_and_config_check_agree(schedule, windows):
    program = backup_windows.window_conflict(schedule, *windows) is not None
    pack = bool(backup.window_conflicts(schedule, backup_windows.BACKUP_START_WINDOW_MINUTES, *windows))
    assert program == pack


def test_through_the_pack(policy_pack):
    def registrations(schedule):
        return [registration(r.type, r.props, name=r.name, urn=r.urn, property_dependencies=r.property_dependencies)
                for r in _stack(schedule)]

    failing = analyze_stack(policy_pack, registrations("cron(0 2 * * ? *)"))
    assert [d for d in failing if d.policy == RULE.name and d.urn == PLAN_URN]
    passing = analyze_stack(policy_pack, registrations("cron(0 5 * * ? *)"))
    assert not [d for d in passing if d.policy == RULE.name]


def test_the_project_stack_links_plan_selection_and_instance():
    """On the recorded program: the plan is clear today, and flagged once the RDS window moves onto its jobs."""
    from guardrails.rule import Resource

    from tests.support.stacks import record_stack

    def resources(backup_window=None):
        out = []
        for r in record_stack("staging").registrations:
            props = r.plain_inputs()
            if r.type == INSTANCE and backup_window:
                props = {**props, "backupWindow": backup_window}
            out.append(Resource(r.type, props, urn=r.urn, name=r.name,
                                property_dependencies=r.property_dependencies))
        return out

    assert not stack_findings(RULE, resources())
    [finding] = stack_findings(RULE, resources("05:30-06:30"))
    assert finding.urn.endswith("::rampart-staging-backup-plan")
