"""Recovery objectives as code: the worst case that the declared resources allow, next to the declared targets.

Pure functions over the stack config, so `rampart check`, the stack export (`recovery`, infra/outputs.py) and
the policy that holds targets and resources together all compute the same figures.

- Detection: the slowest rollback alarm needs period x evaluation periods of bad data, plus about a minute
  before CloudWatch has the metric at all.
- Deployment: the worst case of one healthy deployment until all traffic has shifted, and with the bake
  (infra/timing.py): how long a release, or a rollback by redeploy, can take before it is known good.
- Data loss (RPO): with RDS automated backups on, point-in-time recovery loses at most the last transaction
  log upload (every five minutes); without them, everything since the last scheduled AWS Backup snapshot.
"""

from __future__ import annotations

import math
from typing import Any

from components.backup_plan import schedule_interval_minutes
from components.database import PITR_RPO_MINUTES
from infra.config import AlarmsConfig, BackupConfig, DatabaseConfig, StackConfig
from infra.timing import deployment_timing, manual_rollback_seconds

RECOVERY_KEYS = (
    "rtoMinutes",
    "rpoMinutes",
    "worstCaseDetectionSeconds",
    "worstCaseRpoMinutes",
    "worstCaseDeploySeconds",
    "worstCaseDeployWithBakeSeconds",
    "worstCaseManualRollbackSeconds",
    "paths",
)


def worst_case_rpo_minutes(database: DatabaseConfig, backup: BackupConfig) -> int:
    """Most data (in minutes of writes) a restore can lose."""
    if database.backup_retention_days >= 1:
        return PITR_RPO_MINUTES
    return schedule_interval_minutes(backup.schedule)


def worst_case_detection_seconds(alarms: AlarmsConfig) -> int:
    """Longest time from a bad deployment to its rollback alarm firing (AlarmsConfig holds the formula)."""
    return alarms.worst_case_detection_seconds


# The pack's `recovery-objectives-met` model (policies/guardrails/recovery.py THRESHOLDS), in minutes; the pack
# cannot import this module, so tests/policies/test_recovery.py holds the two computations together.
REROUTE_SECONDS = 60
RESTORE_BASE_MINUTES = 20
RESTORE_MINUTES_PER_100_GB = 10
MULTI_AZ_RESTORE_MINUTES = 10
CROSS_REGION_COPY_MINUTES = 60
REGION_REBUILD_MINUTES = 60


def restore_minutes(database: DatabaseConfig) -> int:
    """Modelled restore into a new instance: provisioning, storage at the most autoscaling allows, the standby."""
    storage = max(database.allocated_storage_gb, database.max_allocated_storage_gb)
    minutes = RESTORE_BASE_MINUTES + math.ceil(storage * RESTORE_MINUTES_PER_100_GB / 100)
    return minutes + (MULTI_AZ_RESTORE_MINUTES if database.multi_az else 0)


def recovery_paths(cfg: StackConfig) -> list[dict[str, Any]]:
    """Each recovery path's target and worst case (None: nothing bounds it), as the pack computes them."""
    recovery = cfg.recovery
    restore = restore_minutes(cfg.database)
    interval = schedule_interval_minutes(cfg.backup.schedule)
    region_rpo = interval + CROSS_REGION_COPY_MINUTES if cfg.backup.copy_region else None
    region_rto = restore + REGION_REBUILD_MINUTES if cfg.backup.copy_region else None
    rows = [
        ("bad deploy", "RTO", recovery.rto_minutes,
         (worst_case_detection_seconds(cfg.alarms) + REROUTE_SECONDS) / 60, "detection + reroute to blue"),
        ("data loss", "RPO", recovery.rpo_minutes, worst_case_rpo_minutes(cfg.database, cfg.backup),
         "point-in-time recovery" if cfg.database.backup_retention_days >= 1 else "backup schedule"),
        ("restore", "RTO", recovery.restore_rto_minutes or recovery.rto_minutes, restore, "modelled restore"),
        ("region loss", "RPO", recovery.region_rpo_minutes or recovery.rpo_minutes, region_rpo,
         "cross-region copy interval + lag" if region_rpo else "no cross-region copy"),
        ("region loss", "RTO", recovery.region_rto_minutes or recovery.rto_minutes, region_rto,
         "restore + stack rebuild" if region_rto else "no cross-region copy"),
    ]
    return [{"path": path, "objective": objective, "targetMinutes": target, "worstCaseMinutes": worst,
             "basis": basis} for path, objective, target, worst, basis in rows]


def recovery_summary(cfg: StackConfig) -> dict[str, Any]:
    """The stack's `recovery` export: declared targets and the worst case the resources allow."""
    timing = deployment_timing(cfg.deployment, cfg.alarms)
    return {
        "rtoMinutes": cfg.recovery.rto_minutes,
        "rpoMinutes": cfg.recovery.rpo_minutes,
        "worstCaseDetectionSeconds": worst_case_detection_seconds(cfg.alarms),
        "worstCaseRpoMinutes": worst_case_rpo_minutes(cfg.database, cfg.backup),
        "worstCaseDeploySeconds": timing.until_shifted_seconds,
        "worstCaseDeployWithBakeSeconds": timing.with_bake_seconds,
        "worstCaseManualRollbackSeconds": manual_rollback_seconds(),
        "paths": recovery_paths(cfg),
    }
