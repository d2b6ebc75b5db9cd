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
11. the traffic control is one field (`traffic_control`) so ECS-native blue/green can be added beside it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.aws_partition import partition_of
from components.deployment_alarms import DeploymentAlarms, DeploymentAlarmsArgs, detection_seconds
from infra.config import AlarmsConfig, DeploymentConfig, ServiceConfig

# ALB target group names: at most 32 characters, letters, digits and hyphens, no hyphen at either end.
TARGET_GROUP_NAME_LIMIT = 32
IAM_ROLE_NAME_LIMIT = 64
DEPLOYMENT_CONFIG_NAME_LIMIT = 100
# An ALB rule takes at most five condition values in total.
MAX_PATH_PATTERNS = 5
# Release images kept in ECR: every one of them is a possible rollback target.
KEEP_RELEASE_IMAGES = 30
UNTAGGED_IMAGE_DAYS = 14
# Long enough for the container to start and pass its first ALB checks (3 x 15 s) before ECS judges it.
HEALTH_CHECK_GRACE_SECONDS = 60
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
DEPLOYMENT_TRIGGER_EVENTS = (
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
)
ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
ALL_AT_ONCE = "CodeDeployDefault.ECSAllAtOnce"
_STRATEGY_ROUTING = {"canary": "TimeBasedCanary", "linear": "TimeBasedLinear"}
_NAME_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ELB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class BlueGreenServiceArgs:
    service: ServiceConfig
    deployment: DeploymentConfig
    alarms: AlarmsConfig
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
    traffic_control: Literal["CODE_DEPLOY"] = "CODE_DEPLOY"
    """How traffic moves between blue and green; ECS-native blue/green would be a second value."""


def fit_name(name: str, limit: int) -> str:
    """`name` if it fits, else a prefix of it plus a short digest of the whole, so names stay unique."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - len(digest) - 1].rstrip('-')}-{digest}"


def target_group_name(base: str, colour: str) -> str:
    """`<base>-<colour>` within the ALB's 32 characters, the colour kept at the end to stay readable."""
    name = f"{base}-{colour}"
    if len(name) > TARGET_GROUP_NAME_LIMIT:
        digest = hashlib.sha256(base.encode()).hexdigest()[:6]
        head = base[: TARGET_GROUP_NAME_LIMIT - len(colour) - len(digest) - 2].rstrip("-")
        name = f"{head}-{digest}-{colour}"
    if len(name) > TARGET_GROUP_NAME_LIMIT or not _ELB_NAME.match(name) or name.startswith("internal-"):
        raise ValueError(
            f"BlueGreenServiceArgs.name_prefix: expected a prefix giving a valid target group name "
            f"(<= {TARGET_GROUP_NAME_LIMIT} letters, digits, hyphens), got {name!r}"
        )
    return name


def _validate(args: BlueGreenServiceArgs) -> None:
    def fail(field: str, expected: str, got: Any) -> None:
        raise ValueError(f"BlueGreenServiceArgs.{field}: expected {expected}, got {got!r}")

    for field, model in (("service", ServiceConfig), ("deployment", DeploymentConfig), ("alarms", AlarmsConfig)):
        if not isinstance(getattr(args, field), model):
            fail(field, f"a {model.__name__}", type(getattr(args, field)).__name__)
    if args.traffic_control != "CODE_DEPLOY":
        fail("traffic_control", "'CODE_DEPLOY' (the only traffic control implemented)", args.traffic_control)
    if not isinstance(args.name_prefix, str) or not _NAME_PREFIX.match(args.name_prefix):
        fail("name_prefix", "lower-case letters, digits and inner hyphens", args.name_prefix)
    if not isinstance(args.environment, str) or not args.environment:
        fail("environment", "a non-empty environment name", args.environment)
    if not isinstance(args.region, str) or not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", args.region):
        fail("region", "an AWS region such as us-east-1", args.region)
    if isinstance(args.log_retention_days, bool) or not isinstance(args.log_retention_days, int):
        fail("log_retention_days", "an int", args.log_retention_days)
    if args.log_retention_days < 1:
        fail("log_retention_days", "at least 1 day (0 keeps logs forever, unbounded)", args.log_retention_days)
    subnets = args.private_subnet_ids
    minimum_subnets = 2 if args.environment == "production" else 1
    if isinstance(subnets, str) or len(subnets) < minimum_subnets:
        fail("private_subnet_ids", f"at least {minimum_subnets} private subnets", subnets)
    if isinstance(args.secret_arns, str):
        fail("secret_arns", "a sequence of secret ARNs", args.secret_arns)
    bad_names = sorted(k for k in args.secrets if not _ENV_NAME.match(k))
    if bad_names:
        fail("secrets", "environment variable names as keys", bad_names)
    clash = sorted(set(args.secrets) & set(args.service.environment))
    if clash:
        fail("secrets", "names not also set in service.environment", clash)
    if args.secrets and not args.secret_arns:
        fail("secret_arns", "the ARNs of the injected secrets (the execution role reads only these)", [])
    uid = args.service.user.split(":", 1)[0]
    if int(uid) == 0:
        fail("service.user", "a non-root numeric uid", args.service.user)
    if len(args.service.path_patterns) > MAX_PATH_PATTERNS:
        fail(
            "service.path_patterns",
            f"at most {MAX_PATH_PATTERNS} patterns (ALB rule limit)",
            args.service.path_patterns,
        )
    detection = detection_seconds(args.alarms)
    wait = args.deployment.termination_wait_minutes * 60
    if wait <= detection:
        fail(
            "deployment.termination_wait_minutes",
            f"a wait longer than the alarm detection window ({detection}s), or rollback finds blue gone",
            args.deployment.termination_wait_minutes,
        )
    if args.deployment.strategy in _STRATEGY_ROUTING and args.deployment.interval_minutes * 60 < detection:
        fail(
            "deployment.interval_minutes",
            f"an interval at least as long as the alarm detection window ({detection}s), "
            "or traffic shifts on before the alarms can see the first step",
            args.deployment.interval_minutes,
        )


