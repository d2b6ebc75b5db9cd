"""CodeDeploy rules for ECS blue/green (catalogue rules 15-20): a deployment group rolls back on failure and on
its alarms, names alarms that exist and watch it, has the blue/green shape ECS needs, keeps blue alive longer
than its alarms take to fire, and never shifts production traffic all at once or faster than detection.

No public scanner checks CodeDeploy; the defaults of a deployment group are built for EC2 servers
(OneAtATime, no rollback, no alarms), which is why every check here names the argument to set.

`codedeploy-auto-rollback-on-alarm` cannot be waived: without automatic rollback a bad release stays live
until someone notices, which voids the recovery objectives every stack declares.

The rules live by concern: the deployment group's rollback, alarms and blue/green shape in
guardrails.codedeploy_groups (15-17), and how long blue is kept and how fast traffic shifts in
guardrails.codedeploy_traffic (18-20). This module is the group the pack and the rule catalogue read
(`POLICIES`, in catalogue order).
"""

from __future__ import annotations

from guardrails import codedeploy_groups, codedeploy_traffic
from guardrails.codedeploy_groups import (
    check_alarms_resolvable,
    check_auto_rollback_on_alarm,
    check_ecs_blue_green_shape,
)
from guardrails.codedeploy_traffic import (
    DEPLOYMENT_CONFIG,
    check_bake_time,
    check_config_traffic_window,
    check_native_bake_time,
    check_no_all_at_once_prod,
)
from guardrails.rule import Rule

# What the tests import from guardrails.codedeploy.
__all__ = [
    "DEPLOYMENT_CONFIG",
    "POLICIES",
    "check_alarms_resolvable",
    "check_auto_rollback_on_alarm",
    "check_bake_time",
    "check_config_traffic_window",
    "check_ecs_blue_green_shape",
    "check_native_bake_time",
    "check_no_all_at_once_prod",
]

POLICIES: list[Rule] = [*codedeploy_groups.RULES, *codedeploy_traffic.RULES]
