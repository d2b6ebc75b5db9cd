"""One-off migration task: the service's network, the new revision, the command overridden; exit with its code."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from rampart.errors import OperationFailed
from rampart.ops import ecs as ecs_ops
from rampart.ops.aws import Aws, calling, error_code, translate, wait, waiter_reason
from rampart.ops.report import Report

MAX_LOG_PAGES = 50


@dataclass(frozen=True, kw_only=True)
class MigrateOptions:
    cluster: str
    service: str
    command: str
    container_name: str | None = None
    task_definition: str | None = None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    log_group: str | None = None
    timeout: float = 3600.0
    wait_delay: float = 6.0


@dataclass
class MigrateResult:
    exit_code: int | None = None
    log_lines: list[str] = field(default_factory=list)


def run_migrate(aws: Aws, options: MigrateOptions, report: Report, result: MigrateResult) -> None:
    ecs = aws.client("ecs")
    command = _command(options)
    service = ecs_ops.describe_service(ecs, options.cluster, options.service)
    task_definition_arn = options.task_definition or ecs_ops.current_task_definition(service)
    task_definition, _ = ecs_ops.describe_task_definition(ecs, task_definition_arn)
    container = ecs_ops.container(task_definition, options.container_name)
    name = str(container["name"])
    launch = {
        "networkConfiguration": {"awsvpcConfiguration": _awsvpc(service, options)},
        **_placement(service),
    }
    task_arn = _start_task(ecs, options, task_definition_arn, name, command, launch, report)
    _wait_stopped(ecs, options, task_arn, report)
    with calling("ecs:DescribeTasks", task_arn):
        task = ecs.describe_tasks(cluster=options.cluster, tasks=[task_arn])["tasks"][0]
    _print_logs(aws, options, task_definition, container, task_arn, report, result)
    _conclude(task, name, report, result)


def _command(options: MigrateOptions) -> list[str]:
    try:
        return shlex.split(options.command)
    except ValueError as exc:
        # Never the command: its arguments can hold a credential (a database URL, --password=...).
        raise OperationFailed(f"--command: cannot split it into arguments as a shell would: {exc}") from None


def _awsvpc(service: dict[str, Any], options: MigrateOptions) -> dict[str, Any]:
    """The service's own subnets and security groups unless the options name others."""
    network = ecs_ops.network_configuration(service) or {}
    vpc = dict(network.get("awsvpcConfiguration") or {})
    if options.subnets:
        vpc["subnets"] = list(options.subnets)
    if options.security_groups:
        vpc["securityGroups"] = list(options.security_groups)
    if not vpc.get("subnets"):
        raise OperationFailed(f"service {options.service}: no awsvpc subnets to run the task in (pass --subnets)")
    vpc.setdefault("assignPublicIp", "DISABLED")
    return vpc


def _placement(service: dict[str, Any]) -> dict[str, Any]:
    """Where the service's primary deployment runs (capacity providers or launch type, platform version)."""
    primary = ecs_ops.primary(service)
    placement: dict[str, Any] = {}
    if primary.get("capacityProviderStrategy") or service.get("capacityProviderStrategy"):
        placement["capacityProviderStrategy"] = primary.get("capacityProviderStrategy") or \
            service["capacityProviderStrategy"]
    else:
        placement["launchType"] = primary.get("launchType") or service.get("launchType") or "FARGATE"
    if primary.get("platformVersion") or service.get("platformVersion"):
        placement["platformVersion"] = primary.get("platformVersion") or service["platformVersion"]
    return placement


def _start_task(ecs: Any, options: MigrateOptions, task_definition_arn: str, name: str, command: list[str],
                launch: dict[str, Any], report: Report) -> str:
    with calling("ecs:RunTask", f"{task_definition_arn} in cluster {options.cluster}"), \
            report.creating(f"a task started by rampart-migrate in cluster {options.cluster}"):
        answer = ecs.run_task(
            cluster=options.cluster, taskDefinition=task_definition_arn, count=1, startedBy="rampart-migrate",
            overrides={"containerOverrides": [{"name": name, "command": command}]},
            **launch,
        )
    if answer.get("failures") or not answer.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in answer.get("failures", []))
        raise OperationFailed(f"ecs:RunTask {task_definition_arn}: no task started ({reasons or 'no reason given'})")
    task_arn = str(answer["tasks"][0]["taskArn"])
    report.result["taskArn"] = task_arn
    report.leave(f"task {task_arn} (startedBy rampart-migrate; it runs on if this run stops: a migration is never "
                 "killed halfway)")
    report.result["taskDefinitionArn"] = task_definition_arn
    program = command[0] if command else "the image's own command"
    report.ok("task started", f"{task_arn} ({name}: {program} and {max(len(command) - 1, 0)} argument(s), "
                              "not shown: they can hold credentials)")
    return task_arn


def _wait_stopped(ecs: Any, options: MigrateOptions, task_arn: str, report: Report) -> None:
    report.progress(f"waiting for {task_arn} to stop")
    try:
        wait(ecs, "tasks_stopped", timeout=options.timeout, delay=options.wait_delay,
             cluster=options.cluster, tasks=[task_arn])
    except WaiterError as exc:
        # Not stopped on purpose: killing a migration halfway can leave the schema worse than either end.
        raise OperationFailed(
            f"task {task_arn} still running after {options.timeout:g}s ({waiter_reason(exc)}); it was left "
            "running: inspect it, or stop it with `aws ecs stop-task`"
        ) from exc


def _conclude(task: dict[str, Any], name: str, report: Report, result: MigrateResult) -> None:
    ran = next((c for c in task.get("containers", []) if c.get("name") == name), {})
    exit_code = ran.get("exitCode")
    if exit_code is None:
        reason = task.get("stoppedReason") or ran.get("reason") or "no exit code"
        report.fail("task stopped", f"container {name} has no exit code: {reason}")
        result.exit_code = 1
        return
    result.exit_code = int(exit_code)
    report.result["exitCode"] = result.exit_code
    # The command's exit status is the container's, so CI can tell a failed migration by its own code.
    report.exit_code_override = max(0, min(result.exit_code, 255))
    if result.exit_code == 0:
        report.ok("migration finished", f"exit code 0 ({task.get('stoppedReason', '')})".replace(" ()", ""))
    else:
        report.fail("migration failed", f"exit code {result.exit_code}")


def _print_logs(aws: Aws, options: MigrateOptions, task_definition: dict[str, Any], container: dict[str, Any],
                task_arn: str, report: Report, result: MigrateResult) -> None:
    log_config = container.get("logConfiguration") or {}
    settings = log_config.get("options") or {}
    group = options.log_group or settings.get("awslogs-group")
    prefix = settings.get("awslogs-stream-prefix")
    if log_config.get("logDriver") != "awslogs" or not group or not prefix:
        report.add("logs", "skip", "container does not log to CloudWatch with a stream prefix")
        return
    stream = f"{prefix}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}"
    logs = aws.client("logs")
    token: str | None = None
    try:
        for _ in range(MAX_LOG_PAGES):
            kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            result.log_lines.extend(str(event.get("message", "")).rstrip("\n") for event in page.get("events", []))
            if page.get("nextForwardToken") in (None, token):
                break
            token = page["nextForwardToken"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            report.add("logs", "skip", f"no log stream {group}:{stream}")
            return
        report.add("logs", "skip", str(translate(exc, "logs:GetLogEvents", f"{group}:{stream}")))
        return
    report.result["logStream"] = f"{group}:{stream}"
    report.result["log"] = result.log_lines
    report.info("logs", f"{len(result.log_lines)} lines from {group}:{stream}")
