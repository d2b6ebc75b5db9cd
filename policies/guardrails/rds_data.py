"""RDS data protection rules (catalogue 26-27, 29-32): storage encrypted with a customer managed key of the stack,
automated backups kept in a set window, a final snapshot, automated backups and tags kept on delete, deletion
protection, and a Multi-AZ standby. Judged on instances and, where they keep these settings, on clusters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guardrails.network_model import referenced
from guardrails.rds_model import (
    CLUSTER,
    DATABASES,
    FSBP,
    KMS_KEYS,
    SH_RDS_URL,
    as_number,
    is_replica,
    rds_rule,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import of_type


def check_storage_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("storageEncrypted") is not True:
        yield f"storageEncrypted is {shown(resource.get('storageEncrypted'))}; expected true"


def _backup_window_key(resource: Resource) -> str:
    return "preferredBackupWindow" if resource.type == CLUSTER else "backupWindow"


def check_backup_retention(resource: Resource, context: Context) -> Iterator[str]:
    if is_replica(resource):
        return
    # At least one day on every stack whatever the config says: 0 disables automated backups and PITR.
    required = max(1, int(context.threshold("minRetentionDays")))
    retention = resource.get("backupRetentionPeriod")
    if retention is None or as_number(retention) < required:
        unset = " (the provider default is 1 day)" if retention is None and resource.type == CLUSTER else ""
        yield f"backupRetentionPeriod is {shown(retention)}{unset}; expected at least {required} days"
    window = _backup_window_key(resource)
    if not resource.get(window):
        yield f"{window} is not set; expected an explicit daily window (hh24:mi-hh24:mi, UTC) off peak"


def check_snapshot_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("skipFinalSnapshot") is True:
        yield "skipFinalSnapshot is true; expected false so deleting or replacing the instance keeps a snapshot"
    if not resource.get("finalSnapshotIdentifier"):
        yield "finalSnapshotIdentifier is not set; expected a unique identifier (e.g. with a random suffix)"
    if resource.get("deleteAutomatedBackups") is not False:
        yield (f"deleteAutomatedBackups is {shown(resource.get('deleteAutomatedBackups'))} (provider default true); "
               "expected false so point-in-time backups outlive the instance")
    if resource.get("copyTagsToSnapshot") is not True:
        yield f"copyTagsToSnapshot is {shown(resource.get('copyTagsToSnapshot'))}; expected true"


def check_deletion_protection(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("deletionProtection") is not True:
        yield f"deletionProtection is {shown(resource.get('deletionProtection'))}; expected true"


def check_multi_az(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("multiAz") is not True:
        yield f"multiAz is {shown(resource.get('multiAz'))}; expected true (a standby in a second AZ)"


def check_cmk(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    keys = of_type(resources, *KMS_KEYS)
    external = set(context.threshold("externalKeyArns"))
    for instance in of_type(resources, *DATABASES):
        key = instance.get("kmsKeyId")
        if not key or "alias/aws/" in str(key):
            yield Finding(f"kmsKeyId is {shown(key or None)}: storage uses the AWS managed aws/rds key; expected a "
                          "customer "
                          "managed KMS key of this stack", instance.urn)
        elif not referenced(instance, "kmsKeyId", keys, name_key="") and key not in external:
            yield Finding(f"kmsKeyId {key!r} is not a KMS key of this stack (nor listed in externalKeyArns); "
                          "expected the stack's customer managed key", instance.urn)


RULES: list[Rule] = [
    rds_rule(
        26, name="rds-storage-encrypted", resource_types=DATABASES,
        description="RDS instances and clusters encrypt their storage at rest.",
        enforcement="M", severity="high", framework=Framework(FSBP, "RDS.3, RDS.27"),
        remediation="Set `storage_encrypted=True` (with `kms_key_id` the stack key); an existing unencrypted "
                    "instance needs a snapshot, an encrypted copy and a restore.",
        url=f"{SH_RDS_URL}#rds-3", check=check_storage_encrypted,
    ),
    rds_rule(
        27, name="rds-cmk",
        description="RDS storage is encrypted with a customer managed KMS key of the stack, not aws/rds.",
        enforcement="MP", severity="medium", framework=Framework("Rampart deployment safety", "RDS-27"),
        remediation="Set `kms_key_id` to the ARN of the stack's `aws.kms.Key` (keys managed elsewhere: list their "
                    "ARNs in the rule's `externalKeyArns`). Changing the key replaces the instance: restore from "
                    "a snapshot copied with the new key.",
        url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.Keys.html",
        stack_check=check_cmk, thresholds={"externalKeyArns": []},
    ),
    rds_rule(
        29, name="rds-backup-retention", resource_types=DATABASES,
        description="RDS automated backups are kept for the configured days (at least one) in a set window.",
        enforcement="M", severity="high", framework=Framework(FSBP, "RDS.11"),
        remediation="Set `backup_retention_period` to at least `minRetentionDays` (7 by default; at least 1 on "
                    "any stack) and `backup_window` (clusters: `preferred_backup_window`), e.g. \"03:00-04:00\", "
                    "outside the maintenance window.",
        url=f"{SH_RDS_URL}#rds-11", check=check_backup_retention, thresholds={"minRetentionDays": 7},
    ),
    rds_rule(
        30, name="rds-snapshot-hygiene", resource_types=DATABASES,
        description="Deleting an RDS instance keeps a uniquely named final snapshot, its automated backups and "
                    "its tags.",
        enforcement="MP", severity="high", framework=Framework(FSBP, "RDS.17"),
        remediation="Set `skip_final_snapshot=False`, `final_snapshot_identifier` to a unique name (e.g. with a "
                    "`random.RandomId` suffix), `delete_automated_backups=False` and `copy_tags_to_snapshot=True`.",
        url=f"{SH_RDS_URL}#rds-17", check=check_snapshot_hygiene,
    ),
    rds_rule(
        31, name="rds-deletion-protection", resource_types=DATABASES,
        description="RDS instances and clusters have deletion protection enabled.",
        enforcement="MP", severity="high", framework=Framework(FSBP, "RDS.8, RDS.7"),
        remediation="Set `deletion_protection=True` (and `protect=True` on the resource).",
        url=f"{SH_RDS_URL}#rds-8", check=check_deletion_protection,
    ),
    rds_rule(
        32, name="rds-multi-az",
        description="RDS instances run Multi-AZ with a standby in a second availability zone.",
        enforcement="MP", severity="medium", framework=Framework(FSBP, "RDS.5"),
        remediation="Set `multi_az=True`.",
        url=f"{SH_RDS_URL}#rds-5", check=check_multi_az,
    ),
]
