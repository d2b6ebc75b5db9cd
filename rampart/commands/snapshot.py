"""`rampart snapshot`: a tagged manual RDS snapshot before a deploy, pruning only rampart's own old ones."""

from __future__ import annotations

import argparse

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs
from rampart.ops.report import Report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="take a tagged manual RDS snapshot and prune rampart's own old ones",
        description="Wait until the DB instance is available, take a manual snapshot tagged "
        "rampart:managed-by=rampart-snapshot, wait for it, then delete rampart's own manual snapshots of that "
        "instance beyond the newest --keep. Automated and foreign snapshots are never touched; a failure leaves "
        "every existing snapshot in place. Exit 0 ok, 1 failed, 2 bad input.",
    )
    parser.add_argument("--db-instance", default=None, metavar="ID",
                        help="DB instance identifier (default: database.instanceIdentifier from the stack outputs)")
    stack_outputs.add_arguments(parser)
    parser.add_argument("--keep", type=int, default=10, metavar="N", help="our manual snapshots to keep (default 10)")
    parser.add_argument("--wait-timeout", type=float, default=1800.0, metavar="S",
                        help="seconds to wait for the instance, and again for the snapshot (default 1800)")
    parser.add_argument("--wait-delay", type=float, default=15.0, metavar="S",
                        help="seconds between status polls (default 15)")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.runner import execute
    from rampart.ops.snapshot import SnapshotOptions, run_snapshot

    if args.keep < 1:
        raise UsageError(f"--keep: expected at least 1 (the snapshot just taken), got {args.keep}")
    if args.wait_timeout <= 0 or args.wait_delay <= 0:
        raise UsageError("--wait-timeout and --wait-delay: expected positive seconds")
    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    instance = outputs.pick(args.db_instance, "database.instanceIdentifier", "--db-instance", expect=str)
    aws = Aws(resolve_region(args.region))
    options = SnapshotOptions(instance=instance, keep=args.keep, wait_timeout=args.wait_timeout,
                              wait_delay=args.wait_delay)
    return execute(Report("snapshot"), args.format, lambda report: run_snapshot(aws, options, report))
