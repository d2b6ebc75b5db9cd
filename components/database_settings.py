"""The database's own settings (plain values, defaults safe for production) and the window arithmetic that
checks them; the stack's config maps onto these in infra/component_args.py."""

from __future__ import annotations

from dataclasses import dataclass

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Production floor for RDS automated backup retention (days of point-in-time recovery).
PRODUCTION_MIN_BACKUP_RETENTION_DAYS = 14
# Production backups run off-peak: the window must start and end between these hours (UTC).
PRODUCTION_BACKUP_HOURS = (0, 6)
# Performance Insights accepts 7 days (free tier), whole months (31-day multiples) up to 23, or 731 days.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = frozenset({7, 731, *range(31, 31 * 23 + 1, 31)})
RESERVED_USERNAMES = frozenset({"postgres", "admin", "root", "rdsadmin", "master", "administrator", "user"})


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    engine_version: str = "16"
    instance_class: str = "db.t4g.medium"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    """Storage autoscaling ceiling; must exceed allocated_storage_gb."""
    database_name: str = "app"
    master_username: str = "rampart_admin"
    port: int = 5432
    backup_retention_days: int = 7
    backup_window: str = "02:00-03:00"
    """Daily, UTC, `HH:MM-HH:MM`."""
    maintenance_window: str = "sun:04:00-sun:05:00"
    """Weekly, UTC, `ddd:HH:MM-ddd:HH:MM`."""
    multi_az: bool = True
    deletion_protection: bool = True
    monitoring_interval_seconds: int = 60
    performance_insights_retention_days: int = 7
    cpu_alarm_percent: int = 80
    free_storage_alarm_gb: int = 5
    connections_alarm: int = 400


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def daily_window(text: str) -> tuple[int, int]:
    """`HH:MM-HH:MM` as minutes after midnight."""
    start, end = text.split("-")
    return _minutes(start), _minutes(end)


def weekly_window(text: str) -> tuple[int, int]:
    """`ddd:HH:MM-ddd:HH:MM` as minutes after Monday 00:00."""
    start, end = text.split("-")

    def weekly(point: str) -> int:
        day, hhmm = point.split(":", 1)
        return _DAYS.index(day) * 1440 + _minutes(hhmm)

    return weekly(start), weekly(end)


def overlaps_daily(daily: tuple[int, int], weekly: tuple[int, int]) -> bool:
    """Does the daily window on any day intersect the weekly window?"""
    week = 7 * 1440
    start, end = daily
    length = (end - start) % 1440
    w_start, w_end = weekly
    w_length = (w_end - w_start) % week
    for day in range(7):
        d_start = day * 1440 + start
        for offset in (-week, 0, week):
            a0, a1 = d_start, d_start + length
            b0, b1 = w_start + offset, w_start + offset + w_length
            if a0 < b1 and b0 < a1:
                return True
    return False


def validate_settings(db: DatabaseSettings, *, production: bool, field: str) -> None:
    """Raise ValueError naming the first setting (under `field`) that would build an unsafe or unbuildable
    database."""
    if not isinstance(db, DatabaseSettings):
        raise ValueError(f"{field}: expected a DatabaseSettings, got {type(db).__name__}")
    if db.master_username in RESERVED_USERNAMES:
        raise ValueError(
            f"{field}.master_username: expected a non-default user name, got {db.master_username!r}"
        )
    if db.max_allocated_storage_gb <= db.allocated_storage_gb:
        raise ValueError(
            f"{field}.max_allocated_storage_gb: expected more than allocated_storage_gb "
            f"({db.allocated_storage_gb}) for storage autoscaling, got {db.max_allocated_storage_gb}"
        )
    if db.performance_insights_retention_days not in PERFORMANCE_INSIGHTS_RETENTION_DAYS:
        raise ValueError(
            f"{field}.performance_insights_retention_days: expected 7, a multiple of 31 up to 713, "
            f"or 731, got {db.performance_insights_retention_days}"
        )
    backup = daily_window(db.backup_window)
    if (backup[1] - backup[0]) % 1440 < 30:
        raise ValueError(
            f"{field}.backup_window: expected at least 30 minutes, got {db.backup_window!r}"
        )
    if overlaps_daily(backup, weekly_window(db.maintenance_window)):
        raise ValueError(
            f"{field}.backup_window: expected a window that does not overlap the maintenance window "
            f"{db.maintenance_window!r}, got {db.backup_window!r}"
        )
    if not production:
        return
    if db.backup_retention_days < PRODUCTION_MIN_BACKUP_RETENTION_DAYS:
        raise ValueError(
            f"{field}.backup_retention_days: expected at least {PRODUCTION_MIN_BACKUP_RETENTION_DAYS} "
            f"in production, got {db.backup_retention_days}"
        )
    low, high = (hour * 60 for hour in PRODUCTION_BACKUP_HOURS)
    if not (low <= backup[0] < backup[1] <= high):
        raise ValueError(
            f"{field}.backup_window: expected a window within "
            f"{PRODUCTION_BACKUP_HOURS[0]:02d}:00-{PRODUCTION_BACKUP_HOURS[1]:02d}:00 UTC in production, "
            f"got {db.backup_window!r}"
        )
    if not db.multi_az:
        raise ValueError(f"{field}.multi_az: expected true in production, got false")
    if not db.deletion_protection:
        raise ValueError(f"{field}.deletion_protection: expected true in production, got false")
