"""`rampart migrate`: run the database migration as a one-off Fargate task and exit with its exit code."""

from __future__ import annotations

import argparse

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs
from rampart.ops.report import Report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="run the migration as a one-off task from the new revision",
        description="Run --command as a one-off Fargate task with the service's subnets and security groups, from "
        "--task-definition (the new revision; default: the service's current one), wait for it to stop, print "
        "its CloudWatch log stream and exit with the container's exit code (1 if it has none).",
    )
    stack_outputs.add_arguments(parser)
    parser.add_argument("--service", required=True, metavar="NAME", help="service name in the stack outputs")
    parser.add_argument("--command", required=True, help="the migration command (split like a shell would)")
    parser.add_argument("--task-definition", metavar="ARN", help="revision to run (default: the service's current)")
    parser.add_argument("--cluster", help="ECS cluster (default: clusterName)")
    parser.add_argument("--ecs-service", help="ECS service name (default: services.<service>.serviceName)")
    parser.add_argument("--container", help="container to override (default: containerName)")
    parser.add_argument("--subnets", nargs="+", help="override the service's subnets")
    parser.add_argument("--security-groups", nargs="+", help="override the service's security groups")
    parser.add_argument("--log-group", help="CloudWatch log group (default: the container's awslogs-group)")
    parser.add_argument("--timeout", type=float, default=3600.0, metavar="S", help="wait at most (default 3600)")
    parser.add_argument("--wait-delay", type=float, default=6.0, metavar="S", help="poll interval (default 6)")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.migrate import MigrateOptions, MigrateResult, run_migrate
    from rampart.ops.runner import execute

    if args.timeout <= 0 or args.wait_delay <= 0:
        raise UsageError("--timeout and --wait-delay: expected positive seconds")
    if not args.command.strip():
        raise UsageError("--command: expected a command, got an empty string")
    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    svc = f"services.{args.service}"
    options = MigrateOptions(
        cluster=outputs.pick(args.cluster, "clusterName", "--cluster", expect=str),
        service=outputs.pick(args.ecs_service, f"{svc}.serviceName", "--ecs-service", expect=str),
        command=args.command,
        container_name=args.container or outputs.optional(f"{svc}.containerName"),
        task_definition=args.task_definition,
        subnets=tuple(args.subnets or ()),
        security_groups=tuple(args.security_groups or ()),
        log_group=args.log_group or outputs.optional(f"{svc}.logGroupName"),
        timeout=args.timeout,
        wait_delay=args.wait_delay,
    )
    aws = Aws(resolve_region(args.region))
    result = MigrateResult()
    report = Report("migrate")
    return execute(report, args.format, lambda r: run_migrate(aws, options, r, result),
                   extra_text=lambda: ["--- task log ---", *result.log_lines] if result.log_lines else [])
