"""Stack config of what holds data and how it is recovered: database, backups, application secrets,
recovery targets."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from infra.config_base import AwsRegion, ConfigKey, Name, TimeWindow, WeeklyWindow, _Model


class DatabaseConfig(_Model):
    engine_version: Annotated[str, StringConstraints(pattern=r"^1[4-8](\.\d+)?$")] = "16"
    instance_class: Annotated[str, StringConstraints(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.medium"
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    max_allocated_storage_gb: int = Field(default=100, ge=20, le=65536)
    database_name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "app"
    master_username: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,15}$")] = "rampart_admin"
    port: int = Field(default=5432, ge=1150, le=65535)
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    backup_window: TimeWindow = "02:00-03:00"
    maintenance_window: WeeklyWindow = "sun:04:00-sun:05:00"
    multi_az: bool = True
    deletion_protection: bool = True
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = 60
    performance_insights_retention_days: int = Field(default=7, ge=7, le=731)
    cpu_alarm_percent: int = Field(default=80, ge=1, le=100)
    free_storage_alarm_gb: int = Field(default=5, ge=1)
    connections_alarm: int = Field(default=400, ge=1)

    @model_validator(mode="after")
    def _storage_ordered(self) -> DatabaseConfig:
        if self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise ValueError(
                f"maxAllocatedStorageGb: {self.max_allocated_storage_gb} must exceed "
                f"allocatedStorageGb ({self.allocated_storage_gb}) for storage autoscaling"
            )
        return self


class BackupConfig(_Model):
    # 05:00 UTC: clear of the default RDS backup window (02:00-03:00) and of the default maintenance window
    # (sun:04:00-05:00) with the hour before it; see infra/backup_windows.py.
    schedule: Annotated[str, StringConstraints(pattern=r"^cron\(.+\)$")] = "cron(0 5 * * ? *)"
    retention_days: int = Field(default=35, ge=1, le=36500)
    copy_region: AwsRegion | None = None
    """A second region's vault for copies (production)."""
    copy_retention_days: int = Field(default=35, ge=1, le=36500)


class ApplicationSecretConfig(_Model):
    name: Name
    config_key: ConfigKey
    """The secret config key holding the value: `pulumi config set --secret <configKey> ...`."""
    description: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    recovery_window_days: int = Field(default=30, ge=7, le=30)


class RecoveryConfig(_Model):
    """Targets per recovery path (the `recovery-objectives-met` policy holds each against the resources):
    rto/rpo for every path, and optional overrides for a database restore and for a region loss."""

    rto_minutes: int = Field(ge=1, le=10080)
    rpo_minutes: int = Field(ge=1, le=10080)
    restore_rto_minutes: int | None = Field(default=None, ge=1, le=10080)
    region_rto_minutes: int | None = Field(default=None, ge=1, le=10080)
    region_rpo_minutes: int | None = Field(default=None, ge=1, le=10080)
