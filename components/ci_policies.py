"""The permission documents of the CI roles other than the application deploy role: infrastructure (`pulumi up`),
preview/drift (`pulumi preview --refresh`) and emergency rollback. Pure functions of plain values.

REFRESH_READS is the contract between the stack and the preview role: for every resource type the stack declares,
the read calls the AWS provider makes when it refreshes one (its `Read` function; terraform-provider-aws, on which
pulumi-aws is bridged). A test holds that every declared type is listed, and the IAM evaluator proves the preview
and infrastructure roles allow every one of these reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.deploy_policy import ecs_native_statements

REFRESH_READS: dict[str, tuple[str, ...]] = {
    "aws:appautoscaling/policy:Policy": ("application-autoscaling:DescribeScalingPolicies",),
    "aws:appautoscaling/target:Target": (
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:ListTagsForResource",
    ),
    "aws:backup/plan:Plan": ("backup:GetBackupPlan", "backup:ListTags"),
    "aws:backup/selection:Selection": ("backup:GetBackupSelection",),
    "aws:backup/vault:Vault": ("backup:DescribeBackupVault", "backup:ListTags"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs:DescribeLogGroups", "logs:ListTagsForResource"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": (
        "chatbot:DescribeSlackChannelConfigurations",
        "chatbot:ListTagsForResource",
    ),
    "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration": (
        "chatbot:GetMicrosoftTeamsChannelConfiguration",
        "chatbot:ListTagsForResource",
    ),
    "aws:codedeploy/application:Application": ("codedeploy:GetApplication", "codedeploy:ListTagsForResource"),
    "aws:codedeploy/deploymentConfig:DeploymentConfig": ("codedeploy:GetDeploymentConfig",),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": (
        "codedeploy:GetDeploymentGroup",
        "codedeploy:ListTagsForResource",
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("ec2:DescribeSecurityGroups",),
    "aws:ec2/eip:Eip": ("ec2:DescribeAddresses",),
    "aws:ec2/flowLog:FlowLog": ("ec2:DescribeFlowLogs",),
    "aws:ec2/internetGateway:InternetGateway": ("ec2:DescribeInternetGateways",),
    "aws:ec2/natGateway:NatGateway": ("ec2:DescribeNatGateways",),
    "aws:ec2/route:Route": ("ec2:DescribeRouteTables",),
    "aws:ec2/routeTable:RouteTable": ("ec2:DescribeRouteTables",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("ec2:DescribeRouteTables",),
    "aws:ec2/securityGroup:SecurityGroup": ("ec2:DescribeSecurityGroups",),
    "aws:ec2/subnet:Subnet": ("ec2:DescribeSubnets",),
    "aws:ec2/vpc:Vpc": (
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("ec2:DescribeSecurityGroupRules",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("ec2:DescribeSecurityGroupRules",),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("ecr:GetLifecyclePolicy",),
    "aws:ecr/repository:Repository": ("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
    "aws:ecs/cluster:Cluster": ("ecs:DescribeClusters",),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": ("ecs:DescribeClusters",),
    "aws:ecs/service:Service": ("ecs:DescribeServices",),
    "aws:ecs/taskDefinition:TaskDefinition": ("ecs:DescribeTaskDefinition",),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("iam:GetOpenIDConnectProvider",),
    "aws:iam/role:Role": ("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"),
    "aws:iam/rolePolicy:RolePolicy": ("iam:GetRolePolicy",),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("iam:ListAttachedRolePolicies",),
    "aws:kms/alias:Alias": ("kms:ListAliases",),
    "aws:kms/key:Key": ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
    "aws:lb/listener:Listener": ("elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags"),
    "aws:lb/listenerRule:ListenerRule": ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"),
    "aws:lb/loadBalancer:LoadBalancer": (
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
    "aws:lb/targetGroup:TargetGroup": (
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
    "aws:rds/instance:Instance": ("rds:DescribeDBInstances", "rds:ListTagsForResource"),
    "aws:rds/parameterGroup:ParameterGroup": (
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:ListTagsForResource",
    ),
    "aws:rds/subnetGroup:SubnetGroup": ("rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"),
    "aws:s3/bucket:Bucket": (
        "s3:ListBucket",
        "s3:GetBucketTagging",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketWebsite",
        "s3:GetBucketVersioning",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketLogging",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketObjectLockConfiguration",
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration",),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("s3:GetBucketOwnershipControls",),
    "aws:s3/bucketPolicy:BucketPolicy": ("s3:GetBucketPolicy",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "s3:GetEncryptionConfiguration",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ("s3:GetBucketVersioning",),
    "aws:secretsmanager/secret:Secret": ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"),
    # Refreshing a version reads its value: the one data read the preview role has, on this stack's secrets only.
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretsmanager:GetSecretValue",),
    "aws:sns/topic:Topic": ("sns:GetTopicAttributes", "sns:ListTagsForResource"),
    "aws:sns/topicPolicy:TopicPolicy": ("sns:GetTopicAttributes",),
    "aws:sns/topicSubscription:TopicSubscription": ("sns:GetSubscriptionAttributes",),
    "aws:wafv2/webAcl:WebAcl": ("wafv2:GetWebACL", "wafv2:ListTagsForResource"),
    "aws:wafv2/webAclAssociation:WebAclAssociation": ("wafv2:GetWebACLForResource",),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ("wafv2:GetLoggingConfiguration",),
}

STATE_LOCK_PREFIX = ".pulumi/locks/"
"""Where Pulumi's S3 backend writes its lock objects (the only writes a preview makes)."""