def planned_service_arn(cluster_arn: pulumi.Input[str], service_name: str) -> pulumi.Output[str]:
    """The ARN an ECS service of this name in this cluster gets (the long ARN format)."""
    return pulumi.Output.from_input(cluster_arn).apply(
        lambda arn: f"{arn.replace(':cluster/', ':service/', 1)}/{service_name}"
    )


def _service_trust_policy(
    principal: str, cluster_arn: pulumi.Input[str], service: str, partition: str, region: str
) -> pulumi.Output[str]:
    """Trust for an AWS service principal, limited to requests made on behalf of this account (confused
    deputy): the account is the cluster's."""

    def render(arn: str) -> str:
        account = arn.split(":")[4]
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": principal},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": account},
                            "ArnLike": {"aws:SourceArn": f"arn:{partition}:{service}:{region}:{account}:*"},
                        },
                    }
                ],
            }
        )

    return pulumi.Output.from_input(cluster_arn).apply(render)


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
    codedeploy_application_name: pulumi.Output[str]
    """CodeDeploy application deployments are created in."""
    deployment_group_name: pulumi.Output[str]
    """CodeDeploy deployment group deployments are created in."""
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
        _validate(args)
        svc = args.service
        base = f"{args.name_prefix}-{svc.name}"
        partition = partition_of(args.region)
        production = args.environment == "production"
        child = pulumi.ResourceOptions(parent=self)
        # Resources under a fixed physical name that forces replacement: Pulumi replaces create-before-delete, so
        # the replacement would collide with the old resource (tests/infra/test_replace_collisions.py). The names
        # stay fixed (renaming would replace each one on existing stacks): CodeDeploy addresses the target groups by
        # name, the CI roles' policies match `<prefix>-*` roles, images are pushed to the repository by name.
        named = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        # A new stack's first `up` creates the repository the image is pushed to, so no image exists yet: what
        # needs one (task definition, service, its autoscaling and alarms, deployment group) waits for it.
        awaiting = svc.awaiting_image

        # Image repository -------------------------------------------------------------------------------
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=base,
            # Tags are never moved: the digest a deployment names is the image that runs, and rollback targets
            # cannot be overwritten.
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            force_delete=False,
            # Delete-before-replace never loses images: without force_delete, AWS refuses to delete a non-empty
            # repository, so a replacement stops there instead of colliding with the old name.
            opts=pulumi.ResourceOptions(parent=self, protect=production, delete_before_replace=True),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-repository-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"Expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": UNTAGGED_IMAGE_DAYS,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"Keep the newest {KEEP_RELEASE_IMAGES} release images (rollback targets)",
                            "selection": {
                                "tagStatus": "tagged",
                                "tagPatternList": ["*"],
                                "countType": "imageCountMoreThan",
                                "countNumber": KEEP_RELEASE_IMAGES,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=child,
        )

        # Logs -------------------------------------------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/ecs/{base}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=named,
        )

        # Roles ------------------------------------------------------------------------------------------
        ecs_trust = _service_trust_policy("ecs-tasks.amazonaws.com", args.cluster_arn, "ecs", partition, args.region)
        execution_role = aws.iam.Role(
            f"{name}-execution-role",
            name=fit_name(f"{base}-execution", IAM_ROLE_NAME_LIMIT),
            description=f"ECS task execution role of {base}: image pull, logs, its own secrets",
            assume_role_policy=ecs_trust,
            max_session_duration=3600,
            opts=named,
        )
        secret_arns = list(args.secret_arns)

        def execution_policy(values: list[Any]) -> str:
            repository_arn, log_group_arn, kms_key_arn, *secrets = values
            statements: list[dict[str, Any]] = [
                {
                    "Sid": "PullThisRepository",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Resource": repository_arn,
                },
                {
                    # GetAuthorizationToken has no resource type: IAM only accepts "*" for it. It grants a
                    # registry login, not access to any repository's images.
                    "Sid": "RegistryLogin",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "WriteThisLogGroup",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:log-stream:*",
                },
            ]
            if secrets:
                statements += [
                    {
                        "Sid": "ReadThisServicesSecrets",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": sorted(secrets),
                    },
                    {
                        # The secrets are encrypted with the stack key; decrypt only on Secrets Manager's behalf.
                        "Sid": "DecryptSecrets",
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": kms_key_arn,
                        "Condition": {
                            "StringEquals": {"kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"}
                        },
                    },
                ]
            return json.dumps({"Version": "2012-10-17", "Statement": statements})

        execution_role_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=execution_role.id,
            name="execution",
            policy=pulumi.Output.all(repository.arn, log_group.arn, args.kms_key_arn, *secret_arns).apply(
                execution_policy
            ),
            # PutRolePolicy overwrites a policy of the same name: create-before-delete would put the new one and
            # then delete it as the old one.
            opts=named,
        )
        # The application's own identity: separate from the execution role so app code never holds the
        # secret-reading and image-pulling permissions, and empty until the application needs something.
        task_role = aws.iam.Role(
            f"{name}-task-role",
            name=fit_name(f"{base}-task", IAM_ROLE_NAME_LIMIT),
            description=f"Application role of {base} (no permissions by default)",
            assume_role_policy=ecs_trust,
            max_session_duration=3600,
            opts=named,
        )

        # Network ----------------------------------------------------------------------------------------
        security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks-sg",
            name=f"{base}-tasks",
            description=f"Tasks of {base}: ingress from the load balancer only",
            vpc_id=args.vpc_id,
            # Rules are separate resources; inline rules would fight them (and other components' rules).
            opts=named,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-from-alb",
            security_group_id=security_group.id,
            referenced_security_group_id=args.load_balancer_security_group_id,
            ip_protocol="tcp",
            from_port=svc.container_port,
            to_port=svc.container_port,
            description="Load balancer to the container port",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https-out",
            security_group_id=security_group.id,
            # AWS APIs (ECR, S3 image layers, logs, Secrets Manager) are reached over HTTPS through the NAT
            # gateways, whose addresses are not fixed: only the port can be scoped.
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS to AWS APIs through NAT",
            opts=child,
        )

        # Task definition --------------------------------------------------------------------------------
        health_check_command = list(svc.container_health_check or (
            "CMD-SHELL",
            f"curl -fsS -o /dev/null http://localhost:{svc.container_port}{svc.health_check_path} || exit 1",
        ))
        secret_items = sorted(args.secrets.items())

        def container_definitions(values: list[Any]) -> str:
            log_group_name, *value_froms = values
            container = {
                "name": svc.name,
                "image": svc.image,
                "essential": True,
                "user": svc.user,
                "privileged": False,
                "readonlyRootFilesystem": True,
                "linuxParameters": {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True},
                "portMappings": [
                    {"containerPort": svc.container_port, "hostPort": svc.container_port, "protocol": "tcp"}
                ],
                "healthCheck": {
                    "command": health_check_command,
                    "interval": 15,
                    "timeout": 5,
                    "retries": 3,
                    "startPeriod": 30,
                },
                "environment": [{"name": k, "value": v} for k, v in sorted(svc.environment.items())],
                "secrets": [
                    {"name": key, "valueFrom": value_from}
                    for (key, _), value_from in zip(secret_items, value_froms, strict=True)
                ],
                # The root filesystem is read-only; /tmp is the one writable scratch space.
                "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],  # noqa: S108
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group_name,
                        "awslogs-region": args.region,
                        "awslogs-stream-prefix": svc.name,
                    },
                },
            }
            return json.dumps([container])

        task_definition = None if awaiting else aws.ecs.TaskDefinition(
            f"{name}-task",
            family=base,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(svc.cpu),
            memory=str(svc.memory),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            volumes=[{"name": "tmp"}],
            container_definitions=pulumi.Output.all(log_group.name, *(v for _, v in secret_items)).apply(
                container_definitions
            ),
            # Old revisions stay registered: CodeDeploy rolls back to them (trap 1).
            skip_destroy=True,
            opts=child,
        )

        # Target groups and listener rules ---------------------------------------------------------------
        health_check = {**TARGET_HEALTH_CHECK, "enabled": True, "path": svc.health_check_path}
        target_groups = {
            colour: aws.lb.TargetGroup(
                f"{name}-tg-{colour}",
                name=target_group_name(base, colour),
                target_type="ip",
                protocol="HTTP",
                port=svc.container_port,
                vpc_id=args.vpc_id,
                deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
                health_check=health_check,
                opts=named,
            )
            for colour in ("blue", "green")
        }
        blue, green = target_groups["blue"], target_groups["green"]
        rules = [
            aws.lb.ListenerRule(
                f"{name}-{role}-rule",
                listener_arn=listener_arn,
                priority=svc.listener_rule_priority,
                conditions=[{"path_pattern": {"values": list(svc.path_patterns)}}],
                actions=[{"type": "forward", "target_group_arn": blue.arn}],
                # CodeDeploy moves these rules between blue and green; reverting them would send live traffic
                # back to a target group that may be empty (trap 2).
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["actions"]),
            )
            for role, listener_arn in (("production", args.production_listener_arn), ("test", args.test_listener_arn))
        ]

        # Service ----------------------------------------------------------------------------------------
        # CodeDeploy owns these once the service exists; UpdateService refuses them under CODE_DEPLOY (trap 1).
        ignored = ["taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion"]
        if svc.autoscaling:
            ignored.append("desiredCount")
        service = None if awaiting else aws.ecs.Service(
            f"{name}-service",
            # Fixed name, create-before-delete on purpose: replacing the service is an outage, and the collision
            # stops `pulumi up` before anything is deleted; a replacement is a planned move to a new name.
            name=base,
            cluster=args.cluster_arn,
            task_definition=task_definition.arn,
            desired_count=svc.desired_count,
            launch_type="FARGATE",
            platform_version="LATEST",
            deployment_controller={"type": "CODE_DEPLOY"},
            network_configuration={
                "subnets": list(args.private_subnet_ids),
                "security_groups": [security_group.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {"target_group_arn": blue.arn, "container_name": svc.name, "container_port": svc.container_port}
            ],
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
            enable_execute_command=False,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            wait_for_steady_state=False,
            # The target group must be attached to a listener, and the secrets readable, before tasks start.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=ignored, depends_on=[*rules, execution_role_policy]
            ),
        )

        if svc.autoscaling and service is not None:
            scaling_target = aws.appautoscaling.Target(
                f"{name}-scaling-target",
                service_namespace="ecs",
                scalable_dimension="ecs:service:DesiredCount",
                resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", service.name),
                min_capacity=svc.autoscaling.min_count,
                max_capacity=svc.autoscaling.max_count,
                opts=child,
            )
            aws.appautoscaling.Policy(
                f"{name}-scaling-cpu",
                name=f"{base}-cpu",
                policy_type="TargetTrackingScaling",
                service_namespace=scaling_target.service_namespace,
                scalable_dimension=scaling_target.scalable_dimension,
                resource_id=scaling_target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
                    "target_value": svc.autoscaling.cpu_target_percent,
                    "scale_in_cooldown": 300,
                    "scale_out_cooldown": 60,
                },
                # PutScalingPolicy overwrites a policy of the same name (see the execution policy).
                opts=named,
            )

        # Rollback alarms --------------------------------------------------------------------------------
        # Rollback alarms watch a deployment; without a service the running-tasks alarm would only page on-call.
        alarms = None if awaiting else DeploymentAlarms(
            f"{name}-alarms",
            DeploymentAlarmsArgs(
                alarms=args.alarms,
                name_prefix=base,
                load_balancer_arn_suffix=args.load_balancer_arn_suffix,
                target_group_arn_suffixes=[blue.arn_suffix, green.arn_suffix],
                cluster_name=args.cluster_name,
                service_name=service.name,
                desired_count=svc.autoscaling.min_count if svc.autoscaling else svc.desired_count,
                topic_arn=args.notification_topic_arn,
            ),
            opts=child,
        )

        # CodeDeploy -------------------------------------------------------------------------------------
        application = aws.codedeploy.Application(
            f"{name}-codedeploy-app", name=base, compute_platform="ECS", opts=child
        )
        strategy = args.deployment
        if strategy.strategy in _STRATEGY_ROUTING:
            routing = _STRATEGY_ROUTING[strategy.strategy]
            block = "time_based_canary" if strategy.strategy == "canary" else "time_based_linear"
            deployment_config = aws.codedeploy.DeploymentConfig(
                f"{name}-deployment-config",
                # The shape is in the name: a changed shape is a new config, created before the old one goes.
                deployment_config_name=fit_name(
                    f"{base}-{strategy.strategy}-{strategy.traffic_percent}pct-{strategy.interval_minutes}m",
                    DEPLOYMENT_CONFIG_NAME_LIMIT,
                ),
                compute_platform="ECS",
                traffic_routing_config={
                    "type": routing,
                    block: {"percentage": strategy.traffic_percent, "interval": strategy.interval_minutes},
                },
                opts=child,
            )
            deployment_config_name: pulumi.Input[str] = deployment_config.deployment_config_name
        else:
            deployment_config_name = ALL_AT_ONCE

        codedeploy_role = aws.iam.Role(
            f"{name}-codedeploy-role",
            name=fit_name(f"{base}-codedeploy", IAM_ROLE_NAME_LIMIT),
            description=f"CodeDeploy service role of {base}",
            assume_role_policy=_service_trust_policy(
                "codedeploy.amazonaws.com", args.cluster_arn, "codedeploy", partition, args.region
            ),
            max_session_duration=3600,
            opts=named,
        )
        codedeploy_managed = aws.iam.RolePolicyAttachment(
            f"{name}-codedeploy-managed",
            role=codedeploy_role.name,
            policy_arn=f"arn:{partition}:iam::aws:policy/AWSCodeDeployRoleForECS",
            opts=child,
        )
        codedeploy_kms = aws.iam.RolePolicy(
            f"{name}-codedeploy-notify",
            role=codedeploy_role.id,
            name="notify",
            # The notification topic is encrypted with the stack key: publishing needs the key, via SNS only.
            policy=pulumi.Output.from_input(args.kms_key_arn).apply(
                lambda key: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "PublishToEncryptedTopic",
                                "Effect": "Allow",
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                "Resource": key,
                                "Condition": {"StringEquals": {"kms:ViaService": f"sns.{args.region}.amazonaws.com"}},
                            }
                        ],
                    }
                )
            ),
            opts=named,
        )

        ready_option: dict[str, Any]
        if strategy.ready_wait_minutes == 0:
            ready_option = {"action_on_timeout": "CONTINUE_DEPLOYMENT"}
        else:
            # Wait for a manual continue at most this long, then stop (and so roll back) (trap 4).
            ready_option = {"action_on_timeout": "STOP_DEPLOYMENT", "wait_time_in_minutes": strategy.ready_wait_minutes}

        deployment_group = None if awaiting else aws.codedeploy.DeploymentGroup(
            f"{name}-deployment-group",
            app_name=application.name,
            deployment_group_name=base,
            service_role_arn=codedeploy_role.arn,
            deployment_config_name=deployment_config_name,
            deployment_style={"deployment_option": "WITH_TRAFFIC_CONTROL", "deployment_type": "BLUE_GREEN"},
            blue_green_deployment_config={
                "deployment_ready_option": ready_option,
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
                    "target_groups": [{"name": blue.name}, {"name": green.name}],
                }
            },
            # No ECS circuit breaker under CodeDeploy: these are the only automatic way back (trap 4).
            auto_rollback_configuration={"enabled": True, "events": list(ROLLBACK_EVENTS)},
            alarm_configuration={
                "enabled": True,
                "alarms": alarms.alarm_names,
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[codedeploy_managed, codedeploy_kms]),
        )

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
        self.register_outputs(
            {
                "service_name": self.service_name,
                "service_arn": self.service_arn,
                "task_definition_arn": self.task_definition_arn,
                "task_definition_family": self.task_definition_family,
                "container_name": self.container_name,
                "container_port": self.container_port,
                "security_group_id": self.security_group_id,
                "log_group_name": self.log_group_name,
                "log_group_arn": self.log_group_arn,
                "repository_url": self.repository_url,
                "repository_arn": self.repository_arn,
                "task_role_arn": self.task_role_arn,
                "execution_role_arn": self.execution_role_arn,
                "codedeploy_application_name": self.codedeploy_application_name,
                "deployment_group_name": self.deployment_group_name,
                "production_target_group_name": self.production_target_group_name,
                "test_target_group_name": self.test_target_group_name,
                "production_target_group_arn": self.production_target_group_arn,
                "test_target_group_arn": self.test_target_group_arn,
                "alarm_names": self.alarm_names,
                "detection_seconds": self.detection_seconds,
            }
        )
