"""The retention periods CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`): one list for the stack's
config check and the components that set a retention."""

from __future__ import annotations

CLOUDWATCH_LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
