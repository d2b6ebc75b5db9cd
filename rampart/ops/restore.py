"""Restore the stack's database into a NEW instance with the source's hardening, measure it, verify it.

Point in time (`--to-time`, `--latest-restorable`) or a snapshot (`--from-snapshot latest|ID`). RDS restores into
the default subnet group, security group and parameter group unless told otherwise, so every hardening setting is
read from the source instance and passed explicitly; the storage KMS key follows the source (PITR) or the
snapshot, and is checked after the restore. The source is never modified. Cut-over is rampart/ops/restore_promote.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from rampart.errors import OperationFailed
from rampart.ops.aws import AWS_FAILURES, Aws, calling, error_code, translate, wait_or_fail, waiter_reason
from rampart.ops.report import Report
from rampart.ops.restore_promote import promote
from rampart.ops.restore_verify import check_hardening, run_queries

RESTORED_BY_KEY = "rampart:restored-by"
RESTORED_BY_VALUE = "rampart-restore"
SOURCE_KEY = "rampart:restore-source"
POINT_KEY = "rampart:recovery-point"
MAX_IDENTIFIER = 63


@dataclass(frozen=True, kw_only=True)
class RestoreOptions:
    source: str
    target: str | None = None
    to_time: dt.datetime | None = None
    latest_restorable: bool = False
    snapshot: str | None = None
    """"latest" (newest available snapshot of the source, automated or manual) or a snapshot id."""
    wait_timeout: float = 3600.0
    wait_delay: float = 30.0
    verify: str = "describe"
    """"describe": RDS's own view of the new instance; "query": also connect and run the checks (needs a route)."""
    checks: tuple[str, ...] = ()
    verify_host: str | None = None
    verify_port: int | None = None
    database: str | None = None
    cleanup_on_failure: bool = False
    discard: bool = False
    """Rehearsal: delete the restored instance once measured and verified."""
    promote: bool = False
    confirm: bool = False
    """With promote: perform the cut-over; without, print its plan only."""
    rto_minutes: float | None = None
    rpo_minutes: float | None = None
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class RecoveryPoint:
    mode: str
    """"point-in-time" or "snapshot"."""
    at: dt.datetime | None
    """The point the data is restored to (None only for a latest-restorable restore whose time RDS never said)."""
    request: dict[str, Any]


def describe_instance(rds: Any, identifier: str) -> dict[str, Any]:
    with calling("rds:DescribeDBInstances", f"DB instance {identifier}"):
        found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    if not found:
        raise OperationFailed(f"rds:DescribeDBInstances {identifier}: not found")
    return dict(found[0])


def target_identifier(source: str, now: dt.datetime) -> str:
    """`<source>-restore-<yyyymmddHHMM>`: within RDS's 63 characters, the timestamp suffix never cut."""
    suffix = f"-restore-{now:%Y%m%d%H%M}"
    return f"{source[: MAX_IDENTIFIER - len(suffix)].rstrip('-')}{suffix}"


def _utc(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def resolve_point(rds: Any, source: dict[str, Any], options: RestoreOptions) -> RecoveryPoint:
    identifier = str(source["DBInstanceIdentifier"])
    if options.snapshot is not None:
        snapshot = _snapshot(rds, identifier, options.snapshot)
        return RecoveryPoint("snapshot", _utc(snapshot.get("SnapshotCreateTime")),
                             {"DBSnapshotIdentifier": snapshot["DBSnapshotIdentifier"]})
    latest = _utc(source.get("LatestRestorableTime"))
    if options.to_time is not None:
        if latest is not None and options.to_time > latest:
            raise OperationFailed(f"--to-time {options.to_time.isoformat()}: later than {identifier}'s latest "
                                  f"restorable time {latest.isoformat()}")
        if int(source.get("BackupRetentionPeriod") or 0) < 1:
            raise OperationFailed(f"DB instance {identifier} keeps no automated backups: no point-in-time restore")
        return RecoveryPoint("point-in-time", options.to_time, {"RestoreTime": options.to_time})
    return RecoveryPoint("point-in-time", latest, {"UseLatestRestorableTime": True})


def _snapshot(rds: Any, instance: str, wanted: str) -> dict[str, Any]:
    if wanted != "latest":
        with calling("rds:DescribeDBSnapshots", f"snapshot {wanted}"):
            found = rds.describe_db_snapshots(DBSnapshotIdentifier=wanted)["DBSnapshots"]
        status = found[0].get("Status") if found else "missing"
        if status != "available":
            raise OperationFailed(f"--from-snapshot {wanted}: not available (status {status})")
        return dict(found[0])
    snapshots: list[dict[str, Any]] = []
    with calling("rds:DescribeDBSnapshots", f"snapshots of {instance}"):
        for page in rds.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=instance):
            snapshots.extend(page.get("DBSnapshots", []))
    ready = [s for s in snapshots if s.get("Status") == "available" and _utc(s.get("SnapshotCreateTime"))]
    if not ready:
        raise OperationFailed(f"--from-snapshot latest: no available snapshot of {instance}")
    return max(ready, key=lambda s: _utc(s["SnapshotCreateTime"]))


