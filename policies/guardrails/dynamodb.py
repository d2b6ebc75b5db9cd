"""DynamoDB rules: tables keep point-in-time recovery and are encrypted with a KMS key this account controls.

Every table is encrypted at rest; without `server_side_encryption` the key is owned by AWS, outside the
account's key policies, CloudTrail key usage and revocation. `server_side_encryption.enabled` selects a KMS key
(the AWS-managed aws/dynamodb key, or the customer key named in kms_key_arn).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import CHECKOV, FSBP, anchor_tags, anchored, is_true, sh_url
from guardrails.rule import Context, Framework, Resource, Rule
from guardrails.shapes import first_block

TABLE = "aws:dynamodb/table:Table"


def check_point_in_time_recovery(resource: Resource, context: Context) -> Iterator[str]:
    if not is_true(first_block(resource.get("pointInTimeRecovery")).get("enabled")):
        yield "pointInTimeRecovery.enabled is not true; expected true so the table can be restored to any second"


def check_kms_encryption(resource: Resource, context: Context) -> Iterator[str]:
    if not is_true(first_block(resource.get("serverSideEncryption")).get("enabled")):
        yield ("serverSideEncryption.enabled is not true, so the table uses an AWS-owned key; expected a KMS key "
               "(kms_key_arn: the stack key)")


def _rule(name: str, description: str, framework: Framework, url: str, checkov: Sequence[str],
          nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement="MP", severity="medium",
                framework=framework, remediation=remediation, url=url, tags=anchor_tags(checkov, nag),
                resource_types=(TABLE,), **kwargs)


POLICIES: list[Rule] = [
    _rule("dynamodb-point-in-time-recovery", "DynamoDB tables have point-in-time recovery enabled.",
          Framework(FSBP, "DynamoDB.2"), sh_url("dynamodb", "DynamoDB.2"), ("CKV_AWS_28",), ("AwsSolutions-DDB3",),
          "Set `point_in_time_recovery={\"enabled\": True}` on the aws.dynamodb.Table.",
          check=check_point_in_time_recovery),
    _rule("dynamodb-kms-encryption", "DynamoDB tables are encrypted with a KMS key, not the AWS-owned key.",
          Framework(CHECKOV, "CKV_AWS_119"),
          "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html",
          ("CKV_AWS_119",), (),
          "Set `server_side_encryption={\"enabled\": True, \"kms_key_arn\": <stack key arn>}` on the "
          "aws.dynamodb.Table.",
          check=check_kms_encryption),
]
