"""The ECS service under the CodeDeploy controller (or ECS's own blue/green), and its CPU target tracking when
autoscaled."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part
from components.blue_green.ecs_native import NativeControl, native_service_inputs
from components.blue_green.traffic import Traffic

# Long enough for the container to start and pass its first ALB checks (3 x 15 s) before ECS judges it.
HEALTH_CHECK_GRACE_SECONDS = 60
# CodeDeploy owns these once the service exists; UpdateService refuses them under CODE_DEPLOY (trap 1).
CODE_DEPLOY_OWNED = ("taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion")
# Under ECS-native blue/green, `rampart deploy` moves the task definition (UpdateService), and ECS alternates the
# primary and alternate target groups between deployments: an `up` must revert neither (a deployment Pulumi
# starts does not alternate them: hashicorp/terraform-provider-aws#45678).
ECS_NATIVE_OWNED = ("taskDefinition", "loadBalancers")


def build_service(
    part: Part,
    task_definition: aws.ecs.TaskDefinition | None,
    security_group: aws.ec2.SecurityGroup,
    traffic: Traffic,
    start_after: list[pulumi.Resource],
    native: NativeControl | None = None,
) -> aws.ecs.Service | None:
    """None while the service awaits its first image. `start_after`: what tasks need before they start (the
    execution role's policy, to read their secrets). `native`: ECS-native blue/green instead of CodeDeploy."""
    if task_definition is None:
        return None
    args, svc = part.args, part.args.service
    owned = ECS_NATIVE_OWNED if native else CODE_DEPLOY_OWNED
    ignored = [*owned, *(["desiredCount"] if svc.autoscaling else [])]
    controller: dict = native_service_inputs(part, native, traffic) if native else {
        "deployment_controller": {"type": "CODE_DEPLOY"},
        "load_balancers": [
            {"target_group_arn": traffic.blue.arn, "container_name": svc.name, "container_port": svc.container_port}
        ],
    }
    service = aws.ecs.Service(
        f"{part.name}-service",
        # Fixed name, create-before-delete on purpose: replacing the service is an outage, and the collision
        # stops `pulumi up` before anything is deleted; a replacement is a planned move to a new name.
        name=part.base,
        cluster=args.cluster_arn,
        task_definition=task_definition.arn,
        desired_count=svc.desired_count,
        launch_type="FARGATE",
        platform_version="LATEST",
        network_configuration={
            "subnets": list(args.private_subnet_ids),
            "security_groups": [security_group.id],
            "assign_public_ip": False,
        },
        **controller,
        health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
        enable_execute_command=False,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        wait_for_steady_state=False,
        # The target group must be attached to a listener, and the secrets readable, before tasks start.
        opts=pulumi.ResourceOptions(
            parent=part.parent,
            ignore_changes=ignored,
            depends_on=[*traffic.rules, *start_after, *(native.role_policies if native else [])],
        ),
    )
    if svc.autoscaling:
        _build_autoscaling(part, service)
    return service


def _build_autoscaling(part: Part, service: aws.ecs.Service) -> None:
    scaling = part.args.service.autoscaling
    assert scaling is not None
    scaling_target = aws.appautoscaling.Target(
        f"{part.name}-scaling-target",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", part.args.cluster_name, "/", service.name),
        min_capacity=scaling.min_count,
        max_capacity=scaling.max_count,
        opts=part.child,
    )
    aws.appautoscaling.Policy(
        f"{part.name}-scaling-cpu",
        name=f"{part.base}-cpu",
        policy_type="TargetTrackingScaling",
        service_namespace=scaling_target.service_namespace,
        scalable_dimension=scaling_target.scalable_dimension,
        resource_id=scaling_target.resource_id,
        target_tracking_scaling_policy_configuration={
            "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
            "target_value": scaling.cpu_target_percent,
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 60,
        },
        # PutScalingPolicy overwrites a policy of the same name (see the execution policy).
        opts=part.named,
    )
