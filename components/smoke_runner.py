"""SmokeRunner: a small Fargate task that runs the smoke checks from inside the VPC (`rampart deploy --smoke-task`).

The ALB is internet-facing, so even a client inside the VPC reaches its test listener through the NAT gateways,
with a NAT Elastic IP as its source: that is what the test listener admits (components/load_balancer.py). The
task is nothing but curl: a public image pinned by digest, read-only root filesystem, non-root, no capabilities,
logs to its own encrypted log group. Its execution role may only write that log group (a public image needs no
registry login); its task role holds no permission at all (the pack requires one, so the container never gets
the execution role's rights by accident).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.service_trust import service_trust

SMOKE_IMAGE = (
    "public.ecr.aws/curlimages/curl:8.11.1"
    "@sha256:c1fe1679c34d9784c1b0d1e5f62ac0a79fca01fb6377cdd33e90473c6f9f9a69"
)
"""curl 8.11.1, the multi-arch index digest the curl image project publishes (the same content on Docker Hub)."""
CONTAINER_NAME = "smoke"
STREAM_PREFIX = "smoke"
CURL_USER = "100:101"
"""`curl_user` of the curlimages image: never root."""
HTTPS_PORT = 443
_DIGEST = re.compile(r"^[^\s@]+@sha256:[a-f0-9]{64}$")


@dataclass(frozen=True, kw_only=True)
class SmokeRunnerArgs:
    name_prefix: str
    """Stack prefix: the task definition family is `<name_prefix>-smoke`."""
    account_id: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    """Encrypts the log group (its key policy admits the logs service)."""
    log_retention_days: int
    test_listener_port: int
    """The port the checks connect to (the ALB's test listener)."""
    image: str = SMOKE_IMAGE
    """A curl image pinned by digest (a tag can be moved under the gate)."""


def _validate(args: SmokeRunnerArgs) -> None:
    if not isinstance(args.name_prefix, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,200}", args.name_prefix):
        raise ValueError(f"SmokeRunnerArgs.name_prefix: expected lowercase letters, digits and -, got "
                         f"{args.name_prefix!r}")
    if not isinstance(args.image, str) or not _DIGEST.match(args.image):
        raise ValueError(f"SmokeRunnerArgs.image: expected an image pinned by digest (<image>@sha256:<64 hex>), "
                         f"got {args.image!r}")
    port = args.test_listener_port
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"SmokeRunnerArgs.test_listener_port: expected a port in 1..65535, got {port!r}")
    days = args.log_retention_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"SmokeRunnerArgs.log_retention_days: expected an integer >= 1, got {days!r}")


def _execution_policy(log_group_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "WriteThisLogGroup", "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:log-stream:*",
    }]})


def container_definitions(image: str, log_group_name: str, region: str) -> str:
    return json.dumps([{
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "user": CURL_USER,
        "privileged": False,
        "readonlyRootFilesystem": True,
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True},
        # `rampart deploy --smoke-task` overrides it with the checks; alone the task only proves curl starts.
        "command": ["curl", "--version"],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group_name, "awslogs-region": region, "awslogs-stream-prefix": STREAM_PREFIX}},
    }])


class SmokeRunner(pulumi.ComponentResource):
    family: str
    """Task definition family (`rampart deploy --smoke-task` runs its latest ACTIVE revision)."""
    container_name: str
    task_definition_arn: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    """The task's group: no ingress; egress only to the test listener port and HTTPS."""
    log_group_name: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SmokeRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("rampart:index:SmokeRunner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Fixed names (the log group's, the inline policy's) collide with themselves on a create-before-delete.
        named = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        family = f"{args.name_prefix}-smoke"

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/ecs/{family}", retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn, opts=named)
        # Only ECS tasks started for this account may assume it (confused deputy).
        trust = pulumi.Output.from_input(args.account_id).apply(
            lambda account: service_trust("ecs-tasks.amazonaws.com", account))
        execution_role = aws.iam.Role(
            f"{name}-execution-role", description=f"ECS execution role of {family}: write its log group, nothing else",
            assume_role_policy=trust, max_session_duration=3600, opts=child)
        execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy", role=execution_role.id, name="execution",
            policy=log_group.arn.apply(_execution_policy), opts=named)
        task_role = aws.iam.Role(
            f"{name}-task-role", description=f"Task role of {family}: no permissions (curl calls no AWS API)",
            assume_role_policy=trust, max_session_duration=3600, opts=child)

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description=f"{family}: no ingress; out to the test listener",
            tags={"Name": family}, opts=child)
        # The ALB's test listener answers on its public addresses (reached through NAT), which move: only the
        # port can be scoped. 443 for the image pull from the public registry, also through NAT.
        for role, port, why in (("test-listener", args.test_listener_port, "Smoke checks to the ALB test listener"),
                                ("https", HTTPS_PORT, "Image pull and logs over HTTPS")):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{role}-out", security_group_id=security_group.id, ip_protocol="tcp", from_port=port,
                to_port=port, cidr_ipv4="0.0.0.0/0", description=why, opts=child)

        task_definition = aws.ecs.TaskDefinition(
            f"{name}-task", family=family, requires_compatibilities=["FARGATE"], network_mode="awsvpc",
            cpu="256", memory="512", execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            container_definitions=log_group.name.apply(
                lambda group: container_definitions(args.image, group, args.region)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[execution_policy]))

        self.family = family
        self.container_name = CONTAINER_NAME
        self.task_definition_arn = task_definition.arn
        self.execution_role_arn = execution_role.arn
        self.task_role_arn = task_role.arn
        self.security_group_id = security_group.id
        self.log_group_name = log_group.name
        self.log_group_arn = log_group.arn
        self.register_outputs({
            "family": family, "containerName": CONTAINER_NAME, "taskDefinitionArn": self.task_definition_arn,
            "executionRoleArn": self.execution_role_arn, "taskRoleArn": self.task_role_arn,
            "securityGroupId": self.security_group_id, "logGroupName": self.log_group_name,
        })
