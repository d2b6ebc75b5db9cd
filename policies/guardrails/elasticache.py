"""ElastiCache rules for replication groups (Redis OSS / Valkey): encrypted at rest and in transit, and clients
authenticate (an AUTH token, or RBAC user groups).

Only the presence of an AUTH token is read, never its value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import FSBP, anchor_tags, anchored, is_set, is_true, sh_url
from guardrails.rule import Context, Framework, Resource, Rule

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def check_encryption(resource: Resource, context: Context) -> Iterator[str]:
    if not is_true(resource.get("atRestEncryptionEnabled")):
        yield "atRestEncryptionEnabled is not true; expected true (data and snapshots encrypted at rest)"
    if not is_true(resource.get("transitEncryptionEnabled")):
        yield "transitEncryptionEnabled is not true; expected true (TLS between clients and nodes)"
    elif str(resource.get("transitEncryptionMode", "required")).lower() == "preferred":
        yield "transitEncryptionMode is preferred, so clients may still connect without TLS; expected required"


def check_auth(resource: Resource, context: Context) -> Iterator[str]:
    if not any(is_set(resource.props, key) for key in ("authToken", "authTokenWo", "userGroupIds")):
        yield ("neither an AUTH token (authToken) nor RBAC user groups (userGroupIds) are set, so any client that "
               "reaches the port can run commands; expected one of them")


def _rule(name: str, description: str, controls: str, checkov: Sequence[str], nag: Sequence[str],
          remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement="MP", severity="high",
                framework=Framework(FSBP, controls), remediation=remediation,
                url=sh_url("elasticache", controls.split(",")[0].strip()), tags=anchor_tags(checkov, nag),
                resource_types=(REPLICATION_GROUP,), **kwargs)


POLICIES: list[Rule] = [
    _rule("elasticache-encryption",
          "ElastiCache replication groups are encrypted at rest and in transit (TLS required).",
          "ElastiCache.4, ElastiCache.5", ("CKV_AWS_29", "CKV_AWS_30"), ("AwsSolutions-AEC3",),
          "Set `at_rest_encryption_enabled=True` (with kms_key_id: the stack key) and "
          "`transit_encryption_enabled=True` on the aws.elasticache.ReplicationGroup.",
          check=check_encryption),
    _rule("elasticache-auth",
          "ElastiCache replication groups require clients to authenticate (AUTH token or RBAC user groups).",
          "ElastiCache.6", ("CKV_AWS_31",), ("AwsSolutions-AEC6",),
          "Set `user_group_ids` (RBAC, engine 6+) or `auth_token` from a secret (pulumi.Config.require_secret) on "
          "the aws.elasticache.ReplicationGroup; both need transit encryption.",
          check=check_auth),
]
