"""The smoke checks as a one-off ECS task inside the VPC (components/smoke_runner.py), for `--smoke-task`/`--via-task`.

The internet-facing ALB admits on its test listener only the NAT gateways' addresses (and configured ranges), so
a hosted CI runner cannot reach it; a task in the private subnets can. The task runs curl per path with retries;
its exit code is the verdict, its log lines (one `rampart-smoke <index> ok|fail ...` line per path) the detail.
The task never sees a secret: its command holds only the URL and the paths.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from rampart.errors import OperationFailed
from rampart.ops import ecs as ecs_ops
from rampart.ops.aws import Aws, calling, wait, waiter_reason
from rampart.ops.report import Report
from rampart.ops.smoke import SmokeOptions

MARKER = "rampart-smoke"
STARTUP_SECONDS = 180.0
"""Room for Fargate to place the task and pull the image before the first check."""


@dataclass(frozen=True, kw_only=True)
class SmokeTaskOptions:
    cluster: str
    family: str
    """Task definition family; RunTask takes its latest ACTIVE revision."""
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    container_name: str | None = None
    timeout: float | None = None
    """Seconds to wait for the task to stop; None: start-up plus the checks' own worst case."""
    wait_delay: float = 6.0


def curl_command(smoke: SmokeOptions) -> list[str]:
    """`sh -c` running curl --fail with retries per path; exit 1 when any path fails."""
    base = smoke.url.rstrip("/")
    retry_budget = smoke.attempts * (smoke.request_timeout + smoke.backoff_max)
    flags = ["--fail", "--silent", "--show-error", "--output", "/dev/null", "--max-time", f"{smoke.request_timeout:g}",
             "--retry", str(smoke.attempts - 1), "--retry-all-errors", "--retry-max-time", f"{retry_budget:g}",
             "--write-out", "%{http_code} %{time_total}s", "--user-agent", MARKER]
    if smoke.insecure:
        flags.append("--insecure")
    lines = ["failed=0"]
    for index, path in enumerate(smoke.paths):
        url = base + (path if path.startswith("/") else f"/{path}")
        curl = shlex.join(["curl", *flags, url])
        # curl --fail passes a 3xx; only a 2xx is healthy (redirects are not followed inside the VPC: a listener
        # that redirects, perhaps to the metadata address, fails the check instead).
        lines.append(f'if out=$({curl} 2>&1) && case "$out" in 2[0-9][0-9]" "*) true;; *) false;; esac; '
                     f'then echo "{MARKER} {index} ok $out"; '
                     f'else echo "{MARKER} {index} fail $out"; failed=1; fi')
    lines.append('exit "$failed"')
    return ["sh", "-c", "\n".join(lines)]


def worst_case_seconds(smoke: SmokeOptions) -> float:
    per_path = smoke.attempts * (smoke.request_timeout + smoke.backoff_max)
    return STARTUP_SECONDS + per_path * len(smoke.paths)


def run_smoke_task(aws: Aws, task: SmokeTaskOptions, smoke: SmokeOptions, report: Report) -> None:
    """Run the checks in the VPC; file `url` and `checks` in the result as run_smoke does, plus `smokeTask`."""
    report.result["url"] = smoke.url
    try:
        exit_code, lines = _run(aws, task, smoke, report)
    except OperationFailed as exc:
        # Nothing was judged: every path fails, so a deploy gate stops with rollback instead of hanging in Ready.
        report.result["checks"] = [{"path": p, "status": None, "ok": False, "problems": [str(exc)]}
                                   for p in smoke.paths]
        report.fail("smoke task", str(exc))
        return
    report.result["checks"] = _checks(smoke, exit_code, lines)
    for check in report.result["checks"]:
        if check["ok"]:
            report.ok(f"GET {check['path']}", f"HTTP {check['status']} from inside the VPC")
        else:
            report.fail(f"GET {check['path']}", check["problems"][-1])


