"""`rampart restore`: restore the stack's database into a new, equally hardened instance and measure RTO/RPO."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs
from rampart.ops.report import Report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore the database into a new hardened instance; measure the restore time and recovery point",
        description="Restore the stack's DB instance to a point in time (--to-time, --latest-restorable) or from a "
        "snapshot (--from-snapshot latest|ID) into a NEW instance with the source's subnet group, security groups, "
        "KMS key, parameter group and IAM auth, not public, deletion protection on, tagged rampart:restored-by. "
        "Waits until available, verifies it, prints the measured restore time, the recovery point and the RPO "
        "gap against the stack's recovery targets. The source is never changed; --promote prints the cut-over "
        "plan, and performs it only with --confirm. Exit 0 ok, 1 failed, 2 bad input.",
    )
    point = parser.add_mutually_exclusive_group(required=True)
    point.add_argument("--to-time", metavar="ISO8601", help="restore to this time (with a UTC offset, e.g. Z)")
    point.add_argument("--latest-restorable", action="store_true", help="restore to the latest restorable time")
    point.add_argument("--from-snapshot", metavar="latest|ID", help="restore from a snapshot of the instance")
    parser.add_argument("--db-instance", metavar="ID",
                        help="source DB instance (default: database.instanceIdentifier from the stack outputs)")
    parser.add_argument("--target-instance", metavar="ID", help="new instance id (default: <source>-restore-<time>)")
    stack_outputs.add_arguments(parser)
    parser.add_argument("--wait-timeout", type=float, default=3600.0, metavar="S",
                        help="seconds to wait for the new instance (default 3600)")
    parser.add_argument("--wait-delay", type=float, default=30.0, metavar="S", help="poll interval (default 30)")
    parser.add_argument("--verify", choices=("describe", "query"), default="describe",
                        help="describe: RDS's view of the hardening (default); query: also connect with the new "
                        "instance's master secret and run SELECT 1 and each --check (needs a route to it)")
    parser.add_argument("--check", action="append", default=[], metavar="SQL", help="extra query (with --verify query)")
    parser.add_argument("--verify-host", metavar="HOST", help="connect here instead of the endpoint (a tunnel)")
    parser.add_argument("--verify-port", type=int, metavar="PORT", help="port with --verify-host")
    parser.add_argument("--database", metavar="NAME", help="database to query (default: the instance's DBName)")
    parser.add_argument("--rto-target", type=float, metavar="MIN",
                        help="restore-time target (default: the restore path's target in the stack outputs)")
    parser.add_argument("--rpo-target", type=float, metavar="MIN",
                        help="data-loss target (default: the data-loss path's target in the stack outputs)")
    parser.add_argument("--cleanup-on-failure", action="store_true",
                        help="delete the new instance if it fails to come up or to verify (default: leave it)")
    parser.add_argument("--discard", action="store_true", help="rehearsal: delete the new instance once verified")
    parser.add_argument("--promote", action="store_true", help="print the cut-over plan (perform it with --confirm)")
    parser.add_argument("--confirm", action="store_true", help="with --promote: rename the instances")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def parse_time(raw: str, now: dt.datetime) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise UsageError(f"--to-time: expected ISO 8601 such as 2026-11-30T12:00:00Z, got {raw!r}") from None
    if value.tzinfo is None:
        raise UsageError(f"--to-time: expected a UTC offset (e.g. {raw}Z), so the recovery point is unambiguous")
    if value > now:
        raise UsageError(f"--to-time: {raw} is in the future")
    return value.astimezone(dt.UTC)


def _validate(args: argparse.Namespace) -> None:
    if args.wait_timeout <= 0 or args.wait_delay <= 0:
        raise UsageError("--wait-timeout and --wait-delay: expected positive seconds")
    if args.confirm and not args.promote:
        raise UsageError("--confirm: only with --promote (it confirms the cut-over)")
    if args.promote and args.discard:
        raise UsageError("--promote and --discard: choose one (promote keeps the copy, discard deletes it)")
    if (args.check or args.verify_host or args.verify_port) and args.verify != "query":
        raise UsageError("--check, --verify-host and --verify-port: only with --verify query")
    for flag, value in (("--rto-target", args.rto_target), ("--rpo-target", args.rpo_target)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag}: expected positive minutes, got {value:g}")
    if args.from_snapshot is not None and not args.from_snapshot.strip():
        raise UsageError("--from-snapshot: expected `latest` or a snapshot id")


def targets(outputs: stack_outputs.StackOutputs) -> tuple[float | None, float | None]:
    """(restore RTO, data-loss RPO) in minutes from the stack's `recovery` export, when there is one."""
    recovery: Any = outputs.optional("recovery") or {}
    paths = {(p.get("path"), p.get("objective")): p.get("targetMinutes")
             for p in recovery.get("paths") or [] if isinstance(p, dict)}
    rto = paths.get(("restore", "RTO"), recovery.get("rtoMinutes"))
    rpo = paths.get(("data loss", "RPO"), recovery.get("rpoMinutes"))
    return (float(rto) if isinstance(rto, int | float) else None, float(rpo) if isinstance(rpo, int | float) else None)


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.restore import RestoreOptions, run_restore
    from rampart.ops.runner import execute

    _validate(args)
    now = dt.datetime.now(dt.UTC)
    to_time = parse_time(args.to_time, now) if args.to_time else None
    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    source = outputs.pick(args.db_instance, "database.instanceIdentifier", "--db-instance", expect=str)
    rto, rpo = targets(outputs) if (args.stack or args.outputs) else (None, None)
    rto = args.rto_target if args.rto_target is not None else rto
    rpo = args.rpo_target if args.rpo_target is not None else rpo
    options = RestoreOptions(
        source=source, target=args.target_instance, to_time=to_time, latest_restorable=args.latest_restorable,
        snapshot=args.from_snapshot, wait_timeout=args.wait_timeout, wait_delay=args.wait_delay, verify=args.verify,
        checks=tuple(args.check), verify_host=args.verify_host, verify_port=args.verify_port, database=args.database,
        cleanup_on_failure=args.cleanup_on_failure, discard=args.discard, promote=args.promote, confirm=args.confirm,
        rto_minutes=rto, rpo_minutes=rpo,
    )
    aws = Aws(resolve_region(args.region))
    return execute(Report("restore"), args.format, lambda report: run_restore(aws, options, report))
