"""ECS look-ups shared by migrate, deploy and verify."""

from __future__ import annotations

from typing import Any

from rampart.errors import OperationFailed
from rampart.ops.aws import calling


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    with calling("ecs:DescribeServices", f"service {service} in cluster {cluster}"):
        answer = ecs.describe_services(cluster=cluster, services=[service])
    found = [s for s in answer.get("services", []) if s.get("status") != "INACTIVE"]
    if not found:
        reasons = "; ".join(f"{f.get('arn', service)}: {f.get('reason', '?')}" for f in answer.get("failures", []))
        raise OperationFailed(
            f"ecs:DescribeServices service {service} in cluster {cluster}: not found"
            + (f" ({reasons})" if reasons else "")
        )
    return found[0]


def primary(service: dict[str, Any]) -> dict[str, Any]:
    """Where the running revision lives: the PRIMARY task set under CODE_DEPLOY, the service itself otherwise."""
    for task_set in service.get("taskSets") or []:
        if task_set.get("status") == "PRIMARY":
            return task_set
    return service


def current_task_definition(service: dict[str, Any]) -> str:
    arn = primary(service).get("taskDefinition") or service.get("taskDefinition")
    if not arn:
        raise OperationFailed(f"service {service.get('serviceName')}: no task definition in its description")
    return str(arn)


def network_configuration(service: dict[str, Any]) -> dict[str, Any] | None:
    config = primary(service).get("networkConfiguration") or service.get("networkConfiguration")
    return dict(config) if config else None


def describe_task_definition(ecs: Any, arn: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    with calling("ecs:DescribeTaskDefinition", arn):
        answer = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return answer["taskDefinition"], list(answer.get("tags") or [])


def container(task_definition: dict[str, Any], name: str | None) -> dict[str, Any]:
    containers = task_definition.get("containerDefinitions") or []
    if name is None:
        essential = [c for c in containers if c.get("essential", True)]
        if not essential:
            raise OperationFailed(f"task definition {task_definition.get('family')}: no containers")
        return essential[0]
    for candidate in containers:
        if candidate.get("name") == name:
            return candidate
    names = ", ".join(str(c.get("name")) for c in containers)
    raise OperationFailed(
        f"task definition {task_definition.get('taskDefinitionArn')}: no container named {name} (has: {names})"
    )


def task_log(aws: Any, container: dict[str, Any], task_arn: str, max_pages: int = 50) -> tuple[str, list[str]]:
    """The awslogs stream of one container of a stopped task: (group:stream, lines). OperationFailed naming the
    reason when the container does not log to CloudWatch with a stream prefix, or the stream cannot be read."""
    from botocore.exceptions import ClientError

    from rampart.ops.aws import translate

    log_config = container.get("logConfiguration") or {}
    settings = log_config.get("options") or {}
    group, prefix = settings.get("awslogs-group"), settings.get("awslogs-stream-prefix")
    if log_config.get("logDriver") != "awslogs" or not group or not prefix:
        raise OperationFailed("container does not log to CloudWatch with a stream prefix")
    stream = f"{prefix}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}"
    logs = aws.client("logs")
    lines: list[str] = []
    token: str | None = None
    try:
        for _ in range(max_pages):
            kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            lines.extend(str(event.get("message", "")).rstrip("\n") for event in page.get("events", []))
            if page.get("nextForwardToken") in (None, token):
                break
            token = page["nextForwardToken"]
    except ClientError as exc:
        raise OperationFailed(str(translate(exc, "logs:GetLogEvents", f"{group}:{stream}"))) from exc
    return f"{group}:{stream}", lines