def hardening(source: dict[str, Any]) -> dict[str, Any]:
    """The restore request's settings that make the copy as hardened as the source (RDS defaults otherwise)."""
    settings: dict[str, Any] = {
        "DBInstanceClass": source["DBInstanceClass"],
        "DBSubnetGroupName": (source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups") or []],
        "DBParameterGroupName": next((g["DBParameterGroupName"] for g in source.get("DBParameterGroups") or []),
                                     None),
        "MultiAZ": bool(source.get("MultiAZ")),
        "PubliclyAccessible": False,
        "DeletionProtection": True,
        "CopyTagsToSnapshot": True,
        "EnableIAMDatabaseAuthentication": bool(source.get("IAMDatabaseAuthenticationEnabled")),
        "EnableCloudwatchLogsExports": list(source.get("EnabledCloudwatchLogsExports") or []),
    }
    secret = source.get("MasterUserSecret") or {}
    if secret.get("KmsKeyId"):
        # The copy gets its own RDS-managed master secret (the source's rotates on its own schedule).
        settings.update(ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=secret["KmsKeyId"])
    return {key: value for key, value in settings.items() if value not in (None, [])}


def restore_tags(source: dict[str, Any], point: RecoveryPoint) -> list[dict[str, str]]:
    # The source's own tags (stack, owner) carry over; AWS's reserved ones and an earlier restore's never do.
    ours = (RESTORED_BY_KEY, SOURCE_KEY, POINT_KEY)
    inherited = [t for t in source.get("TagList") or []
                 if not str(t.get("Key", "")).startswith("aws:") and t.get("Key") not in ours]
    when = point.at.isoformat() if point.at else "latest-restorable"
    return [*inherited, {"Key": RESTORED_BY_KEY, "Value": RESTORED_BY_VALUE},
            {"Key": SOURCE_KEY, "Value": str(source["DBInstanceIdentifier"])}, {"Key": POINT_KEY, "Value": when}]


def start_restore(rds: Any, source: dict[str, Any], target: str, point: RecoveryPoint) -> dict[str, Any]:
    request = {**hardening(source), **point.request, "Tags": restore_tags(source, point)}
    if point.mode == "snapshot":
        return rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=target, **request)["DBInstance"]
    return rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=source["DBInstanceIdentifier"], TargetDBInstanceIdentifier=target,
        **request)["DBInstance"]


def _absent(rds: Any, target: str) -> bool:
    try:
        rds.describe_db_instances(DBInstanceIdentifier=target)
    except ClientError as exc:
        if error_code(exc) in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
            return True
        raise
    return False


def _start(rds: Any, source: dict[str, Any], target: str, point: RecoveryPoint, report: Report) -> None:
    """Start the restore once. The target was checked absent first, so after a failure whose answer may be lost (a
    reset, or a retry refused with DBInstanceAlreadyExists) an instance by that id tagged as ours is this run's own
    copy: carry on with it rather than report a failure or try again."""
    action = ("rds:RestoreDBInstanceFromDBSnapshot" if point.mode == "snapshot"
              else "rds:RestoreDBInstanceToPointInTime")
    label = f"DB instance {target} (tagged {RESTORED_BY_KEY}={RESTORED_BY_VALUE}, deletion protection on)"
    try:
        with report.creating(label):
            start_restore(rds, source, target, point)
    except AWS_FAILURES as exc:
        try:
            found = None if _absent(rds, target) else describe_instance(rds, target)
        except (*AWS_FAILURES, OperationFailed) as check:
            report.leave(f"{label} (whether it exists is unknown)")
            raise OperationFailed(f"{translate(exc, action, target)}; whether {target} was created is unknown (the "
                                  f"check failed too: {check}): look for it") from exc
        tags = {t.get("Key"): t.get("Value") for t in (found or {}).get("TagList") or []}
        if tags.get(RESTORED_BY_KEY) != RESTORED_BY_VALUE or tags.get(SOURCE_KEY) != source["DBInstanceIdentifier"]:
            raise translate(exc, action, f"{target} (nothing was created)") from exc
        report.info("restore answer lost", f"{target} exists with our tags: the request went through")
    report.leave(label)


