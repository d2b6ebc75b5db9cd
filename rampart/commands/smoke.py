"""`rampart smoke`: HTTP checks against the test listener before traffic shifts."""

from __future__ import annotations

import argparse
from pathlib import Path

from rampart.errors import UsageError
from rampart.ops.report import FORMATS, Report
from rampart.ops.smoke import SmokeOptions, parse_url, run_smoke


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "smoke",
        help="HTTP checks against the test listener",
        description="GET each --path on --url; a check passes on a 2xx answer within --max-latency-ms, after "
        "following at most 5 redirects within the same origin (a loop, a redirect elsewhere or to the instance "
        "metadata address fails). Failures are retried with exponential backoff and jitter, for a service still "
        "warming up. Exit 0 all passed, 1 any failed, 2 bad input.",
    )
    parser.add_argument("--url", required=True, help="base URL, e.g. https://lb.example.com:8443")
    parser.add_argument("--path", action="append", default=[], metavar="P", help="path to check (repeatable; "
                        "default /)")
    parser.add_argument("--max-latency-ms", type=float, default=2000.0, metavar="N", help="default 2000")
    parser.add_argument("--attempts", type=int, default=5, metavar="N", help="tries per path (default 5)")
    parser.add_argument("--request-timeout", type=float, default=10.0, metavar="S", help="per request (default 10)")
    parser.add_argument("--backoff", type=float, default=1.0, metavar="S", help="first retry wait (default 1)")
    parser.add_argument("--backoff-max", type=float, default=20.0, metavar="S", help="longest wait (default 20)")
    parser.add_argument("--insecure", action="store_true",
                        help="skip TLS verification (a test listener answering with the production certificate)")
    parser.add_argument("--via-task", action="store_true",
                        help="run the checks as the stack's smoke task inside the VPC (stack output smokeTask), "
                        "judged by its exit code, instead of from this machine")
    parser.add_argument("--stack", metavar="NAME", help="with --via-task: stack whose outputs to read")
    parser.add_argument("--outputs", type=Path, default=None, metavar="FILE",
                        help="with --via-task: stack outputs JSON (`pulumi stack output --json`)")
    parser.add_argument("--cluster", help="with --via-task: ECS cluster (default: clusterName)")
    parser.add_argument("--region", default=None, help="with --via-task: AWS region")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rampart.ops.runner import execute  # brings botocore: only when the command runs

    if args.attempts < 1:
        raise UsageError(f"--attempts: expected at least 1, got {args.attempts}")
    if args.max_latency_ms <= 0 or args.request_timeout <= 0 or args.backoff < 0 or args.backoff_max < 0:
        raise UsageError("--max-latency-ms, --request-timeout, --backoff, --backoff-max: expected positive numbers")
    parse_url(args.url)
    options = SmokeOptions(url=args.url, paths=tuple(args.path or ["/"]), max_latency_ms=args.max_latency_ms,
                           attempts=args.attempts, request_timeout=args.request_timeout, backoff_base=args.backoff,
                           backoff_max=args.backoff_max, insecure=args.insecure)
    if not args.via_task:
        given = [flag for flag in ("--stack", "--outputs", "--cluster") if getattr(args, flag[2:]) is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: only with --via-task")
        return execute(Report("smoke"), args.format, lambda report: run_smoke(options, report))
    from rampart.ops import outputs as stack_outputs
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.smoke_task import options_from_outputs, run_smoke_task

    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    task = options_from_outputs(outputs, outputs.pick(args.cluster, "clusterName", "--cluster", expect=str))
    aws = Aws(resolve_region(args.region))
    return execute(Report("smoke"), args.format, lambda report: run_smoke_task(aws, task, options, report))