IAM_USER_AND_KEY_ACTIONS = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AddUserToGroup",
    "iam:CreateServiceSpecificCredential",
)
STATE_BUCKET_PROTECTED_ACTIONS = (
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
)
SECRETS_KEY_PROTECTED_ACTIONS = (
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
)
OIDC_PROVIDER_PROTECTED_ACTIONS = (
    "iam:DeleteOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
)
EC2_MANAGEMENT_ACTIONS = tuple(
    f"ec2:{verb}*"
    for verb in ("Describe", "Create", "Delete", "Modify", "Associate", "Disassociate", "Authorize", "Revoke",
                 "Allocate", "Release", "Attach", "Detach", "Replace", "UpdateSecurityGroupRuleDescriptions")
)
KMS_MANAGEMENT_ACTIONS = (
    "kms:CreateKey",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:EnableKey",
    "kms:ListAliases",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
)
STACK_IAM_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
)
ROLE_SERVICES = (
    "ecs-tasks.amazonaws.com",
    "codedeploy.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "backup.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "chatbot.amazonaws.com",
)
"""The services the stack's own roles are passed to (task, CodeDeploy, RDS monitoring, Backup, flow logs, Chatbot)."""


def state_bucket_of(backend_url: str) -> str:
    """`s3://bucket?region=…` (Pulumi's S3 backend URL) -> `bucket`."""
    if not backend_url.startswith("s3://"):
        raise ValueError("state backend: expected an s3:// URL (rampart bootstrap prints it)")
    return backend_url.removeprefix("s3://").split("?", 1)[0].split("/", 1)[0]


def refresh_read_actions(types: Sequence[str] | None = None) -> list[str]:
    """The read actions a refresh makes for the given resource types (all known types when None)."""
    chosen = REFRESH_READS if types is None else {t: REFRESH_READS[t] for t in types if t in REFRESH_READS}
    return sorted({action for actions in chosen.values() for action in actions})


def _state_statements(partition: str, bucket: str, secrets_key_arn: str, *, write: bool) -> list[dict[str, Any]]:
    objects = f"arn:{partition}:s3:::{bucket}/*"
    object_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"]
    found: list[dict[str, Any]] = [
        {"Sid": "StateBucketList", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": f"arn:{partition}:s3:::{bucket}"},
        {"Sid": "StateObjects", "Effect": "Allow", "Action": object_actions, "Resource": objects},
        # `secretsprovider: awskms://…`: the stack's data key is decrypted with this key, and nothing else.
        {"Sid": "StackSecretsProvider", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": secrets_key_arn},
        # `rampart bootstrap` encrypts the state bucket with the same key (SSE-KMS): every object written,
        # checkpoints and lock files alike, needs a data key from it, through S3 only.
        {"Sid": "StateEncryption", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": secrets_key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{secrets_key_arn.split(':')[3]}.amazonaws.com"}}},
    ]
    if not write:
        found.append({"Sid": "StateLocks", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
                      "Resource": f"arn:{partition}:s3:::{bucket}/{STATE_LOCK_PREFIX}*"})
    return found