def discard(rds: Any, target: str) -> None:
    """Delete an instance this command restored: its deletion protection first (only ever on our own copy)."""
    with calling("rds:ModifyDBInstance", f"{target} (turning off deletion protection to discard it)"):
        rds.modify_db_instance(DBInstanceIdentifier=target, DeletionProtection=False, ApplyImmediately=True)
    with calling("rds:DeleteDBInstance", target):
        rds.delete_db_instance(DBInstanceIdentifier=target, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


def _left_behind(rds: Any, target: str, options: RestoreOptions, why: str) -> OperationFailed:
    if options.cleanup_on_failure:
        try:
            discard(rds, target)
        except OperationFailed as exc:
            return OperationFailed(f"{why}; cleaning up failed too ({exc}): DB instance {target} was left in place")
        return OperationFailed(f"{why}; the new DB instance {target} is being deleted (--cleanup-on-failure)")
    return OperationFailed(f"{why}; the new DB instance {target} was left in place (deletion protection on): "
                           f"inspect it, or delete it after `aws rds modify-db-instance --db-instance-identifier "
                           f"{target} --no-deletion-protection`")


def run_restore(aws: Aws, options: RestoreOptions, report: Report) -> None:
    rds = aws.client("rds")
    source = describe_instance(rds, options.source)
    report.ok("source", f"{options.source} ({source.get('DBInstanceClass')}, "
                        f"{source.get('DBInstanceStatus')})")
    point = resolve_point(rds, source, options)
    requested = options.now()
    target = options.target or target_identifier(options.source, requested)
    report.result.update(source=options.source, target=target, mode=point.mode)
    with calling("rds:DescribeDBInstances", f"DB instance {target} (checking the new id is free)"):
        if not _absent(rds, target):
            raise OperationFailed(f"DB instance {target} already exists: choose another --target-instance")
    started = options.clock()
    _start(rds, source, target, point, report)
    report.ok("restore started", f"{target} from {options.source} ({point.mode})")
    report.progress(f"waiting for {target} to become available")
    try:
        wait_or_fail(rds, "db_instance_available", action="rds:DescribeDBInstances", resource=f"DB instance {target}",
                     timeout=options.wait_timeout, delay=options.wait_delay, DBInstanceIdentifier=target)
    except WaiterError as exc:
        raise _left_behind(rds, target, options, f"DB instance {target} not available after "
                                                 f"{options.wait_timeout:g}s ({waiter_reason(exc)})") from exc
    except OperationFailed as exc:
        raise _left_behind(rds, target, options, str(exc)) from exc
    seconds = options.clock() - started
    restored = describe_instance(rds, target)
    report.ok("available", f"{target} after {seconds:.0f}s", seconds=round(seconds, 1))
    problems = check_hardening(source, restored, report)
    if options.verify == "query":
        problems += run_queries(aws, restored, options, report)
    if problems:
        raise _left_behind(rds, target, options, f"verification failed: {'; '.join(problems)}")
    _objectives(report, point, requested, seconds, options)
    if options.discard:
        discard(rds, target)
        report.result["leftBehind"] = [i for i in report.result.get("leftBehind", []) if target not in i]
        report.ok("discarded", f"{target} deleted after the rehearsal (--discard)")
    elif options.promote:
        promote(rds, report, source=options.source, target=target, confirm=options.confirm, now=options.now(),
                timeout=options.wait_timeout, delay=options.wait_delay)


def _objectives(report: Report, point: RecoveryPoint, requested: dt.datetime, seconds: float,
                options: RestoreOptions) -> None:
    minutes = seconds / 60
    report.result["restoreSeconds"] = round(seconds, 1)
    report.result["recoveryPoint"] = point.at.isoformat() if point.at else None
    rto = f"; target {options.rto_minutes:g} min: {'met' if minutes <= options.rto_minutes else 'MISSED'}" \
        if options.rto_minutes is not None else ""
    report.info("RTO", f"restore took {minutes:.1f} min{rto}")
    if point.at is None:
        report.info("RPO", "recovery point not reported by RDS (latest restorable time unknown)")
        return
    gap = max((requested - point.at).total_seconds() / 60, 0.0)
    report.result["rpoGapMinutes"] = round(gap, 1)
    rpo = f"; target {options.rpo_minutes:g} min: {'met' if gap <= options.rpo_minutes else 'MISSED'}" \
        if options.rpo_minutes is not None else ""
    report.info("RPO", f"recovery point {point.at.isoformat()} ({point.mode}), {gap:.1f} min before the "
                       f"restore was requested{rpo}")
