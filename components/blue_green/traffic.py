"""Traffic: the blue and green target groups and the production and test listener rules CodeDeploy moves
between them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part
from components.blue_green.naming import target_group_name

# Short drain: blue keeps serving for the whole termination wait anyway, so connections need little time.
DEREGISTRATION_DELAY_SECONDS = 30
TARGET_HEALTH_CHECK = {
    "protocol": "HTTP",
    "port": "traffic-port",
    "matcher": "200-399",
    "interval": 15,
    "timeout": 5,
    "healthy_threshold": 3,
    "unhealthy_threshold": 3,
}


@dataclass(frozen=True)
class Traffic:
    blue: aws.lb.TargetGroup
    """Behind both listeners at creation; CodeDeploy swaps the roles later."""
    green: aws.lb.TargetGroup
    rules: list[aws.lb.ListenerRule]
    """The production and the test listener rule."""


def build_traffic(part: Part) -> Traffic:
    args, svc = part.args, part.args.service
    health_check = {**TARGET_HEALTH_CHECK, "enabled": True, "path": svc.health_check_path}
    target_groups = {
        colour: aws.lb.TargetGroup(
            f"{part.name}-tg-{colour}",
            name=target_group_name(part.base, colour),
            target_type="ip",
            protocol="HTTP",
            port=svc.container_port,
            vpc_id=args.vpc_id,
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check=health_check,
            opts=part.named,
        )
        for colour in ("blue", "green")
    }
    blue = target_groups["blue"]
    rules = [
        aws.lb.ListenerRule(
            f"{part.name}-{role}-rule",
            listener_arn=listener_arn,
            priority=svc.listener_rule_priority,
            conditions=[{"path_pattern": {"values": list(svc.path_patterns)}}],
            actions=[{"type": "forward", "target_group_arn": blue.arn}],
            # CodeDeploy moves these rules between blue and green; reverting them would send live traffic
            # back to a target group that may be empty (trap 2).
            opts=pulumi.ResourceOptions(parent=part.parent, ignore_changes=["actions"]),
        )
        for role, listener_arn in (("production", args.production_listener_arn), ("test", args.test_listener_arn))
    ]
    return Traffic(blue, target_groups["green"], rules)
