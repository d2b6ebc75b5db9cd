"""When the AWS Backup job may start, set against the RDS instance's own backup and maintenance windows.

Why they must not meet (read in the AWS docs):
- RDS User Guide, "Managing automated backups" > Backup window
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ManagingAutomatedBackups.html): the automated
  backup runs daily in the preferred backup window and, when it needs longer, continues past the window's end.
  An AWS Backup job started in that window snapshots the same instance while the automated backup runs: two
  backups compete for the instance's I/O, and the job can be held past its start window and reported failed.
- AWS Backup Developer Guide, "Backup plan options and configuration"
  (https://docs.aws.amazon.com/aws-backup/latest/devguide/plan-options-and-configuration.html): AWS Backup does
  not start a backup of a database service during its maintenance window or in the hour before it (Aurora
  excepted); a job whose start window falls there is skipped or expires.

Times are minutes of the week from Monday 00:00 UTC (the plan runs in Etc/UTC, see components/backup_plan.py).
"""

from __future__ import annotations

import re

from components.backup_plan import START_WINDOW_MINUTES

# How long after its scheduled time an AWS Backup job may still start: the plan rule's own figure.
BACKUP_START_WINDOW_MINUTES = START_WINDOW_MINUTES
# AWS Backup starts no database backup in this many minutes before the maintenance window (developer guide).
MAINTENANCE_LEAD_MINUTES = 60

DAY = 1440
WEEK = 7 * DAY
_RDS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# AWS cron weekdays: names, or 1-7 counting from Sunday.
_CRON_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON = re.compile(r"^cron\((.+)\)$")


def _hhmm(minutes: int) -> str:
    return f"{minutes % DAY // 60:02d}:{minutes % 60:02d}"


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _cron_weekday(token: str) -> int | None:
    """Monday-based day index of one AWS cron weekday token, or None when not understood."""
    token = token.upper()
    if token in _CRON_DAYS:
        sunday_based = _CRON_DAYS.index(token)
    elif token.isdigit() and 1 <= int(token) <= 7:
        sunday_based = int(token) - 1
    else:
        return None
    return (sunday_based + 6) % 7


def _cron_hours(field: str) -> list[int] | None:
    if field == "*":
        return list(range(24))
    step = re.fullmatch(r"(\*|\d+)/(\d+)", field)
    if step and int(step[2]) > 0:
        return list(range(0 if step[1] == "*" else int(step[1]), 24, int(step[2])))
    hours = field.split(",")
    if all(h.isdigit() and int(h) < 24 for h in hours):
        return sorted({int(h) for h in hours})
    return None


def job_starts(schedule: str) -> list[int] | None:
    """Minutes of the week at which the schedule starts a job; None for a shape not understood here.

    A schedule naming days of the month (or months) may land on any weekday, so it counts as every day.
    Shapes the backup component rejects (components/backup_plan.py) are left to its own message.
    """
    match = _CRON.fullmatch(schedule.strip())
    fields = match[1].split() if match else []
    if len(fields) != 6 or not fields[0].isdigit():
        return None
    hours = _cron_hours(fields[1])
    weekday = fields[4]
    days = list(range(7)) if weekday in ("*", "?") else [_cron_weekday(t) for t in weekday.split(",")]
    if hours is None or None in days:
        return None
    return [day * DAY + hour * 60 + int(fields[0]) for day in days for hour in hours]


def _overlap(start: int, length: int, other_start: int, other_length: int) -> bool:
    """Do two spans on the weekly circle intersect?"""
    return any(
        start < other_start + offset + other_length and other_start + offset < start + length
        for offset in (-WEEK, 0, WEEK)
    )


def _daily_spans(window: str) -> list[tuple[int, int]]:
    start, end = (_clock(part) for part in window.split("-"))
    return [(day * DAY + start, (end - start) % DAY) for day in range(7)]


def _weekly_span(window: str) -> tuple[int, int]:
    def point(text: str) -> int:
        day, clock = text.split(":", 1)
        return _RDS_DAYS.index(day) * DAY + _clock(clock)

    start, end = (point(part) for part in window.split("-"))
    return start, (end - start) % WEEK


def window_conflict(schedule: str, backup_window: str, maintenance_window: str) -> str | None:
    """What is wrong with the job's start times against the RDS windows (a config message), or None."""
    starts = job_starts(schedule)
    if starts is None:
        return None
    for start in starts:
        if any(_overlap(start, BACKUP_START_WINDOW_MINUTES, s, n) for s, n in _daily_spans(backup_window)):
            return (
                f"backup.schedule: {schedule} may start the AWS Backup job {_hhmm(start)}-"
                f"{_hhmm(start + BACKUP_START_WINDOW_MINUTES)} UTC (its {BACKUP_START_WINDOW_MINUTES}-minute start "
                f"window), inside database.backupWindow {backup_window} when RDS takes its automated backup; "
                "expected a start time whose start window ends before that window opens or begins after it closes"
            )
    m_start, m_length = _weekly_span(maintenance_window)
    blocked_start, blocked_length = m_start - MAINTENANCE_LEAD_MINUTES, m_length + MAINTENANCE_LEAD_MINUTES
    for start in starts:
        if _overlap(start, BACKUP_START_WINDOW_MINUTES, blocked_start, blocked_length):
            return (
                f"backup.schedule: {schedule} may start the AWS Backup job on {_RDS_DAYS[start // DAY % 7]} "
                f"{_hhmm(start)}-{_hhmm(start + BACKUP_START_WINDOW_MINUTES)} UTC, during "
                f"database.maintenanceWindow {maintenance_window} or the {MAINTENANCE_LEAD_MINUTES} minutes before "
                "it, when AWS Backup starts no database backup; expected a start window clear of both"
            )
    return None
