"""Roles: the execution role (ECS pulls the image, writes logs, reads this service's secrets), the task role (the
application's own identity, empty by default) and the CodeDeploy service role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part
from components.blue_green.naming import IAM_ROLE_NAME_LIMIT, fit_name
from components.service_trust import service_trust


def service_trust_policy(
    principal: str, cluster_arn: pulumi.Input[str], service: str, partition: str, region: str
) -> pulumi.Output[str]:
    """Trust for an AWS service principal, limited to requests made on behalf of this account (confused
    deputy): the account is the cluster's."""

    def render(arn: str) -> str:
        account = arn.split(":")[4]
        return service_trust(principal, account, source_arn=f"arn:{partition}:{service}:{region}:{account}:*")

    return pulumi.Output.from_input(cluster_arn).apply(render)


def execution_policy(values: list[Any], region: str) -> str:
    """Pull this repository, write this log group, and (only if it has any) read exactly these secrets."""
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
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class TaskRoles:
    execution_role: aws.iam.Role
    execution_policy: aws.iam.RolePolicy
    """Tasks must not start before it exists (they read their secrets with it)."""
    task_role: aws.iam.Role


def build_task_roles(
    part: Part, repository: aws.ecr.Repository, log_group: aws.cloudwatch.LogGroup
) -> TaskRoles:
    args, base = part.args, part.base
    ecs_trust = service_trust_policy("ecs-tasks.amazonaws.com", args.cluster_arn, "ecs", part.partition, args.region)
    execution_role = aws.iam.Role(
        f"{part.name}-execution-role",
        name=fit_name(f"{base}-execution", IAM_ROLE_NAME_LIMIT),
        description=f"ECS task execution role of {base}: image pull, logs, its own secrets",
        assume_role_policy=ecs_trust,
        max_session_duration=3600,
        opts=part.named,
    )
    policy = aws.iam.RolePolicy(
        f"{part.name}-execution-policy",
        role=execution_role.id,
        name="execution",
        policy=pulumi.Output.all(repository.arn, log_group.arn, args.kms_key_arn, *args.secret_arns).apply(
            lambda values: execution_policy(values, args.region)
        ),
        # PutRolePolicy overwrites a policy of the same name: create-before-delete would put the new one and
        # then delete it as the old one.
        opts=part.named,
    )
    # The application's own identity: separate from the execution role so app code never holds the
    # secret-reading and image-pulling permissions, and empty until the application needs something.
    task_role = aws.iam.Role(
        f"{part.name}-task-role",
        name=fit_name(f"{base}-task", IAM_ROLE_NAME_LIMIT),
        description=f"Application role of {base} (no permissions by default)",
        assume_role_policy=ecs_trust,
        max_session_duration=3600,
        opts=part.named,
    )
    return TaskRoles(execution_role, policy, task_role)


def build_codedeploy_role(part: Part) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """The CodeDeploy service role, and the policies the deployment group must wait for."""
    args, base = part.args, part.base
    role = aws.iam.Role(
        f"{part.name}-codedeploy-role",
        name=fit_name(f"{base}-codedeploy", IAM_ROLE_NAME_LIMIT),
        description=f"CodeDeploy service role of {base}",
        assume_role_policy=service_trust_policy(
            "codedeploy.amazonaws.com", args.cluster_arn, "codedeploy", part.partition, args.region
        ),
        max_session_duration=3600,
        opts=part.named,
    )
    managed = aws.iam.RolePolicyAttachment(
        f"{part.name}-codedeploy-managed",
        role=role.name,
        policy_arn=f"arn:{part.partition}:iam::aws:policy/AWSCodeDeployRoleForECS",
        opts=part.child,
    )
    notify = aws.iam.RolePolicy(
        f"{part.name}-codedeploy-notify",
        role=role.id,
        name="notify",
        # The notification topic is encrypted with the stack key: publishing needs the key, via SNS only.
        policy=pulumi.Output.from_input(args.kms_key_arn).apply(lambda key: _notify_policy(key, args.region)),
        opts=part.named,
    )
    return role, [managed, notify]


def _notify_policy(key_arn: str, region: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublishToEncryptedTopic",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
                }
            ],
        }
    )
