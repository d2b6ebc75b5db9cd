"""How the RDS calls of a snapshot, restore or migration are authorised, for the recorder in
tests/support/aws_calls.py: each call's IAM action, resource ARN(s) and the tags in its context, and what RDS and
Secrets Manager do as the caller on a point-in-time restore (tag on create, a grant on the source's storage key,
the copy's own master secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.support.aws_calls_account import Account, Translator, _key_as_declared, _stack_key_policy, _tag_context
from tests.support.iam import Request

# --- RDS ------------------------------------------------------------------------------------------------------


def _db(account: Account, identifier: str) -> str:
    return account.arn("rds", f"db:{identifier}")


def _snapshot(account: Account, identifier: str) -> str:
    return identifier if identifier.startswith("arn:") else account.arn("rds", f"snapshot:{identifier}")


def _describe_db_instances(account: Account, p: Mapping[str, Any]) -> list[Request]:
    identifier = p.get("DBInstanceIdentifier")
    if not identifier:
        raise KeyError("rds.DescribeDBInstances without DBInstanceIdentifier: add the listing form to the table")
    return [Request("rds:DescribeDBInstances", _db(account, identifier))]


def _create_db_snapshot(account: Account, p: Mapping[str, Any]) -> list[Request]:
    tags = _tag_context(p.get("Tags"))
    snapshot = _snapshot(account, p["DBSnapshotIdentifier"])
    found = [Request("rds:CreateDBSnapshot", _db(account, p["DBInstanceIdentifier"]), tags),
             Request("rds:CreateDBSnapshot", snapshot, tags)]
    if tags:
        found.append(Request("rds:AddTagsToResource", snapshot, tags,
                             origin="tag on create for rds.CreateDBSnapshot"))
    return found


def _describe_db_snapshots(account: Account, p: Mapping[str, Any]) -> list[Request]:
    if p.get("DBSnapshotIdentifier"):
        return [Request("rds:DescribeDBSnapshots", _snapshot(account, p["DBSnapshotIdentifier"]))]
    if p.get("DBInstanceIdentifier"):
        return [Request("rds:DescribeDBSnapshots", _db(account, p["DBInstanceIdentifier"]))]
    raise KeyError("rds.DescribeDBSnapshots without an instance or snapshot: add the listing form to the table")


def _delete_db_snapshot(account: Account, p: Mapping[str, Any]) -> list[Request]:
    snapshot = _snapshot(account, p["DBSnapshotIdentifier"])
    tags = account.lookup("rds").list_tags_for_resource(ResourceName=snapshot).get("TagList", [])
    return [Request("rds:DeleteDBSnapshot", snapshot, {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags})]


def _resource_tags(account: Account, arn: str) -> dict[str, Any]:
    tags = account.lookup("rds").list_tags_for_resource(ResourceName=arn).get("TagList", [])
    return {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags}


_MANAGED_SECRET = "secret:rds!db-00000000-0000-0000-0000-000000000000-AbCdEf"
"""The copy's RDS-managed master secret: RDS names it `rds!db-<uuid>` when it creates it, after authorisation."""


def _restore_to_point_in_time(account: Account, p: Mapping[str, Any]) -> list[Request]:
    """The source, the new instance (with its tags), the subnet, parameter and option groups it is placed in;
    then what RDS does as the caller: tag on create, a grant on the source's storage key (encrypted copies), and
    the copy's own master secret when ManageMasterUserPassword (Secrets Manager encrypts it with the given key)."""
    action, source_id = "rds:RestoreDBInstanceToPointInTime", p["SourceDBInstanceIdentifier"]
    source = account.lookup("rds").describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]
    target, tags = _db(account, p["TargetDBInstanceIdentifier"]), _tag_context(p.get("Tags"))
    found = [Request(action, _db(account, source_id)), Request(action, target, tags)]
    for key, kind in (("DBSubnetGroupName", "subgrp"), ("DBParameterGroupName", "pg"), ("OptionGroupName", "og")):
        if p.get(key):
            found.append(Request(action, account.arn("rds", f"{kind}:{p[key]}")))
    if tags:
        found.append(Request("rds:AddTagsToResource", target, tags, origin=f"tag on create for {action}"))
    key_policy = _stack_key_policy(account)
    caller = {"kms:CallerAccount": account.account_id}
    if source.get("StorageEncrypted") and source.get("KmsKeyId"):
        via_rds = {**caller, "kms:ViaService": f"rds.{account.region}.amazonaws.com"}
        storage_key = _key_as_declared(account, source["KmsKeyId"])
        found += [Request("kms:CreateGrant", storage_key, {**via_rds, "kms:GrantIsForAWSResource": "true"},
                          origin=f"RDS as the caller for {action}", resource_policy=key_policy),
                  Request("kms:DescribeKey", storage_key, via_rds, origin=f"RDS as the caller for {action}",
                          resource_policy=key_policy)]
    if p.get("ManageMasterUserPassword"):
        secret = account.arn("secretsmanager", _MANAGED_SECRET)
        found += [Request(a, secret, origin=f"RDS as the caller for {action}")
                  for a in ("secretsmanager:CreateSecret", "secretsmanager:TagResource")]
        found.append(Request("kms:GenerateDataKey", _key_as_declared(account, p["MasterUserSecretKmsKeyId"]),
                             {**caller, "kms:ViaService": f"secretsmanager.{account.region}.amazonaws.com"},
                             origin=f"Secrets Manager as the caller for {action}", resource_policy=key_policy))
    return found


def _on_instance(action: str) -> Translator:
    """Modify or delete an instance, with its tags in the context (what a tag-conditioned grant reads)."""
    def translate(account: Account, p: Mapping[str, Any]) -> list[Request]:
        arn = _db(account, p["DBInstanceIdentifier"])
        found = [Request(action, arn, _resource_tags(account, arn))]
        if p.get("NewDBInstanceIdentifier"):
            found.append(Request(action, _db(account, p["NewDBInstanceIdentifier"])))
        return found
    return translate


# Each entry checked against the Service Authorization Reference (the data iam-simulate validates with).
TABLE: dict[tuple[str, str], Translator] = {
    ("rds", "DescribeDBInstances"): _describe_db_instances,
    ("rds", "CreateDBSnapshot"): _create_db_snapshot,
    ("rds", "DescribeDBSnapshots"): _describe_db_snapshots,
    ("rds", "DeleteDBSnapshot"): _delete_db_snapshot,
    ("rds", "RestoreDBInstanceToPointInTime"): _restore_to_point_in_time,
    ("rds", "ModifyDBInstance"): _on_instance("rds:ModifyDBInstance"),
    ("rds", "DeleteDBInstance"): _on_instance("rds:DeleteDBInstance"),
}
