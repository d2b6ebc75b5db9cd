"""The stack's customer managed KMS key: one key encrypts logs, topics, images, the database and its secrets.

The key policy is written out in full rather than left to AWS's default, so a review can see every principal:
the account root administers the key (without it a key whose policy names nobody becomes unmanageable and only
AWS Support can recover it), CloudWatch Logs may use it only for this account's log groups, CloudWatch may use
it only to publish alarms to encrypted topics, and principals of this account may use it only through the AWS
services that the stack encrypts with it. No statement names an open principal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws_partition import partition_of

MIN_DELETION_WINDOW_DAYS = 7
MAX_DELETION_WINDOW_DAYS = 30

# Services that encrypt stack data with the key on a caller's behalf (kms:ViaService <service>.<region>...).
VIA_SERVICES = ("rds", "secretsmanager", "ecr", "sns", "backup")

_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
_ALIAS = re.compile(r"^alias/[A-Za-z0-9/_-]{1,250}$")


def key_policy(account_id: str, region: str, eventbridge_publishes: bool = False) -> str:
    """The key policy document (JSON) for `account_id` in `region`; `eventbridge_publishes`: EventBridge rules
    deliver events to the stack's encrypted topic (ECS-native blue/green deployment notifications)."""
    partition = partition_of(region)
    root = f"arn:{partition}:iam::{account_id}:root"
    statements = [
        {
            "Sid": "AccountRootAdministersTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            # In a key policy "*" means this key.
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsForThisAccountsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
                }
            },
        },
        # Alarm actions publish to the KMS-encrypted notification topic as the CloudWatch service.
        _publishes_to_encrypted_topics("CloudWatchAlarmsPublishToEncryptedTopics", "cloudwatch.amazonaws.com",
                                       account_id),
        # EventBridge delivers ECS deployment events to the encrypted topic as the EventBridge service.
        *([_publishes_to_encrypted_topics("EventBridgePublishesToEncryptedTopics", "events.amazonaws.com", account_id)]
          if eventbridge_publishes else []),
        {
            # Principals still need IAM permissions; this statement narrows the key to the stack's services.
            "Sid": "UseThroughStackServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(_USE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": account_id,
                    "kms:ViaService": [f"{service}.{region}.amazonaws.com" for service in VIA_SERVICES],
                }
            },
        },
        {
            # RDS, Backup and Secrets Manager hold grants for background work (snapshots, copies, rotation).
            "Sid": "GrantsOnlyForAwsResources",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": {"kms:CallerAccount": account_id},
            },
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Id": "rampart-stack-key", "Statement": statements})


def _publishes_to_encrypted_topics(sid: str, service: str, account_id: str) -> dict[str, object]:
    """A service publishing to the stack's encrypted topic as itself: data keys only, for this account only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    }


@dataclass(frozen=True, kw_only=True)
class StackKeyArgs:
    description: str
    account_id: pulumi.Input[str]
    region: str
    alias: str
    """`alias/<name>` or just `<name>`; never under the reserved `alias/aws/`."""
    deletion_window_days: int = MAX_DELETION_WINDOW_DAYS
    """Deleting the key destroys every backup and secret it encrypts: the longest window is the default."""
    protect: bool = True
    """`protect` on the key itself; staging may turn it off to allow `pulumi destroy`."""
    eventbridge_publishes: bool = False
    """EventBridge may use the key to deliver events to encrypted topics (ECS-native blue/green notifications)."""


class StackKey(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    """ARN of the key: what resources pass as kms_key_id / kms_key_arn."""
    key_id: pulumi.Output[str]
    """Key id (UUID)."""
    alias_name: str
    """Full alias name, `alias/...`."""

    def __init__(self, name: str, args: StackKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("rampart:index:StackKey", name, None, opts)
        alias_name = args.alias if args.alias.startswith("alias/") else f"alias/{args.alias}"

        policy = pulumi.Output.from_input(args.account_id).apply(
            lambda account: key_policy(account, args.region, args.eventbridge_publishes)
        )
        key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=policy,
            bypass_policy_lockout_safety_check=False,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.kms.Alias(
            f"{name}-alias",
            name=alias_name,
            target_key_id=key.key_id,
            # The alias is the key's stable name (fixed, unique in the region): a create-before-delete replacement
            # would collide with the old alias.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias_name
        self.register_outputs({"keyArn": self.key_arn, "keyId": self.key_id, "aliasName": self.alias_name})


def _validate(args: StackKeyArgs) -> None:
    window = args.deletion_window_days
    if isinstance(window, bool) or not isinstance(window, int) or not (
        MIN_DELETION_WINDOW_DAYS <= window <= MAX_DELETION_WINDOW_DAYS
    ):
        raise ValueError(
            f"StackKeyArgs.deletion_window_days: expected an integer between {MIN_DELETION_WINDOW_DAYS} and "
            f"{MAX_DELETION_WINDOW_DAYS}, got {window!r}"
        )
    if not args.description.strip():
        raise ValueError(f"StackKeyArgs.description: expected a non-empty description, got {args.description!r}")
    if not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", args.region):
        raise ValueError(f"StackKeyArgs.region: expected an AWS region such as us-east-1, got {args.region!r}")
    alias = args.alias if args.alias.startswith("alias/") else f"alias/{args.alias}"
    if not _ALIAS.fullmatch(alias) or alias.startswith("alias/aws/"):
        raise ValueError(
            f"StackKeyArgs.alias: expected alias/<letters, digits, / _ -> outside the reserved alias/aws/, "
            f"got {args.alias!r}"
        )
