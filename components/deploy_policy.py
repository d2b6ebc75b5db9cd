"""The application deploy role's permissions: what `rampart snapshot`, `migrate`, `deploy`, `smoke --via-task` and
`verify` call, on this stack's resources only. The IAM contract test (tests/contracts/test_iam_contract.py) replays
those commands on moto and proves every call allowed, and every grant used or justified."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SNAPSHOT_TAG_KEY = "rampart:managed-by"
SNAPSHOT_TAG_VALUE = "rampart-snapshot"
"""The tag `rampart snapshot` puts on the manual snapshots it takes; the role may delete only those."""


def deploy_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    cluster_arn: str,
    service_arns: Sequence[str],
    families: Sequence[str],
    pass_role_arns: Sequence[str],
    applications: Sequence[str],
    groups: Sequence[str],
    repository_arns: Sequence[str],
    db_instance_arns: Sequence[str],
    log_group_arns: Sequence[str],
    native_service_arns: Sequence[str] = (),
    stack_key_arn: str | None = None,
) -> dict[str, Any]:
    """What one deploy needs: register and roll a task definition through CodeDeploy, run the migration task,
    push images, snapshot the database first, read logs and alarms. Nothing else."""
    scope = _Scope(partition, region, account_id)
    statements = [
        *_ecs_statements(scope, cluster_arn, families, service_arns),
        *_codedeploy_statements(scope, applications, groups),
        *ecs_native_statements(native_service_arns),
        *_image_and_alarm_statements(scope, pass_role_arns, repository_arns),
        *(_rds_statements(scope, db_instance_arns) if db_instance_arns else []),
        *(_restore_statements(scope, db_instance_arns, stack_key_arn) if db_instance_arns else []),
        *([_logs_statement(log_group_arns)] if log_group_arns else []),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


class _Scope:
    """The ARN prefix of this stack's partition, region and account."""

    def __init__(self, partition: str, region: str, account_id: str) -> None:
        self.arn, self.region, self.account_id = f"arn:{partition}", region, account_id

    def of(self, service: str) -> str:
        return f"{self.arn}:{service}:{self.region}:{self.account_id}"


def _ecs_statements(scope: _Scope, cluster_arn: str, families: Sequence[str],
                    service_arns: Sequence[str]) -> list[dict[str, Any]]:
    cluster_name = cluster_arn.rsplit("/", 1)[-1]
    task_definitions = [f"{scope.of('ecs')}:task-definition/{family}:*" for family in families]
    tasks = f"{scope.of('ecs')}:task/{cluster_name}/*"
    return [
    {
        "Sid": "EcsTaskDefinitions",
        "Effect": "Allow",
        # These two actions support no resource-level permissions: "*" is the only valid resource.
        "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
        "Resource": "*",
    },
    {
        "Sid": "EcsTagOnCreate",
        "Effect": "Allow",
        "Action": "ecs:TagResource",
        "Resource": [*task_definitions, tasks],
        "Condition": {"StringEquals": {"ecs:CreateAction": ["RegisterTaskDefinition", "RunTask"]}},
    },
    {
        "Sid": "EcsRunMigrationTask",
        "Effect": "Allow",
        "Action": "ecs:RunTask",
        "Resource": task_definitions,
        "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
    },
    {
        "Sid": "EcsWatchTasks",
        "Effect": "Allow",
        "Action": ["ecs:DescribeTasks"],
        "Resource": tasks,
    },
    {
        "Sid": "EcsServices",
        "Effect": "Allow",
        "Action": "ecs:DescribeServices",
        "Resource": list(service_arns),
    },
    ]


def _codedeploy_statements(scope: _Scope, applications: Sequence[str],
                           groups: Sequence[str]) -> list[dict[str, Any]]:
    codedeploy = scope.of("codedeploy")
    return [
    {
        "Sid": "CodeDeployDeployments",
        "Effect": "Allow",
        "Action": [
            "codedeploy:CreateDeployment",
            "codedeploy:GetDeployment",
            "codedeploy:GetDeploymentGroup",
        ],
        "Resource": [f"{codedeploy}:deploymentgroup:{app}/{group}" for app in applications for group in groups],
    },
    {
        "Sid": "CodeDeployReleaseOrStop",
        "Effect": "Allow",
        # Release green after the smoke test, or stop with rollback. Neither action supports resource-level
        # permissions (Service Authorization Reference): a deployment-group ARN here would never match.
        "Action": ["codedeploy:ContinueDeployment", "codedeploy:StopDeployment"],
        "Resource": "*",
    },
    ]


