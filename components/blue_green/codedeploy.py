"""The CodeDeploy application, deployment config and deployment group that ship the service blue/green
(traps 3 and 4: ECS config by name, both target groups by name, one listener per route, rollback on failure and
on alarm, a bounded ready wait that stops on timeout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part
from components.blue_green.naming import DEPLOYMENT_CONFIG_NAME_LIMIT, fit_name
from components.blue_green.roles import build_codedeploy_role
from components.blue_green.spec import DeploymentStrategy
from components.blue_green.traffic import Traffic
from components.blue_green.validation import STRATEGY_ROUTING

DEPLOYMENT_TRIGGER_EVENTS = (
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
)
ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
ALL_AT_ONCE = "CodeDeployDefault.ECSAllAtOnce"


@dataclass(frozen=True)
class CodeDeployParts:
    application: aws.codedeploy.Application
    deployment_group: aws.codedeploy.DeploymentGroup | None
    """None while the service awaits its first image."""


def ready_option(strategy: DeploymentStrategy) -> dict[str, Any]:
    if strategy.ready_wait_minutes == 0:
        return {"action_on_timeout": "CONTINUE_DEPLOYMENT"}
    # Wait for a manual continue at most this long, then stop (and so roll back) (trap 4).
    return {"action_on_timeout": "STOP_DEPLOYMENT", "wait_time_in_minutes": strategy.ready_wait_minutes}


def _deployment_config_name(part: Part) -> pulumi.Input[str]:
    strategy = part.args.deployment
    if strategy.strategy not in STRATEGY_ROUTING:
        return ALL_AT_ONCE
    block = "time_based_canary" if strategy.strategy == "canary" else "time_based_linear"
    deployment_config = aws.codedeploy.DeploymentConfig(
        f"{part.name}-deployment-config",
        # The shape is in the name: a changed shape is a new config, created before the old one goes.
        deployment_config_name=fit_name(
            f"{part.base}-{strategy.strategy}-{strategy.traffic_percent}pct-{strategy.interval_minutes}m",
            DEPLOYMENT_CONFIG_NAME_LIMIT,
        ),
        compute_platform="ECS",
        traffic_routing_config={
            "type": STRATEGY_ROUTING[strategy.strategy],
            block: {"percentage": strategy.traffic_percent, "interval": strategy.interval_minutes},
        },
        opts=part.child,
    )
    return deployment_config.deployment_config_name


def build_codedeploy(
    part: Part,
    service: aws.ecs.Service | None,
    traffic: Traffic,
    alarm_names: list[pulumi.Output[str]],
) -> CodeDeployParts:
    args, base, strategy = part.args, part.base, part.args.deployment
    application = aws.codedeploy.Application(
        f"{part.name}-codedeploy-app", name=base, compute_platform="ECS", opts=part.child
    )
    config_name = _deployment_config_name(part)
    role, role_policies = build_codedeploy_role(part)
    if service is None:
        return CodeDeployParts(application, None)
    deployment_group = aws.codedeploy.DeploymentGroup(
        f"{part.name}-deployment-group",
        app_name=application.name,
        deployment_group_name=base,
        service_role_arn=role.arn,
        deployment_config_name=config_name,
        deployment_style={"deployment_option": "WITH_TRAFFIC_CONTROL", "deployment_type": "BLUE_GREEN"},
        blue_green_deployment_config={
            "deployment_ready_option": ready_option(strategy),
            "terminate_blue_instances_on_deployment_success": {
                "action": "TERMINATE",
                # Longer than the alarm detection window (validated): a late alarm can still roll back.
                "termination_wait_time_in_minutes": strategy.termination_wait_minutes,
            },
        },
        ecs_service={"cluster_name": args.cluster_name, "service_name": service.name},
        load_balancer_info={
            "target_group_pair_info": {
                "prod_traffic_route": {"listener_arns": [args.production_listener_arn]},
                "test_traffic_route": {"listener_arns": [args.test_listener_arn]},
                "target_groups": [{"name": traffic.blue.name}, {"name": traffic.green.name}],
            }
        },
        # No ECS circuit breaker under CodeDeploy: these are the only automatic way back (trap 4).
        auto_rollback_configuration={"enabled": True, "events": list(ROLLBACK_EVENTS)},
        alarm_configuration={
            "enabled": True,
            "alarms": alarm_names,
            # An alarm CodeDeploy cannot read must stop the deployment, not be skipped.
            "ignore_poll_alarm_failure": False,
        },
        trigger_configurations=[
            {
                "trigger_name": f"{base}-deployments",
                "trigger_events": list(DEPLOYMENT_TRIGGER_EVENTS),
                "trigger_target_arn": args.notification_topic_arn,
            }
        ],
        opts=pulumi.ResourceOptions(parent=part.parent, depends_on=role_policies),
    )
    return CodeDeployParts(application, deployment_group)
