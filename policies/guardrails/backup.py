"""AWS Backup rules (catalogue 57): a backup plan's jobs never start inside the windows of the RDS instances it
selects.

Why (AWS docs): RDS takes its automated backup daily in the instance's backup window and carries on past the
window's end when it needs longer (RDS User Guide, "Managing automated backups", Backup window); an AWS Backup
job started then snapshots the same instance at the same time. AWS Backup starts no database backup during the
maintenance window or in the hour before it (AWS Backup Developer Guide, "Backup plan options and configuration"),
so a job whose start window lies there is skipped or expires.

The pack cannot import the program's own config check (infra/backup_windows.py), so the window arithmetic is
repeated here; tests/policies/test_backup.py holds both to the same answers.
Times are minutes of the week from Monday 00:00 UTC; rules in another `scheduleExpressionTimezone` are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.network import nested_dependencies, referenced
from guardrails.rds import INSTANCE
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import of_type

PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"

# AWS Backup's start window when a rule sets none (8 hours), and the quiet hour before maintenance.
DEFAULT_START_WINDOW_MINUTES = 480
MAINTENANCE_LEAD_MINUTES = 60
UTC_ZONES = frozenset({"", "UTC", "Etc/UTC", "GMT", "Etc/GMT"})

DAY = 1440
WEEK = 7 * DAY
_RDS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRON_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes % DAY // 60:02d}:{minutes % 60:02d}"


def _weekday(token: str) -> int | None:
    token = token.upper()
    if token in _CRON_DAYS:
        return (_CRON_DAYS.index(token) + 6) % 7
    if token.isdigit() and 1 <= int(token) <= 7:
        return (int(token) + 5) % 7
    return None


def _hours(field: str) -> list[int] | None:
    if field == "*":
        return list(range(24))
    step = re.fullmatch(r"(\*|\d+)/(\d+)", field)
    if step and int(step[2]) > 0:
        return list(range(0 if step[1] == "*" else int(step[1]), 24, int(step[2])))
    hours = field.split(",")
    return sorted({int(h) for h in hours}) if all(h.isdigit() and int(h) < 24 for h in hours) else None


def job_starts(schedule: str) -> list[int] | None:
    """Minutes of the week at which an AWS Backup cron schedule starts jobs; None when not understood."""
    match = re.fullmatch(r"cron\((.+)\)", schedule.strip())
    fields = match[1].split() if match else []
    if len(fields) != 6 or not fields[0].isdigit():
        return None
    hours = _hours(fields[1])
    days = list(range(7)) if fields[4] in ("*", "?") else [_weekday(t) for t in fields[4].split(",")]
    if hours is None or None in days:
        return None
    return [day * DAY + hour * 60 + int(fields[0]) for day in days for hour in hours]


def _overlap(start: int, length: int, other_start: int, other_length: int) -> bool:
    return any(start < other_start + o + other_length and other_start + o < start + length for o in (-WEEK, 0, WEEK))


def _daily(window: str) -> list[tuple[int, int]] | None:
    match = re.fullmatch(r"(\d\d:\d\d)-(\d\d:\d\d)", window)
    if not match:
        return None
    start, end = _clock(match[1]), _clock(match[2])
    return [(day * DAY + start, (end - start) % DAY) for day in range(7)]


def _weekly(window: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"([a-z]{3}):(\d\d:\d\d)-([a-z]{3}):(\d\d:\d\d)", window.lower())
    if not match or match[1] not in _RDS_DAYS or match[3] not in _RDS_DAYS:
        return None
    start = _RDS_DAYS.index(match[1]) * DAY + _clock(match[2])
    end = _RDS_DAYS.index(match[3]) * DAY + _clock(match[4])
    return start, (end - start) % WEEK


def window_conflicts(schedule: str, start_window: int, backup_window: str, maintenance_window: str) -> list[str]:
    """What is wrong with a rule's start times against one instance's windows (empty when clear)."""
    starts = job_starts(schedule) or []
    problems = []
    daily = _daily(backup_window) or []
    clash = next((s for s in starts if any(_overlap(s, start_window, b, n) for b, n in daily)), None)
    if clash is not None:
        problems.append(f"may start {_hhmm(clash)}-{_hhmm(clash + start_window)} UTC, inside the instance's "
                        f"backupWindow {backup_window}")
    weekly = _weekly(maintenance_window)
    if weekly:
        blocked = (weekly[0] - MAINTENANCE_LEAD_MINUTES, weekly[1] + MAINTENANCE_LEAD_MINUTES)
        clash = next((s for s in starts if _overlap(s, start_window, *blocked)), None)
        if clash is not None:
            problems.append(f"may start {_RDS_DAYS[clash // DAY % 7]} {_hhmm(clash)} UTC, during the instance's "
                            f"maintenanceWindow {maintenance_window} or the hour before it")
    return problems


def _plan_rules(plan: Resource) -> Iterator[Mapping[str, Any]]:
    for rule in plan.get("rules", []) or []:
        utc = isinstance(rule, Mapping) and str(rule.get("scheduleExpressionTimezone", "") or "") in UTC_ZONES
        if utc and isinstance(rule.get("schedule"), str):
            yield rule


def check_clear_of_rds_windows(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    plans, instances = of_type(resources, PLAN), of_type(resources, INSTANCE)
    for selection in of_type(resources, SELECTION):
        selected = nested_dependencies(selection, "resources", instances)
        for plan in referenced(selection, "planId", plans, name_key=""):
            for rule in _plan_rules(plan):
                start_window = int(float(rule.get("startWindow") or DEFAULT_START_WINDOW_MINUTES))
                for instance in selected:
                    for problem in window_conflicts(rule["schedule"], start_window,
                                                    str(instance.get("backupWindow", "")),
                                                    str(instance.get("maintenanceWindow", ""))):
                        yield Finding(f"backup rule {rule.get('ruleName', '?')!r} ({rule['schedule']}, start window "
                                      f"{start_window} min) {problem}; expected its jobs to start clear of both "
                                      f"windows (instance {instance.name})", plan.urn)


POLICIES: list[Rule] = [
    Rule(
        name="backup-clear-of-rds-windows",
        description="AWS Backup jobs for an RDS instance start outside its backup window and clear of its "
                    "maintenance window (and the hour before it).",
        enforcement="MP", severity="medium", framework=Framework("Rampart deployment safety", "BACKUP-57"),
        remediation="Move the backup rule's `schedule` (cron, UTC) so that schedule + `start_window` ends before "
                    "the instance's `backup_window` opens or starts after it closes, and does not meet the "
                    "`maintenance_window` or the hour before it (e.g. RDS 02:00-03:00 and sun:04:00-05:00: "
                    "`cron(0 5 * * ? *)` with a 60-minute start window).",
        url="https://docs.aws.amazon.com/aws-backup/latest/devguide/plan-options-and-configuration.html",
        stack_check=check_clear_of_rds_windows, tags=("backup", "rds", "catalogue-57"),
    ),
]
