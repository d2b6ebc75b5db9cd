"""ECS-native blue/green (`traffic_control="ECS"`): the ECS deployment controller moves traffic itself, with the
same guarantees the CodeDeploy path gives (DESIGN.md trap 11):

- green is reachable first on the test listener rule (the load balancer's `advanced_configuration`);
- a PAUSE lifecycle hook holds the deployment after the test traffic shift, so the smoke checks run before any
  production traffic moves, and the hook's timeout rolls back when nobody continues (the ready wait);
- the bake time keeps blue for `deployment.termination_wait_minutes` (validated longer than the alarm detection
  window), and the same rollback alarms roll the deployment back (the service's `alarms` block);
- notifications of start, success, failure and rollback: ECS "ECS Deployment State Change" events go to the
  stack's topic through EventBridge (CodeDeploy's triggers do that on the other path).
No CodeDeploy resource exists for such a service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part
from components.blue_green.naming import IAM_ROLE_NAME_LIMIT, fit_name
from components.blue_green.spec import DeploymentStrategy
from components.service_trust import service_trust

# The stage at which green serves the test listener rule and production still sees only blue.
SMOKE_STAGE = "POST_TEST_TRAFFIC_SHIFT"
# ECS accepts a bake time of 0-1440 minutes.
MAX_BAKE_MINUTES = 1440
DEPLOYMENT_EVENT = "ECS Deployment State Change"
# IN_PROGRESS is sent for a start and for a rollback (its `reason` tells which); FAILED when alarms or the
# circuit breaker end it; COMPLETED on success.
DEPLOYMENT_EVENT_NAMES = ("SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED")
LOAD_BALANCER_POLICY = "AmazonECSInfrastructureRolePolicyForLoadBalancers"


def deployment_configuration(strategy: DeploymentStrategy) -> dict[str, Any]:
    """BLUE_GREEN with the bake and, when the stack waits before traffic moves, the smoke-gate pause hook."""
    configuration: dict[str, Any] = {
        "strategy": "BLUE_GREEN",
        # Longer than the alarm detection window (validated): a late alarm can still roll back to blue.
        "bake_time_in_minutes": str(strategy.termination_wait_minutes),
    }
    if strategy.ready_wait_minutes:
        configuration["lifecycle_hooks"] = [
            {
                # `rampart deploy` runs the smoke checks on the test listener here, then continues; nobody
                # continuing within the ready wait rolls back (as CodeDeploy's STOP_DEPLOYMENT on timeout).
                "target_type": "PAUSE",
                "lifecycle_stages": [SMOKE_STAGE],
                "timeout_configuration": {
                    "action": "ROLLBACK",
                    "timeout_in_minutes": str(strategy.ready_wait_minutes),
                },
            }
        ]
    return configuration


def build_infrastructure_role(part: Part) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """The role ECS assumes to move the listener rules between the target groups; the service waits for its
    policy."""
    args, base = part.args, part.base

    def trust(cluster_arn: str) -> str:
        return service_trust("ecs.amazonaws.com", cluster_arn.split(":")[4])

    role = aws.iam.Role(
        f"{part.name}-ecs-infrastructure-role",
        name=fit_name(f"{base}-ecs-lb", IAM_ROLE_NAME_LIMIT),
        description=f"ECS infrastructure role of {base}: moves its listener rules during blue/green deployments",
        assume_role_policy=pulumi.Output.from_input(args.cluster_arn).apply(trust),
        max_session_duration=3600,
        opts=part.named,
    )
    managed = aws.iam.RolePolicyAttachment(
        f"{part.name}-ecs-infrastructure-managed",
        role=role.name,
        policy_arn=f"arn:{part.partition}:iam::aws:policy/{LOAD_BALANCER_POLICY}",
        opts=part.child,
    )
    return role, [managed]


def build_deployment_events(part: Part, service: aws.ecs.Service) -> aws.cloudwatch.EventRule:
    """Every state change of this service's deployments, to the stack's topic."""
    pattern = service.arn.apply(lambda arn: json.dumps({
        "source": ["aws.ecs"],
        "detail-type": [DEPLOYMENT_EVENT],
        "resources": [arn],
        "detail": {"eventName": list(DEPLOYMENT_EVENT_NAMES)},
    }))
    rule = aws.cloudwatch.EventRule(
        f"{part.name}-deployment-events",
        name=fit_name(f"{part.base}-deployments", 64),
        description=f"ECS deployments of {part.base}: start, success, failure, rollback",
        event_pattern=pattern,
        opts=part.named,
    )
    aws.cloudwatch.EventTarget(
        f"{part.name}-deployment-events-topic",
        rule=rule.name,
        arn=part.args.notification_topic_arn,
        opts=part.child,
    )
    return rule


@dataclass(frozen=True)
class NativeControl:
    """What the ECS service needs to run its own blue/green deployments."""

    role: aws.iam.Role
    role_policies: list[pulumi.Resource]
    alarm_names: list[pulumi.Output[str]]


def native_service_inputs(part: Part, native: NativeControl, traffic: Any) -> dict[str, Any]:
    """The aws.ecs.Service inputs that make ECS the blue/green controller."""
    svc = part.args.service
    production_rule, test_rule = traffic.rules
    return {
        "deployment_controller": {"type": "ECS"},
        "deployment_configuration": deployment_configuration(part.args.deployment),
        # Rollback on the same alarms CodeDeploy would stop on; a deployment they fail returns to blue.
        "alarms": {"alarm_names": native.alarm_names, "enable": True, "rollback": True},
        "load_balancers": [{
            "target_group_arn": traffic.blue.arn,
            "container_name": svc.name,
            "container_port": svc.container_port,
            "advanced_configuration": {
                "alternate_target_group_arn": traffic.green.arn,
                "production_listener_rule": production_rule.arn,
                "test_listener_rule": test_rule.arn,
                "role_arn": native.role.arn,
            },
        }],
    }