def _image_and_alarm_statements(scope: _Scope, pass_role_arns: Sequence[str],
                                repository_arns: Sequence[str]) -> list[dict[str, Any]]:
    arn, region, account_id = scope.arn, scope.region, scope.account_id
    return [
    {
        "Sid": "PassTaskRolesToEcsOnly",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": list(pass_role_arns),
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    },
    {
        "Sid": "EcrLogin",
        "Effect": "Allow",
        # The registry token is account-wide and the action has no resource-level permissions.
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    },
    {
        "Sid": "EcrPush",
        "Effect": "Allow",
        # deploy-stack.yml builds the image from the commit and pushes it here: exactly what a push calls (the
        # registry's HEAD and PUT of blobs and manifests), nothing that lists or pulls.
        "Action": [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload",
            "ecr:InitiateLayerUpload",
            "ecr:PutImage",
            "ecr:UploadLayerPart",
        ],
        "Resource": list(repository_arns),
    },
    {
        "Sid": "CloudWatchAlarms",
        "Effect": "Allow",
        "Action": "cloudwatch:DescribeAlarms",
        "Resource": f"{arn}:cloudwatch:{region}:{account_id}:alarm:*",
    },
    ]


def ecs_native_statements(service_arns: Sequence[str], *, rollback: bool = False) -> list[dict[str, Any]]:
    """What `rampart deploy` / `rampart rollback` call for ECS-native blue/green services (rampart/ops/ecs_native*.py):
    UpdateService, and following, continuing past the smoke gate's pause hook, or stopping with rollback their
    service deployments; a rollback also reads the revision it returns to. Nothing for a stack without such a
    service. The Service Authorization Reference lists the service and the service deployment (or revision) as
    resource types of these actions: both are named, and only these services'."""
    if not service_arns:
        return []
    deployments = [f"{arn.replace(':service/', ':service-deployment/', 1)}/*" for arn in service_arns]
    statements: list[dict[str, Any]] = [
        {"Sid": "EcsNativeStartDeployments", "Effect": "Allow",
         "Action": ["ecs:UpdateService", "ecs:ListServiceDeployments"], "Resource": list(service_arns)},
        {"Sid": "EcsNativeFollowDeployments", "Effect": "Allow",
         "Action": ["ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"],
         "Resource": [*service_arns, *deployments]},
    ]
    if rollback:
        revisions = [f"{arn.replace(':service/', ':service-revision/', 1)}/*" for arn in service_arns]
        statements.append({"Sid": "EcsNativeReadRevisions", "Effect": "Allow", "Action": "ecs:DescribeServiceRevisions",
                           "Resource": [*service_arns, *revisions]})
    return statements


