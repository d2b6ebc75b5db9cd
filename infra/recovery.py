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
)


def worst_case_rpo_minutes(database: DatabaseConfig, backup: BackupConfig) -> int:
    """Most data (in minutes of writes) a restore can lose."""
    if database.backup_retention_days >= 1:
        return PITR_RPO_MINUTES
    return schedule_interval_minutes(backup.schedule)


def worst_case_detection_seconds(alarms: AlarmsConfig) -> int:
    """Longest time from a bad deployment to its rollback alarm firing (AlarmsConfig holds the formula)."""
    return alarms.worst_case_detection_seconds


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
    }