def _run(aws: Aws, task: SmokeTaskOptions, smoke: SmokeOptions, report: Report) -> tuple[int, list[str]]:
    ecs = aws.client("ecs")
    definition, _ = ecs_ops.describe_task_definition(ecs, task.family)
    container = ecs_ops.container(definition, task.container_name)
    name = str(container["name"])
    network = {"awsvpcConfiguration": {"subnets": list(task.subnets), "securityGroups": list(task.security_groups),
                                       "assignPublicIp": "DISABLED"}}
    try:
        with calling("ecs:RunTask", f"{task.family} in cluster {task.cluster}"):
            answer = ecs.run_task(cluster=task.cluster, taskDefinition=task.family, count=1, launchType="FARGATE",
                                  startedBy=MARKER, networkConfiguration=network,
                                  overrides={"containerOverrides": [{"name": name, "command": curl_command(smoke)}]})
    except ClientError as exc:
        raise OperationFailed(str(exc)) from exc
    if answer.get("failures") or not answer.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in answer.get("failures", []))
        raise OperationFailed(f"ecs:RunTask {task.family}: no task started ({reasons or 'no reason given'})")
    task_arn = str(answer["tasks"][0]["taskArn"])
    facts: dict[str, Any] = {"taskArn": task_arn, "taskDefinitionArn": answer["tasks"][0].get("taskDefinitionArn")}
    report.result["smokeTask"] = facts
    report.ok("smoke task started", f"{task_arn} in {', '.join(task.subnets)} (no public IP)")

    timeout = task.timeout if task.timeout is not None else worst_case_seconds(smoke)
    report.progress(f"waiting for {task_arn} to stop")
    try:
        wait(ecs, "tasks_stopped", timeout=timeout, delay=task.wait_delay, cluster=task.cluster, tasks=[task_arn])
    except WaiterError as exc:
        # Left running: it ends by itself when curl's retries run out, and the role may not stop tasks.
        raise OperationFailed(f"task {task_arn} still running after {timeout:g}s ({waiter_reason(exc)})") from exc
    with calling("ecs:DescribeTasks", task_arn):
        stopped = ecs.describe_tasks(cluster=task.cluster, tasks=[task_arn])["tasks"][0]
    ran = next((c for c in stopped.get("containers", []) if c.get("name") == name), {})
    lines = _log(aws, container, task_arn, report, facts)
    if ran.get("exitCode") is None:
        reason = stopped.get("stoppedReason") or ran.get("reason") or "no exit code"
        raise OperationFailed(f"smoke task {task_arn} stopped without an exit code: {reason}")
    facts["exitCode"] = int(ran["exitCode"])
    return facts["exitCode"], lines


def _log(aws: Aws, container: dict[str, Any], task_arn: str, report: Report, facts: dict[str, Any]) -> list[str]:
    try:
        where, lines = ecs_ops.task_log(aws, container, task_arn)
    except OperationFailed as exc:
        report.add("smoke task log", "skip", str(exc))
        return []
    facts["logStream"], facts["log"] = where, lines
    report.info("smoke task log", f"{len(lines)} lines from {where}")
    for line in lines:
        report.info("  log", line)
    return lines


def _checks(smoke: SmokeOptions, exit_code: int, lines: list[str]) -> list[dict[str, Any]]:
    """One record per path from its log line; the exit code decides when the log is missing."""
    verdicts: dict[int, tuple[bool, str]] = {}
    for line in lines:
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[0] == MARKER and parts[1].isdigit():
            verdicts[int(parts[1])] = (parts[2] == "ok", parts[3] if len(parts) > 3 else "")
    checks = []
    for index, path in enumerate(smoke.paths):
        ok, detail = verdicts.get(index, (exit_code == 0, f"no log line; task exit code {exit_code}"))
        status = next((int(w) for w in detail.split() if w.isdigit() and len(w) == 3), None)
        checks.append({"path": path, "status": status, "ok": ok, "attempts": smoke.attempts,
                       "problems": [] if ok else [detail or f"task exit code {exit_code}"]})
    if exit_code != 0 and all(c["ok"] for c in checks):
        for check in checks:  # the exit code is the verdict, whatever the log says
            check["ok"], check["problems"] = False, [f"task exit code {exit_code}"]
    return checks


def options_from_outputs(outputs: Any, cluster: str) -> SmokeTaskOptions:
    """The smoke task where the stack says to run it (stack output smokeTask); UsageError naming the key."""
    family = outputs.get("smokeTask.family", flag="--smoke-task", expect=str)
    subnets = outputs.get("smokeTask.subnetIds", flag="--smoke-task", expect=list)
    groups = outputs.get("smokeTask.securityGroupIds", flag="--smoke-task", expect=list)
    container = outputs.optional("smokeTask.containerName")
    return SmokeTaskOptions(cluster=cluster, family=family, subnets=tuple(str(s) for s in subnets),
                            security_groups=tuple(str(g) for g in groups),
                            container_name=container if isinstance(container, str) else None)
