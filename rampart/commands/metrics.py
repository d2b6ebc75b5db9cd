"""`rampart metrics`: DORA's four metrics per service and environment, and the deploy pipeline's health."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs

FORMATS = ("text", "json", "html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="DORA metrics (deployment frequency, lead time, change failure rate, time to restore) and pipeline health",
        description="Read each service's CodeDeploy deployment history (the stack outputs name the applications and "
        "groups) and, with --repository, the commits each deployment shipped (GitHub compare API, for lead time), "
        "GitHub deployments of the environment (--github-deployments) and the deploy workflow's last runs "
        "(--workflow); print the four DORA metrics per service and environment as a table, JSON or a "
        "self-contained HTML page with charts. GITHUB_TOKEN authenticates. Exit 0 ok, 1 a source failed, 2 bad input.",
    )
    stack_outputs.add_arguments(parser)
    parser.add_argument("--days", type=int, default=30, metavar="N", help="window: the last N days (default 30)")
    parser.add_argument("--repository", default=None, metavar="OWNER/NAME",
                        help="GitHub repository (default: GITHUB_REPOSITORY); without it lead time is not computed")
    parser.add_argument("--github-deployments", action="store_true",
                        help="also count the environment's GitHub deployments (service from payload.service)")
    parser.add_argument("--workflow", default=None, metavar="FILE",
                        help="workflow file whose runs the health check reads (e.g. deploy.yml)")
    parser.add_argument("--until", default=None, metavar="ISO-TIME",
                        help="end of the window (default: now), e.g. 2026-11-30T00:00:00Z: a report can be re-run")
    parser.add_argument("--runs", type=int, default=20, metavar="N", help="runs the health check reads (default 20)")
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE", help="write there instead of stdout")
    parser.set_defaults(handler=handle)


def _services(outputs: stack_outputs.StackOutputs) -> dict[str, dict[str, Any]]:
    services = outputs.get("services", expect=dict)
    for name, declared in services.items():
        if not isinstance(declared, dict) or not {"codedeployApplication", "deploymentGroup"} <= set(declared):
            raise UsageError(f"{outputs.path}: services.{name}: expected codedeployApplication and deploymentGroup")
    return services


def _until(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--until: expected an ISO date-time such as 2026-11-30T00:00:00Z, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def handle(args: argparse.Namespace) -> int:
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.dora import compute, pipeline_health
    from rampart.ops.metrics_sources import GitHub, codedeploy_history, window_start

    if not 1 <= args.days <= 365:
        raise UsageError(f"--days: expected 1 to 365, got {args.days}")
    if not 1 <= args.runs <= 1000:
        raise UsageError(f"--runs: expected 1 to 1000, got {args.runs}")
    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    services, environment = _services(outputs), outputs.get("environment", expect=str)
    repository = args.repository or os.environ.get("GITHUB_REPOSITORY")
    github = GitHub(repository) if repository else None
    if (args.workflow or args.github_deployments) and github is None:
        raise UsageError("--workflow / --github-deployments: need --repository OWNER/NAME (or GITHUB_REPOSITORY)")
    until = _until(args.until)
    since = window_start(until, args.days)
    aws = Aws(resolve_region(args.region))
    history = [d for name, s in sorted(services.items()) for d in codedeploy_history(
        aws, service=name, environment=environment, application=s["codedeployApplication"],
        group=s["deploymentGroup"], since=since, until=until)]
    if args.github_deployments:
        history += [d for d in github.deployments(environment, since) if d.created <= until]
    metrics = compute(history, args.days, github.commit_times if github else lambda previous, head: [])
    report: dict[str, Any] = {"days": args.days, "metrics": [m.as_dict() for m in metrics]}
    if args.workflow:
        report["pipeline"] = pipeline_health(args.workflow, github.runs(args.workflow, args.runs)).as_dict()
    _emit(args, report, [{"service": d.service, "environment": d.environment, "status": d.status,
                          "completed": d.completed.isoformat() if d.completed else None} for d in history])
    return 0


def _emit(args: argparse.Namespace, report: dict[str, Any], deployments: list[dict[str, Any]]) -> None:
    from rampart.ops.metrics_html import render

    if args.format == "json":
        text = json.dumps(report, indent=2) + "\n"
    elif args.format == "html":
        text = render(report, [d for d in deployments if d["completed"]])
    else:
        text = table(report)
    if args.output is None:
        print(text, end="")
        return
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {args.output}: cannot write: {exc.strerror}") from None


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.2f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def table(report: dict[str, Any]) -> str:
    """Plain columns (a job summary and a terminal read them alike)."""
    head = ("service", "environment", "deploys", "per day", "lead time", "change failure", "time to restore")
    rows = [head] + [(m["service"], m["environment"], _fmt(m["deployments"]), _fmt(m["deploymentsPerDay"]),
                      _fmt(m["leadTimeHours"], " h"),
                      "-" if m["changeFailureRate"] is None else f"{m['changeFailureRate']:.0%}",
                      _fmt(m["timeToRestoreHours"], " h")) for m in report["metrics"]]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(0, f"DORA metrics, last {report['days']} days")
    health = report.get("pipeline")
    if health:
        rate = "-" if health["failureRate"] is None else f"{health['failureRate']:.0%}"
        lines.append(f"pipeline {health['workflow']}: {health['runs']} runs, {rate} failed, median "
                     f"{_fmt(health['medianMinutes'], ' min')}, p90 {_fmt(health['p90Minutes'], ' min')}, trend "
                     f"{_fmt(health['trendMinutes'], ' min')}")
    return "\n".join(lines) + "\n"
