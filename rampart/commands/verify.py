"""`rampart verify`: drift check of the live account against the stack's promises."""

from __future__ import annotations

import argparse
from pathlib import Path

from rampart.ops import outputs as stack_outputs
from rampart.ops.report import Report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the live account against what the stack promises",
        description="For each service: the CodeDeploy group rolls back on failure and on alarm, its alarms exist "
        "and are not already in ALARM, the ECS service runs its desired count. For the database: backup "
        "retention and deletion protection as declared in Pulumi.<stack>.yaml, storage encrypted. "
        "Exit 0 no drift, 1 any drift, 2 bad input.",
    )
    stack_outputs.add_arguments(parser, stack_required=True)
    parser.add_argument("--program", type=Path, default=Path("."), metavar="DIR",
                        help="Pulumi project holding Pulumi.<stack>.yaml, for declared values (default: .)")
    parser.add_argument("--backup-retention-days", type=int, default=None, metavar="N",
                        help="override the declared retention")
    parser.add_argument("--deletion-protection", action=argparse.BooleanOptionalAction, default=None,
                        help="override the declared deletion protection")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.runner import execute
    from rampart.ops.verify import run_verify

    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    outputs.data()  # a missing file is bad input before any AWS call
    aws = Aws(resolve_region(args.region))
    overrides = {"backup_retention_days": args.backup_retention_days, "deletion_protection": args.deletion_protection}
    return execute(Report("verify"), args.format,
                   lambda report: run_verify(aws, outputs, args.program, report, overrides))
