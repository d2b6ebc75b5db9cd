"""Pre-deploy snapshot: wait for the instance, take a tagged manual snapshot, prune only our own old ones."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from rampart.errors import OperationFailed
from rampart.ops.aws import Aws, calling, error_code, error_message, translate, wait_or_fail, waiter_reason
from rampart.ops.report import Report

MANAGED_BY_KEY = "rampart:managed-by"
MANAGED_BY_VALUE = "rampart-snapshot"
INSTANCE_KEY = "rampart:db-instance"
QUOTA_CODES = ("SnapshotQuotaExceeded", "SnapshotQuotaExceededFault")
NOT_FOUND = ("DBSnapshotNotFound", "DBSnapshotNotFoundFault")


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
            wait_or_fail(rds, "db_instance_available", action="rds:DescribeDBInstances",
                         resource=f"DB instance {instance} (no snapshot taken, none deleted)",
                         timeout=options.wait_timeout, delay=options.wait_delay, DBInstanceIdentifier=instance)
        except WaiterError as exc:
            status = _instance_status(rds, instance)
            raise OperationFailed(
                f"DB instance {instance} is not available after {options.wait_timeout:g}s (status: {status}; "
                f"{waiter_reason(exc)}): no snapshot taken, no snapshot deleted"
            ) from exc
    report.ok("instance available", instance)

    identifier = snapshot_identifier(instance, options.now or dt.datetime.now(dt.UTC))
    _create(rds, identifier, instance, report)

    report.progress(f"waiting for snapshot {identifier}")
    try:
        wait_or_fail(rds, "db_snapshot_available", action="rds:DescribeDBSnapshots",
                     resource=f"snapshot {identifier} (no snapshot deleted)",
                     timeout=options.wait_timeout, delay=options.wait_delay, DBSnapshotIdentifier=identifier)
    except WaiterError as exc:
        raise OperationFailed(
            f"snapshot {identifier} not available after {options.wait_timeout:g}s ({waiter_reason(exc)}): "
            "no snapshot deleted"
        ) from exc
    report.ok("snapshot available", identifier)

    ours, surplus = select_surplus(_manual_snapshots(rds, instance), instance, options.keep, identifier)
    _prune(rds, [str(s["DBSnapshotIdentifier"]) for s in surplus],
           [str(s["DBSnapshotIdentifier"]) for s in ours[: options.keep]], options.keep, report)


def _create(rds: Any, identifier: str, instance: str, report: Report) -> None:
    try:
        with report.creating(f"snapshot {identifier} (tagged {MANAGED_BY_KEY}={MANAGED_BY_VALUE})"):
            rds.create_db_snapshot(
                DBSnapshotIdentifier=identifier,
                DBInstanceIdentifier=instance,
                Tags=[{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}, {"Key": INSTANCE_KEY, "Value": instance}],
            )
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) in QUOTA_CODES:
            raise OperationFailed(
                f"rds:CreateDBSnapshot {identifier}: manual snapshot quota exceeded ({error_message(exc)}); "
                "nothing was deleted: delete old manual snapshots or raise the quota, then retry"
            ) from exc
        # The answer may be lost after RDS acted (a reset, or a retry meeting our own DBSnapshotAlreadyExists): the
        # name is unique to this run, so a snapshot by that name with our tags is the one we asked for.
        failure = translate(exc, "rds:CreateDBSnapshot", identifier)
        if not _exists_as_ours(rds, identifier, instance, failure):
            raise failure from exc
        report.info("create answer lost", f"{identifier} exists with our tags: the request went through")
    report.result["snapshot"] = identifier
    report.leave(f"snapshot {identifier} (tagged {MANAGED_BY_KEY}={MANAGED_BY_VALUE})")
    report.ok("snapshot started", identifier)


def _exists_as_ours(rds: Any, identifier: str, instance: str, failure: OperationFailed) -> bool:
    try:
        found = rds.describe_db_snapshots(DBSnapshotIdentifier=identifier).get("DBSnapshots", [])
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return False
        raise OperationFailed(f"{failure}; whether {identifier} was created is unknown (the check failed too: "
                              f"{translate(exc, 'rds:DescribeDBSnapshots', identifier)}): look for it") from exc
    except BotoCoreError as exc:
        raise OperationFailed(f"{failure}; whether {identifier} was created is unknown (the check failed too: "
                              f"{exc}): look for it") from exc
    return any(is_ours(snapshot, instance) for snapshot in found)


def _prune(rds: Any, surplus: list[str], kept: list[str], keep: int, report: Report) -> None:
    """Delete each surplus snapshot on its own: one failure (a reset, the endpoint gone) never stops the rest,
    and the report names what was deleted, what was kept and what could not be deleted."""
    deleted: list[str] = []
    failed: list[str] = []
    for old in surplus:
        try:
            rds.delete_db_snapshot(DBSnapshotIdentifier=old)
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:  # our own earlier attempt, whose answer was lost, already deleted it
                deleted.append(old)
                continue
            failed.append(old)
            report.fail(f"delete {old}", str(translate(exc, "rds:DeleteDBSnapshot", old)))
            continue
        except BotoCoreError as exc:
            failed.append(old)
            report.fail(f"delete {old}", str(translate(exc, "rds:DeleteDBSnapshot", old)))
            continue
        deleted.append(old)
    report.result["deleted"] = deleted
    report.result["kept"] = kept
    report.result["notDeleted"] = failed
    detail = (f"deleted {len(deleted)}: {', '.join(deleted) or 'none'}; kept {len(kept)} (keep {keep}): "
              f"{', '.join(kept)}")
    if failed:
        report.fail("pruned", f"{detail}; NOT deleted {len(failed)}: {', '.join(failed)} (left in place)")
    else:
        report.ok("pruned", detail)
