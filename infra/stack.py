"""`build_stack(cfg)`: wiring only. Components own every resource; this module connects their outputs.

Order matters only through data: key -> network -> notifications -> secrets -> cluster/load balancer ->
services (with their alarms) -> database (which admits the services' security groups) -> backup ->
GitHub (which scopes deploy roles to the services).
"""

from __future__ import annotations

import pulumi

from infra import outputs
from infra.config import StackConfig


def build_stack(cfg: StackConfig) -> None:
    pulumi.export(outputs.ENVIRONMENT, cfg.environment)
    pulumi.export(outputs.REGION, cfg.region)
    pulumi.export(
        outputs.RECOVERY,
        {"rtoMinutes": cfg.recovery.rto_minutes, "rpoMinutes": cfg.recovery.rpo_minutes},
    )
