"""BlueGreenService: one Fargate service behind the shared ALB, deployed blue/green by CodeDeploy.

Carries the fixes for DESIGN.md "Blue/green with CodeDeploy: the traps":
1. the ECS service ignores what CodeDeploy owns (task definition, load balancers, network configuration,
   platform version, and the desired count when autoscaled); task definition revisions survive replacement
   (`skip_destroy`) so a rollback target always exists;
2. CodeDeploy swaps target groups on the listener rules, so the rules ignore their `actions`;
3. the deployment group names its ECS deployment config, both target groups by name and exactly one
   production and one test listener;
4. there is no ECS circuit breaker under CodeDeploy: auto-rollback on failure and on alarm, and a bounded
   ready wait that stops (and so rolls back) on timeout;
5. alarms on both target groups and the service (DeploymentAlarms); blue is kept longer than they take to fire;
6. secrets are injected by `valueFrom` pinned to a version, never through `environment`;
11. the traffic control is one field (`traffic_control`): "CODE_DEPLOY", or "ECS" for ECS-native blue/green
    (components/blue_green/ecs_native.py) with the same guarantees and no CodeDeploy resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.blue_green.codedeploy import build_codedeploy
from components.blue_green.context import Part
from components.blue_green.ecs_native import NativeControl, build_deployment_events, build_infrastructure_role
from components.blue_green.image import build_log_group, build_repository
from components.blue_green.naming import fit_name, target_group_name
from components.blue_green.roles import build_task_roles
from components.blue_green.service import HEALTH_CHECK_GRACE_SECONDS, build_service
from components.blue_green.spec import Autoscaling, DeploymentStrategy, ServiceSpec
from components.blue_green.task import build_task_definition, build_task_security_group
from components.blue_green.traffic import DEREGISTRATION_DELAY_SECONDS, TARGET_HEALTH_CHECK, Traffic, build_traffic
from components.blue_green.validation import validate
from components.deployment_alarms import AlarmThresholds, DeploymentAlarms, DeploymentAlarmsArgs, detection_seconds

# Every output, as registered on the component (its attribute names).
_OUTPUTS = (
    "service_name", "service_arn", "task_definition_arn", "task_definition_family", "container_name",
    "container_port", "security_group_id", "log_group_name", "log_group_arn", "repository_url", "repository_arn",
    "task_role_arn", "execution_role_arn", "codedeploy_application_name", "deployment_group_name",
    "production_target_group_name", "test_target_group_name", "production_target_group_arn",
    "test_target_group_arn", "alarm_names", "detection_seconds",
)

__all__ = [
    "DEREGISTRATION_DELAY_SECONDS",
    "HEALTH_CHECK_GRACE_SECONDS",
    "TARGET_HEALTH_CHECK",
    "AlarmThresholds",
    "Autoscaling",
    "BlueGreenService",
    "BlueGreenServiceArgs",
    "DeploymentStrategy",
    "ServiceSpec",
    "fit_name",
    "planned_service_arn",
    "target_group_name",
]


@dataclass(frozen=True, kw_only=True)
class BlueGreenServiceArgs:
    service: ServiceSpec
    deployment: DeploymentStrategy
    alarms: AlarmThresholds
    environment: str
    name_prefix: str
    """E.g. `rampart-production`; physical names are `<name_prefix>-<service.name>`."""
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    load_balancer_security_group_id: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    production_listener_arn: pulumi.Input[str]
    test_listener_arn: pulumi.Input[str]
    notification_topic_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    secrets: Mapping[str, pulumi.Input[str]]
    """Environment variable name -> `valueFrom` pinned to a version: `<secret arn>:::<version id>`."""
    secret_arns: Sequence[pulumi.Input[str]]
    """The plain secret ARNs the execution role may read: exactly these, nothing else."""
    region: str
    vpc_cidr: pulumi.Input[str] | None = None
    """Accepted for the wiring's convenience; the tasks' rules reference security groups instead."""
    traffic_control: Literal["CODE_DEPLOY", "ECS"] = "CODE_DEPLOY"
    """How traffic moves between blue and green: a CodeDeploy deployment group, or ECS's own blue/green
    deployments (deployment strategy BLUE_GREEN; no CodeDeploy resources)."""


def planned_service_arn(cluster_arn: pulumi.Input[str], service_name: str) -> pulumi.Output[str]:
    """The ARN an ECS service of this name in this cluster gets (the long ARN format)."""
    return pulumi.Output.from_input(cluster_arn).apply(
        lambda arn: f"{arn.replace(':cluster/', ':service/', 1)}/{service_name}"
    )


class BlueGreenService(pulumi.ComponentResource):
    """A Fargate service, its image repository, logs, roles, target groups, listener rules, rollback alarms
    and the CodeDeploy application and deployment group that ship it blue/green."""

    awaiting_image: bool
    """True while the service awaits its first image: no task definition, service, alarms or deployment group."""
    service_name: pulumi.Output[str]
    """ECS service name (also the CodeDeploy deployment group's ECS service)."""
    service_arn: pulumi.Output[str]
    """ECS service ARN (while awaiting its image, the ARN the service will have)."""
    task_definition_arn: pulumi.Output[str] | None
    """The revision Pulumi registered; later revisions are registered by deployments through CodeDeploy.
    None while the service awaits its first image."""
    task_definition_family: pulumi.Output[str]
    """Task definition family, for registering new revisions at deploy time."""
    container_name: str
    """Name of the one essential container (the AppSpec's load balancer target)."""
    container_port: int
    """Port the container listens on and the target groups forward to."""
    security_group_id: pulumi.Output[str]
    """Security group of the tasks: other components admit traffic from it by reference."""
    log_group_name: pulumi.Output[str]
    """CloudWatch log group of the containers."""
    log_group_arn: pulumi.Output[str]
    """ARN of that log group (deploy roles read it)."""
    repository_url: pulumi.Output[str]
    """ECR repository URL images are pushed to."""
    repository_arn: pulumi.Output[str]
    """ECR repository ARN, for scoping push permissions."""
    task_role_arn: pulumi.Output[str]
    """Role the application runs as (no permissions by default)."""
    execution_role_arn: pulumi.Output[str]
    """Role ECS uses to pull the image, write logs and read this service's secrets."""
    traffic_control: str
    """"CODE_DEPLOY" or "ECS" (ECS-native blue/green)."""
    codedeploy_application_name: pulumi.Output[str] | None
    """CodeDeploy application deployments are created in (None under ECS-native blue/green)."""
    deployment_group_name: pulumi.Output[str] | None
    """CodeDeploy deployment group deployments are created in (None under ECS-native blue/green)."""
    production_target_group_name: pulumi.Output[str]
    """Target group behind the production listener at creation (CodeDeploy swaps the roles later)."""
    test_target_group_name: pulumi.Output[str]
    """Target group behind the test listener at creation (CodeDeploy swaps the roles later)."""
    production_target_group_arn: pulumi.Output[str]
    """ARN of the production target group at creation."""
    test_target_group_arn: pulumi.Output[str]
    """ARN of the test target group at creation."""
    alarm_names: list[pulumi.Output[str]]
    """Rollback alarms named in the deployment group (none while the service awaits its first image)."""
    detection_seconds: int
    """Longest alarm detection window plus metric delay: the bake time must exceed it."""

    def __init__(self, name: str, args: BlueGreenServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rampart:index:BlueGreenService", name, None, opts)
        validate(args)
        svc = args.service
        part = Part(self, name, args)
        base, awaiting = part.base, part.awaiting

        repository = build_repository(part)
        log_group = build_log_group(part)
        roles = build_task_roles(part, repository, log_group)
        security_group = build_task_security_group(part)
        task_definition = build_task_definition(part, roles, log_group)
        traffic = build_traffic(part)
        if args.traffic_control == "ECS":
            service, alarms = self._ecs_native(part, task_definition, security_group, traffic, roles)
        else:
            service = build_service(part, task_definition, security_group, traffic, [roles.execution_policy])
            alarms = self._rollback_alarms(part, service, traffic)
            codedeploy = build_codedeploy(part, service, traffic, alarms.alarm_names if alarms else [])
            application, deployment_group = codedeploy.application, codedeploy.deployment_group
        execution_role, task_role = roles.execution_role, roles.task_role
        blue, green = traffic.blue, traffic.green

        self.awaiting_image = awaiting
        # Awaiting: the fixed names these will have, so the deploy role is scoped to them already and does not
        # change when the first image lands.
        self.service_name = service.name if service else pulumi.Output.from_input(base)
        self.service_arn = service.arn if service else planned_service_arn(args.cluster_arn, base)
        self.task_definition_arn = task_definition.arn if task_definition else None
        self.task_definition_family = task_definition.family if task_definition else pulumi.Output.from_input(base)
        self.container_name = svc.name
        self.container_port = svc.container_port
        self.security_group_id = security_group.id
        self.log_group_name = log_group.name
        self.log_group_arn = log_group.arn
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.task_role_arn = task_role.arn
        self.execution_role_arn = execution_role.arn
        self.traffic_control = args.traffic_control
        self.codedeploy_application_name = None
        self.deployment_group_name = None
        if args.traffic_control == "CODE_DEPLOY":
            self.codedeploy_application_name = application.name
            self.deployment_group_name = (
                deployment_group.deployment_group_name if deployment_group else pulumi.Output.from_input(base)
            )
        self.production_target_group_name = blue.name
        self.test_target_group_name = green.name
        self.production_target_group_arn = blue.arn
        self.test_target_group_arn = green.arn
        self.alarm_names = alarms.alarm_names if alarms else []
        self.detection_seconds = detection_seconds(args.alarms)
        self.register_outputs({key: getattr(self, key) for key in _OUTPUTS})

    def _ecs_native(self, part: Part, task_definition, security_group, traffic: Traffic, roles):
        """ECS-native blue/green: the alarms come first (the service names them), then the service, then its
        deployment events to the topic. Nothing of CodeDeploy."""
        role, role_policies = build_infrastructure_role(part)
        if task_definition is None:
            return None, None
        # The service's name is fixed (part.base), so the alarms can watch it before it exists.
        alarms = self._rollback_alarms(part, part.base, traffic)
        assert alarms is not None
        native = NativeControl(role, role_policies, alarms.alarm_names)
        service = build_service(part, task_definition, security_group, traffic, [roles.execution_policy], native)
        assert service is not None
        build_deployment_events(part, service)
        return service, alarms

    def _rollback_alarms(
        self, part: Part, service: aws.ecs.Service | str | None, traffic: Traffic
    ) -> DeploymentAlarms | None:
        """Rollback alarms watch a deployment; without a service the running-tasks alarm would only page
        on-call."""
        if service is None:
            return None
        args, svc = part.args, part.args.service
        return DeploymentAlarms(
            f"{part.name}-alarms",
            DeploymentAlarmsArgs(
                alarms=args.alarms,
                name_prefix=part.base,
                load_balancer_arn_suffix=args.load_balancer_arn_suffix,
                target_group_arn_suffixes=[traffic.blue.arn_suffix, traffic.green.arn_suffix],
                cluster_name=args.cluster_name,
                service_name=service if isinstance(service, str) else service.name,
                desired_count=svc.autoscaling.min_count if svc.autoscaling else svc.desired_count,
                topic_arn=args.notification_topic_arn,
            ),
            opts=part.child,
        )