def preview_policy(
    *, partition: str, region: str, account_id: str, state_bucket: str, secrets_key_arn: str, stack_key_arn: str,
    stack_secret_names: Sequence[str], github_reader_app_secret_arn: str | None = None,
) -> dict[str, Any]:
    """Refresh every declared resource type, read the state, decrypt the stack's secrets: nothing else.

    Metadata reads go on `*` (most Describe/List calls support no resource scoping); the one data read, a secret
    version's value, is limited to this stack's secrets and the stack key only through Secrets Manager."""
    reads = [a for a in refresh_read_actions() if a != "secretsmanager:GetSecretValue"]
    statements: list[dict[str, Any]] = [
        {"Sid": "RefreshDeclaredResources", "Effect": "Allow", "Action": reads, "Resource": "*"},
        *_state_statements(partition, state_bucket, secrets_key_arn, write=False),
        # `rampart metrics` (metrics.yml, weekly on the default branch): the deployment history, metadata only.
        {"Sid": "DeliveryMetrics", "Effect": "Allow",
         "Action": ["codedeploy:ListDeployments", "codedeploy:BatchGetDeployments"],
         "Resource": f"arn:{partition}:codedeploy:{region}:{account_id}:deploymentgroup:*"},
    ]
    if stack_secret_names:
        # `NAME-??????`: Secrets Manager appends six random characters, new ones whenever a secret is recreated.
        secrets = [f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{name}-??????"
                   for name in stack_secret_names]
        statements += [
            {"Sid": "RefreshStackSecretVersions", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": secrets},
            {"Sid": "DecryptStackSecretsViaSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt",
             "Resource": stack_key_arn,
             "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}},
        ]
    if github_reader_app_secret_arn:
        # The read-only GitHub App the github provider refreshes with: it can read settings, never change them.
        statements.append({"Sid": "GithubReaderAppCredentials", "Effect": "Allow",
                           "Action": "secretsmanager:GetSecretValue", "Resource": github_reader_app_secret_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def infrastructure_policy(
    *, partition: str, account_id: str, name_prefix: str, state_bucket: str, secrets_key_arn: str,
    oidc_provider_arn: str, managed_policy_arns: Sequence[str], stack_key_arn: str,
    github_app_secret_arn: str | None = None,
) -> dict[str, Any]:
    """What `pulumi up` of this stack needs: the services its resources belong to, IAM only for roles and policies
    named after the stack, and the state. Explicit denies keep the account's pieces and IAM users out of reach."""
    arn = f"arn:{partition}"
    special = {"iam", "s3", "secretsmanager", "ec2", "kms"}
    services = sorted({action.split(":", 1)[0] for action in refresh_read_actions()} - special)
    stack_roles = f"{arn}:iam::{account_id}:role/{name_prefix}-*"
    statements: list[dict[str, Any]] = [
        {"Sid": "ManageDeclaredServices", "Effect": "Allow", "Action": [f"{s}:*" for s in services], "Resource": "*"},
        # ec2:* would include GetPasswordData and kms:* Decrypt with every key: verbs instead, data use scoped below.
        {"Sid": "ManageNetwork", "Effect": "Allow", "Action": list(EC2_MANAGEMENT_ACTIONS), "Resource": "*"},
        {"Sid": "ManageKeys", "Effect": "Allow", "Action": list(KMS_MANAGEMENT_ACTIONS), "Resource": "*"},
        # RDS, Secrets Manager and ECR encrypt with the stack key on the caller's behalf.
        {"Sid": "UseStackKey", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"],
         "Resource": stack_key_arn},
        {"Sid": "StackRoles", "Effect": "Allow", "Action": list(STACK_IAM_ACTIONS), "Resource": stack_roles},
        {"Sid": "StackRolesManagedPolicies", "Effect": "Allow",
         "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], "Resource": stack_roles,
         # Only the AWS-managed service policies the stack attaches: never AdministratorAccess by this route.
         "Condition": {"ArnEquals": {"iam:PolicyARN": list(managed_policy_arns)}}},
        {"Sid": "PassStackRolesToTheirServices", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": stack_roles, "Condition": {"StringEquals": {"iam:PassedToService": list(ROLE_SERVICES)}}},
        {"Sid": "ServiceLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": f"{arn}:iam::{account_id}:role/aws-service-role/*"},
        {"Sid": "ReadOidcProvider", "Effect": "Allow", "Action": "iam:GetOpenIDConnectProvider",
         "Resource": oidc_provider_arn},
        {"Sid": "StackBuckets", "Effect": "Allow", "Action": "s3:*",
         "Resource": [f"{arn}:s3:::{name_prefix}-*", f"{arn}:s3:::{name_prefix}-*/*"]},
        {"Sid": "StackSecrets", "Effect": "Allow", "Action": "secretsmanager:*",
         # ApplicationSecrets names them `<prefix>/<name>`.
         "Resource": f"{arn}:secretsmanager:*:{account_id}:secret:{name_prefix}/*"},
        *_state_statements(partition, state_bucket, secrets_key_arn, write=True),
        {"Sid": "NoIamUsersOrKeys", "Effect": "Deny", "Action": list(IAM_USER_AND_KEY_ACTIONS), "Resource": "*"},
        {"Sid": "KeepTheStateBucket", "Effect": "Deny", "Action": list(STATE_BUCKET_PROTECTED_ACTIONS),
         "Resource": f"{arn}:s3:::{state_bucket}"},
        {"Sid": "KeepTheSecretsProviderKey", "Effect": "Deny", "Action": list(SECRETS_KEY_PROTECTED_ACTIONS),
         "Resource": secrets_key_arn},
        {"Sid": "KeepTheOidcProvider", "Effect": "Deny", "Action": list(OIDC_PROVIDER_PROTECTED_ACTIONS),
         "Resource": oidc_provider_arn},
    ]
    if github_app_secret_arn:
        # The github provider's credentials: read by the deploy job right before `pulumi up`.
        statements.append({"Sid": "GithubAppCredentials", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": github_app_secret_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def rollback_policy(
    *, partition: str, region: str, account_id: str, service_arns: Sequence[str],
    applications: Sequence[str], groups: Sequence[str], native_service_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """Stop a deployment with rollback, or redeploy a revision that already served traffic: no task definition
    can be registered and no image pushed, so no new code can reach production through this role."""
    codedeploy = f"arn:{partition}:codedeploy:{region}:{account_id}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "FollowAndStopDeployments", "Effect": "Allow",
             "Action": ["codedeploy:ListDeployments", "codedeploy:GetDeployment", "codedeploy:GetDeploymentGroup",
                        "codedeploy:CreateDeployment"],
             "Resource": [f"{codedeploy}:deploymentgroup:{a}/{g}" for a in applications for g in groups]},
            {"Sid": "StopOrReleaseDeployments", "Effect": "Allow",
             # The Service Authorization Reference lists no resource type for these two: scoped to a group ARN
             # they would never be allowed. Neither can start new code.
             "Action": ["codedeploy:StopDeployment", "codedeploy:ContinueDeployment"], "Resource": "*"},
            # The AWS predefined configs and this stack's own, which are named after their deployment group.
            {"Sid": "DeploymentConfigs", "Effect": "Allow", "Action": "codedeploy:GetDeploymentConfig",
             "Resource": [f"{codedeploy}:deploymentconfig:CodeDeployDefault.*",
                          *(f"{codedeploy}:deploymentconfig:{g}-*" for g in groups)]},
            {"Sid": "ReadServices", "Effect": "Allow", "Action": ["ecs:DescribeServices"],
             "Resource": list(service_arns)},
            {"Sid": "ReadAlarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
             "Resource": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
            # ECS-native services: stop with rollback, or UpdateService back to a revision that served traffic.
            *ecs_native_statements(native_service_arns, rollback=True),
        ],
    }
