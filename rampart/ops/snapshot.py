"""Pre-deploy snapshot: wait for the instance, take a tagged manual snapshot, prune only our own old ones."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from rampart.errors import OperationFailed
from rampart.ops.aws import Aws, calling, error_code, error_message, translate, wait, waiter_reason
from rampart.ops.report import Report

MANAGED_BY_KEY = "rampart:managed-by"
MANAGED_BY_VALUE = "rampart-snapshot"
INSTANCE_KEY = "rampart:db-instance"
QUOTA_CODES = ("SnapshotQuotaExceeded", "SnapshotQuotaExceededFault")


@dataclass(frozen=True, kw_only=True)
class SnapshotOptions:
    instance: str
    keep: int = 10
    wait_timeout: float = 1800.0
    wait_delay: float = 15.0
    now: dt.datetime | None = None


def snapshot_identifier(instance: str, now: dt.datetime) -> str:
    """Unique even for two runs in the same millisecond: the second run must not collide and fail.

    RDS snapshot ids: letters, digits, single hyphens, a letter first, at most 255 characters; an instance id is
    at most 63, so the name (under 100) needs no truncation that could cut off the unique suffix."""
    unique = f"{now.microsecond // 1000:03d}{secrets.token_hex(3)}"
    return f"rampart-{instance}-{now.strftime('%Y%m%d-%H%M%S')}-{unique}"


def is_ours(snapshot: dict[str, Any], instance: str) -> bool:
    """Only manual snapshots of this instance that this command tagged as its own may ever be pruned."""
    tags = {tag.get("Key"): tag.get("Value") for tag in snapshot.get("TagList") or []}
    return (
        snapshot.get("SnapshotType") == "manual"
        and snapshot.get("DBInstanceIdentifier") == instance
        and tags.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE
        and tags.get(INSTANCE_KEY) == instance
    )


def select_surplus(snapshots: list[dict[str, Any]], instance: str, keep: int,
                   new: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ours newest first, ours to delete): our own beyond the newest `keep`, never `new` itself."""
    ours = sorted((s for s in snapshots if is_ours(s, instance)), key=_created, reverse=True)
    if new not in {s.get("DBSnapshotIdentifier") for s in ours}:
        # Never prune against a listing that does not show what we just made: the count would be off by one.
        raise OperationFailed(f"snapshot {new} missing from the listing of {instance}: nothing pruned")
    return ours, [s for s in ours[keep:] if s.get("DBSnapshotIdentifier") != new]


def _instance_status(rds: Any, instance: str) -> str:
    with calling("rds:DescribeDBInstances", f"DB instance {instance}"):
        found = rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
    return str(found[0].get("DBInstanceStatus", "unknown")) if found else "missing"


def _manual_snapshots(rds: Any, instance: str) -> list[dict[str, Any]]:
    snapshots: list[dict[str, Any]] = []
    with calling("rds:DescribeDBSnapshots", f"snapshots of {instance}"):
        for page in rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=instance, SnapshotType="manual"
        ):
            snapshots.extend(page.get("DBSnapshots", []))
    return snapshots


def _created(snapshot: dict[str, Any]) -> tuple[dt.datetime, str]:
    created = snapshot.get("SnapshotCreateTime")
    if not isinstance(created, dt.datetime):
        created = dt.datetime.min.replace(tzinfo=dt.UTC)
    elif created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return created, str(snapshot.get("DBSnapshotIdentifier", ""))


def run_snapshot(aws: Aws, options: SnapshotOptions, report: Report) -> None:
    rds = aws.client("rds")
    instance = options.instance
    report.result["dbInstance"] = instance

    status = _instance_status(rds, instance)
    if status != "available":
        report.progress(f"waiting for {instance} ({status}) to become available")
        try:
            wait(rds, "db_instance_available", timeout=options.wait_timeout, delay=options.wait_delay,
                 DBInstanceIdentifier=instance)
        except WaiterError as exc:
            status = _instance_status(rds, instance)
            raise OperationFailed(
                f"DB instance {instance} is not available after {options.wait_timeout:g}s (status: {status}; "
                f"{waiter_reason(exc)}): no snapshot taken, no snapshot deleted"
            ) from exc
    report.ok("instance available", instance)

    identifier = snapshot_identifier(instance, options.now or dt.datetime.now(dt.UTC))
    try:
        rds.create_db_snapshot(
            DBSnapshotIdentifier=identifier,
            DBInstanceIdentifier=instance,
            Tags=[{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}, {"Key": INSTANCE_KEY, "Value": instance}],
        )
    except ClientError as exc:
        if error_code(exc) in QUOTA_CODES:
            raise OperationFailed(
                f"rds:CreateDBSnapshot {identifier}: manual snapshot quota exceeded ({error_message(exc)}); "
                "nothing was deleted: delete old manual snapshots or raise the quota, then retry"
            ) from exc
        raise translate(exc, "rds:CreateDBSnapshot", identifier) from exc
    report.ok("snapshot started", identifier)
    report.result["snapshot"] = identifier

    report.progress(f"waiting for snapshot {identifier}")
    try:
        wait(rds, "db_snapshot_available", timeout=options.wait_timeout, delay=options.wait_delay,
             DBSnapshotIdentifier=identifier)
    except WaiterError as exc:
        raise OperationFailed(
            f"snapshot {identifier} not available after {options.wait_timeout:g}s ({waiter_reason(exc)}): "
            "no snapshot deleted"
        ) from exc
    report.ok("snapshot available", identifier)

    ours, surplus = select_surplus(_manual_snapshots(rds, instance), instance, options.keep, identifier)
    deleted: list[str] = []
    for snapshot in surplus:
        old = str(snapshot["DBSnapshotIdentifier"])
        try:
            rds.delete_db_snapshot(DBSnapshotIdentifier=old)
        except ClientError as exc:
            report.fail("prune", str(translate(exc, "rds:DeleteDBSnapshot", old)))
            continue
        deleted.append(old)
    report.result["deleted"] = deleted
    report.result["kept"] = [str(s["DBSnapshotIdentifier"]) for s in ours[: options.keep]]
    report.ok("pruned", f"{len(deleted)} deleted, {min(len(ours), options.keep)} of ours kept (keep {options.keep})")
