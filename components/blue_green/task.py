"""The task: its security group (in from the load balancer, out over HTTPS only) and its task definition (one
hardened container, secrets by pinned `valueFrom`, revisions kept for rollback)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part
from components.blue_green.roles import TaskRoles
from components.blue_green.spec import ServiceSpec


def build_task_security_group(part: Part) -> aws.ec2.SecurityGroup:
    args, svc = part.args, part.args.service
    security_group = aws.ec2.SecurityGroup(
        f"{part.name}-tasks-sg",
        name=f"{part.base}-tasks",
        description=f"Tasks of {part.base}: ingress from the load balancer only",
        vpc_id=args.vpc_id,
        # Rules are separate resources; inline rules would fight them (and other components' rules).
        opts=part.named,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{part.name}-tasks-from-alb",
        security_group_id=security_group.id,
        referenced_security_group_id=args.load_balancer_security_group_id,
        ip_protocol="tcp",
        from_port=svc.container_port,
        to_port=svc.container_port,
        description="Load balancer to the container port",
        opts=part.child,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{part.name}-tasks-https-out",
        security_group_id=security_group.id,
        # AWS APIs (ECR, S3 image layers, logs, Secrets Manager) are reached over HTTPS through the NAT
        # gateways, whose addresses are not fixed: only the port can be scoped.
        cidr_ipv4="0.0.0.0/0",
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        description="HTTPS to AWS APIs through NAT",
        opts=part.child,
    )
    return security_group


def container_definition(
    svc: ServiceSpec, region: str, log_group_name: str, secrets: list[tuple[str, str]]
) -> dict[str, Any]:
    """The one essential container: read-only root, no capabilities, non-root, secrets by `valueFrom` only
    (`secrets`: environment variable name -> pinned `valueFrom`, sorted)."""
    health_check_command = list(svc.container_health_check or (
        "CMD-SHELL",
        f"curl -fsS -o /dev/null http://localhost:{svc.container_port}{svc.health_check_path} || exit 1",
    ))
    return {
        "name": svc.name,
        "image": svc.image,
        "essential": True,
        "user": svc.user,
        "privileged": False,
        "readonlyRootFilesystem": True,
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True},
        "portMappings": [{"containerPort": svc.container_port, "hostPort": svc.container_port, "protocol": "tcp"}],
        "healthCheck": {
            "command": health_check_command,
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        },
        "environment": [{"name": k, "value": v} for k, v in sorted(svc.environment.items())],
        "secrets": [{"name": key, "valueFrom": value_from} for key, value_from in secrets],
        # The root filesystem is read-only; /tmp is the one writable scratch space.
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],  # noqa: S108
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": region,
                "awslogs-stream-prefix": svc.name,
            },
        },
    }


def build_task_definition(
    part: Part, roles: TaskRoles, log_group: aws.cloudwatch.LogGroup
) -> aws.ecs.TaskDefinition | None:
    """None while the service awaits its first image."""
    if part.awaiting:
        return None
    args, svc = part.args, part.args.service
    secret_names = sorted(args.secrets)

    def container_definitions(values: list[Any]) -> str:
        log_group_name, *value_froms = values
        secrets = list(zip(secret_names, value_froms, strict=True))
        return json.dumps([container_definition(svc, args.region, log_group_name, secrets)])

    return aws.ecs.TaskDefinition(
        f"{part.name}-task",
        family=part.base,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(svc.cpu),
        memory=str(svc.memory),
        execution_role_arn=roles.execution_role.arn,
        task_role_arn=roles.task_role.arn,
        volumes=[{"name": "tmp"}],
        container_definitions=pulumi.Output.all(log_group.name, *(args.secrets[k] for k in secret_names)).apply(
            container_definitions
        ),
        # Old revisions stay registered: CodeDeploy rolls back to them (trap 1).
        skip_destroy=True,
        opts=part.child,
    )