def _tag_conditioned(sid: str, action: str | list[str], resource: str | list[str], tag: str, key: str,
                     value: str) -> dict[str, Any]:
    """An RDS grant that holds only with our tag: `RequestTag`, the call must set it (creating our own resource);
    `ResourceTag`, the resource must already carry it (touching only what we created)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
        "Condition": {"StringEquals": {f"aws:{tag}/{key}": value}},
    }


def _rds_statements(scope: _Scope, db_instance_arns: Sequence[str]) -> list[dict[str, Any]]:
    snapshots = f"{scope.of('rds')}:snapshot:*"
    return [
        {
            "Sid": "RdsSnapshotSource",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBInstances", "rds:CreateDBSnapshot"],
            "Resource": list(db_instance_arns),
        },
        _tag_conditioned("RdsCreateOurSnapshots", ["rds:CreateDBSnapshot", "rds:AddTagsToResource"], snapshots,
                         "RequestTag", SNAPSHOT_TAG_KEY, SNAPSHOT_TAG_VALUE),
        {
            "Sid": "RdsListSnapshots",
            "Effect": "Allow",
            # Listing cannot be conditioned on a tag (no single resource yet); it only reads metadata.
            "Action": "rds:DescribeDBSnapshots",
            "Resource": [*db_instance_arns, snapshots],
        },
        # Automated and foreign snapshots lack the tag, so they can never be deleted by a deploy.
        _tag_conditioned("RdsPruneOurSnapshots", "rds:DeleteDBSnapshot", snapshots,
                         "ResourceTag", SNAPSHOT_TAG_KEY, SNAPSHOT_TAG_VALUE),
    ]


RESTORED_BY_KEY = "rampart:restored-by"
RESTORED_BY_VALUE = "rampart-restore"
"""The tag `rampart restore` puts on the instances it creates; the role may modify and delete only those."""


def _restore_statements(scope: _Scope, db_instance_arns: Sequence[str],
                        stack_key_arn: str | None) -> list[dict[str, Any]]:
    """`rampart restore --latest-restorable --discard` (restore-rehearsal.yml): a point-in-time copy of the stack's
    instance into `<instance>-restore-*`, with the instance's own subnet and parameter groups (components/
    database.py names them `<instance>-subnets` / `-params`), deleted again after it is measured. The copy keeps
    the source's key, the stack key (components/database.py encrypts storage and the master secret with it), so
    the KMS grants name that key alone; without it (an unencrypted source) none is granted."""
    rds = scope.of("rds")
    copies = [f"{arn}-restore-*" for arn in db_instance_arns]
    names = [arn.rsplit(":", 1)[-1] for arn in db_instance_arns]
    statements = [
        {
            "Sid": "RdsRestoreFromOurInstance",
            "Effect": "Allow",
            "Action": "rds:RestoreDBInstanceToPointInTime",
            "Resource": [*db_instance_arns, *(f"{rds}:subgrp:{n}-*" for n in names),
                         *(f"{rds}:pg:{n}-*" for n in names)],
        },
        _tag_conditioned("RdsRestoreIntoTaggedCopies", ["rds:RestoreDBInstanceToPointInTime", "rds:AddTagsToResource"],
                         copies, "RequestTag", RESTORED_BY_KEY, RESTORED_BY_VALUE),
        {
            "Sid": "RdsWatchOurCopies",
            "Effect": "Allow",
            "Action": "rds:DescribeDBInstances",
            "Resource": copies,
        },
        # Only instances `rampart restore` tagged as its own: the stack's instance is never modified or deleted.
        _tag_conditioned("RdsDiscardOurCopies", ["rds:ModifyDBInstance", "rds:DeleteDBInstance"], copies,
                         "ResourceTag", RESTORED_BY_KEY, RESTORED_BY_VALUE),
        {
            "Sid": "KmsGrantForRestoredStorage",
            "Effect": "Allow",
            # RDS grants itself the encrypted storage's key with the caller's permissions: only when RDS asks.
            "Action": "kms:CreateGrant",
            "Resource": stack_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"rds.{scope.region}.amazonaws.com"},
                          "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "KmsDescribeForRestoredStorage",
            "Effect": "Allow",
            "Action": "kms:DescribeKey",
            "Resource": stack_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"rds.{scope.region}.amazonaws.com"}},
        },
        {
            "Sid": "RdsManagedSecretOfTheCopy",
            "Effect": "Allow",
            # ManageMasterUserPassword: RDS creates the copy's own master secret as the caller.
            "Action": ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
            "Resource": f"{scope.of('secretsmanager')}:secret:rds!db-*",
        },
        {
            "Sid": "KmsEncryptTheCopysSecret",
            "Effect": "Allow",
            # Secrets Manager encrypts that secret's first version with the stack key, as the caller.
            "Action": "kms:GenerateDataKey",
            "Resource": stack_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{scope.region}.amazonaws.com"}},
        },
    ]
    return [statement for statement in statements if statement["Resource"] is not None]


def _logs_statement(log_group_arns: Sequence[str]) -> dict[str, Any]:
    bare = [group.removesuffix(":*") for group in log_group_arns]
    return {
        "Sid": "ReadDeployLogs",
        "Effect": "Allow",
        # `rampart migrate` prints its task's stream; GetLogEvents is authorised on the stream ARN.
        "Action": "logs:GetLogEvents",
        "Resource": [f"{group}:log-stream:*" for group in bare],
    }
