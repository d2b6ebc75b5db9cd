"""Redshift rules for provisioned clusters: encrypted at rest, not publicly accessible, and recoverable (a final
snapshot on delete, automated snapshots kept long enough).

pulumi_aws v7 types `encrypted` as a string ("true"/"false"); both spellings are read. Redshift encrypts new
provisioned clusters by default (https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-db-encryption.html),
so only an explicit `encrypted=false` fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import FSBP, anchor_tags, anchored, is_false, is_set, is_true, sh_url
from guardrails.rule import Context, Framework, Resource, Rule

CLUSTER = "aws:redshift/cluster:Cluster"


def check_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    # Left unset, Redshift encrypts a new cluster by default (AWS-owned key): only an explicit false is unencrypted.
    if is_false(resource.get("encrypted")):
        yield "encrypted is false; expected true with kmsKeyId (the stack key), or unset (encrypted by default)"


def check_not_public(resource: Resource, context: Context) -> Iterator[str]:
    if is_true(resource.get("publiclyAccessible")):
        yield "publiclyAccessible is true; expected false (reach the cluster from inside the VPC)"


def check_snapshot_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    if is_true(resource.get("skipFinalSnapshot")):
        yield "skipFinalSnapshot is true, so deleting the cluster loses its data; expected false"
    elif not is_set(resource.props, "finalSnapshotIdentifier"):
        yield "finalSnapshotIdentifier is not set; expected one so a delete keeps a final snapshot"
    retention = resource.get("automatedSnapshotRetentionPeriod", 1)
    minimum = context.threshold("minSnapshotRetentionDays")
    if float(retention) < minimum:
        yield f"automatedSnapshotRetentionPeriod is {int(float(retention))} days; expected at least {minimum}"


def _rule(name: str, description: str, enforcement: Any, severity: Any, control: str, checkov: Sequence[str],
          nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement=enforcement,
                severity=severity, framework=Framework(FSBP, control), remediation=remediation,
                url=sh_url("redshift", control), tags=anchor_tags(checkov, nag), resource_types=(CLUSTER,), **kwargs)


POLICIES: list[Rule] = [
    _rule("redshift-encrypted", "Redshift clusters are encrypted at rest (encrypted is never turned off).",
          "M", "high", "Redshift.10", ("CKV_AWS_64",), ("AwsSolutions-RS6",),
          "Set `encrypted=\"true\"` and `kms_key_id` (the stack key) on the aws.redshift.Cluster.",
          check=check_encrypted),
    _rule("redshift-not-public", "Redshift clusters are not publicly accessible.",
          "M", "critical", "Redshift.1", ("CKV_AWS_87",), ("AwsSolutions-RS8",),
          "Set `publicly_accessible=False` on the aws.redshift.Cluster and place it in private subnets.",
          check=check_not_public, waivable=False),
    _rule("redshift-snapshot-hygiene",
          "Redshift clusters keep a final snapshot on delete and automated snapshots for at least the configured "
          "days.",
          "MP", "high", "Redshift.3", (), ("AwsSolutions-RS10",),
          "Set `skip_final_snapshot=False` with a `final_snapshot_identifier`, and "
          "`automated_snapshot_retention_period` of at least 7 days.",
          check=check_snapshot_hygiene, thresholds={"minSnapshotRetentionDays": 7}),
]
