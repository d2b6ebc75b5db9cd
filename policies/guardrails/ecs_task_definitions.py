"""ECS task definition rules (catalogue rules 1-7): containers that cannot reach the host, run read-only and
non-root, take secrets by reference, log to the stack, use separate execution and task roles, and run pinned
images from the stack's registry. The container-definition reading here is shared with the service rules.

Not waivable: `ecs-taskdef-no-host-privileges` (privileged containers and host namespaces are root on the host)
and `ecs-taskdef-no-secrets-in-environment` (plain-text credentials are readable by anyone who can describe the
task definition).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.alarms import block, blocks
from guardrails.credentials import is_credential_name, is_credential_value
from guardrails.rule import Context, Finding, Framework, Resource, Rule, Undeterminable, shown
from guardrails.shapes import of_type

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ECR_REPOSITORY = "aws:ecr/repository:Repository"

FSBP = "AWS Foundational Security Best Practices"
_DEPLOYMENT_SAFETY = "Rampart deployment safety"
_SH_ECS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html"


# Container definitions ----------------------------------------------------------------------------------------
class BadContainerDefinitions(ValueError):
    pass


def containers(task_definition: Resource) -> list[Mapping[str, Any]]:
    """The parsed `containerDefinitions` (a JSON string with ECS API keys)."""
    raw = task_definition.get("containerDefinitions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadContainerDefinitions(f"containerDefinitions is not valid JSON ({exc.msg})") from None
    parsed = blocks(raw)
    if not parsed:
        raise BadContainerDefinitions("containerDefinitions is empty: expected a JSON list of container definitions")
    return parsed


def _label(container: Mapping[str, Any], index: int) -> str:
    name = container.get("name")
    return f"container {name!r}" if isinstance(name, str) and name else f"container #{index}"


def each_container(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]] | str]:
    try:
        parsed = containers(resource)
    except BadContainerDefinitions as exc:
        yield str(exc)
        return
    for index, container in enumerate(parsed):
        yield _label(container, index), container


# 1 -----------------------------------------------------------------------------------------------------------
def check_no_host_privileges(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("networkMode") != "awsvpc":
        yield f"networkMode is {shown(resource.get('networkMode'))}: expected 'awsvpc' (own ENI, no host network)"
    for mode in ("pidMode", "ipcMode"):
        if resource.get(mode) == "host":
            yield f"{mode} is 'host': expected 'task' or unset (no host namespace)"
    for item in each_container(resource):
        if isinstance(item, str):
            yield item
            continue
        label, container = item
        if container.get("privileged") is True:
            yield f"{label} sets privileged true: expected false or unset"


# 2 -----------------------------------------------------------------------------------------------------------
def check_readonly_rootfs(resource: Resource, context: Context) -> Iterator[str]:
    for item in each_container(resource):
        if isinstance(item, str):
            yield item
        elif item[1].get("readonlyRootFilesystem") is not True:
            yield f"{item[0]} readonlyRootFilesystem is {shown(item[1].get('readonlyRootFilesystem'))}: expected true"


# 3 -----------------------------------------------------------------------------------------------------------
ROOT_USERS = frozenset({"root", "0"})


def check_nonroot_user(resource: Resource, context: Context) -> Iterator[str]:
    for item in each_container(resource):
        if isinstance(item, str):
            yield item
            continue
        label, container = item
        user = container.get("user")
        if not isinstance(user, str) or not user.strip():
            yield f"{label} user is not set (images default to root): expected a non-root uid[:gid] such as 10001"
        elif user.split(":", 1)[0].strip() in ROOT_USERS:
            yield f"{label} user is {user!r}: expected a non-root uid[:gid] such as 10001"


# 4 -----------------------------------------------------------------------------------------------------------
SECRET_REFERENCE = re.compile(r"^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:(secret:|parameter/)\S+$")
# A parameter in the task's own Region may be named instead of given by ARN (ECS API, Secret.valueFrom).
SSM_PARAMETER_NAME = re.compile(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def is_secret_reference(value_from: object) -> bool:
    return isinstance(value_from, str) and bool(
        SECRET_REFERENCE.match(value_from) or SSM_PARAMETER_NAME.match(value_from))


def check_no_secrets_in_environment(resource: Resource, context: Context) -> Iterator[str]:
    allowed = tuple(context.threshold("allowedNames"))
    for item in each_container(resource):
        if isinstance(item, str):
            yield item
            continue
        label, container = item
        for variable in blocks(container.get("environment")):
            name, value = str(variable.get("name") or ""), variable.get("value")
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed):
                continue
            if is_credential_name(name):
                yield (f"{label} environment {name} looks like a credential: expected it in secrets[] with "
                       "valueFrom a Secrets Manager or SSM parameter ARN")
            elif is_credential_value(value):
                yield (f"{label} environment {name} holds a credential-shaped value: expected it in secrets[] with "
                       "valueFrom a Secrets Manager or SSM parameter ARN")
        for secret in blocks(container.get("secrets")):
            value_from = secret.get("valueFrom")
            if not is_secret_reference(value_from):
                yield (f"{label} secrets {secret.get('name')!r} valueFrom is not a Secrets Manager or SSM parameter "
                       "ARN (nor an SSM parameter name): expected arn:aws:secretsmanager:..., "
                       "arn:aws:ssm:...:parameter/... or a parameter name in the task's Region")


# 5 -----------------------------------------------------------------------------------------------------------
def _log_group_matches(task_definition: Resource, group_name: str, log_groups: Sequence[Resource]) -> bool:
    for log_group in log_groups:
        if log_group.get("name") == group_name:
            return True
        # An autonamed group is known only by the dependency the JSON was computed from.
        if not log_group.get("name") and (
            log_group.urn in task_definition.property_dependencies.get("containerDefinitions", ())
            or (not task_definition.property_dependencies and log_group.urn in task_definition.dependencies)
        ):
            return True
    return False


def check_taskdef_logging(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    log_groups = of_type(resources, LOG_GROUP)
    for task_definition in of_type(resources, TASK_DEFINITION):
        for item in each_container(task_definition):
            if isinstance(item, str):
                yield Finding(item, task_definition.urn)
                continue
            label, container = item
            log = block(container.get("logConfiguration"))
            driver = log.get("logDriver")
            if not driver:
                yield Finding(f"{label} has no logConfiguration.logDriver: expected awslogs to a stack log group",
                              task_definition.urn)
                continue
            if driver != "awslogs":
                continue
            options = block(log.get("options"))
            group_name = options.get("awslogs-group")
            if str(options.get("awslogs-create-group", "")).lower() == "true":
                yield Finding(f"{label} sets awslogs-create-group: expected a stack LogGroup with retention and KMS "
                              "instead of a group the agent creates", task_definition.urn)
            elif not isinstance(group_name, str) or not _log_group_matches(task_definition, group_name, log_groups):
                yield Finding(f"{label} logs to awslogs-group {group_name!r}, which is no LogGroup of this stack: "
                              "expected the name of a stack aws.cloudwatch.LogGroup", task_definition.urn)


# 6 -----------------------------------------------------------------------------------------------------------
def check_separate_roles(resource: Resource, context: Context) -> Iterator[str]:
    execution, task = resource.get("executionRoleArn"), resource.get("taskRoleArn")
    if not execution:
        yield "executionRoleArn is not set: expected a dedicated execution role (image pull, logs, secrets)"
    if not task:
        yield "taskRoleArn is not set: expected a dedicated task role for the application's own AWS calls"
    if execution and task and execution == task:
        yield "executionRoleArn and taskRoleArn are the same role: expected two roles so the app never holds " \
              "the execution role's secret and registry access"


# 7 -----------------------------------------------------------------------------------------------------------
ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?)/(?P<repository>[a-z0-9._/-]+)"
    r"(?P<tag>:[A-Za-z0-9._-]+)?(?P<digest>@sha256:[a-f0-9]{64})?$"
)


def _stack_repository(task_definition: Resource, repository: str, repositories: Sequence[Resource]) -> bool:
    for repo in repositories:
        if repo.get("name") == repository:
            return True
        if not repo.get("name") and repo.urn in task_definition.property_dependencies.get("containerDefinitions", ()):
            return True
    return False


def check_image_pinned_digest(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    repositories = of_type(resources, ECR_REPOSITORY)
    allowed = tuple(context.threshold("allowedRepositories"))
    for task_definition in of_type(resources, TASK_DEFINITION):
        for item in each_container(task_definition):
            if isinstance(item, str):
                yield Finding(item, task_definition.urn)
                continue
            label, container = item
            image = container.get("image")
            if image is None:
                # ECS requires an image: a null one was computed from something this run did not know.
                raise Undeterminable(f"task definition {task_definition.name or task_definition.urn}: {label} image")
            image = image if isinstance(image, str) else ""
            match = ECR_IMAGE.match(image)
            if image.endswith(":latest") or (match and match["tag"] == ":latest"):
                yield Finding(f"{label} image {image!r} uses :latest: expected <repository>@sha256:<digest>",
                              task_definition.urn)
            elif match is None:
                yield Finding(f"{label} image {image!r} is not from an ECR registry: expected "
                              "<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>",
                              task_definition.urn)
            elif not match["digest"]:
                yield Finding(f"{label} image {image!r} is not pinned by digest: expected @sha256:<digest> "
                              "(a tag can be moved; the digest rollback relies on cannot)", task_definition.urn)
            elif not (_stack_repository(task_definition, match["repository"], repositories)
                      or any(fnmatch.fnmatchcase(match["repository"], p) for p in allowed)):
                yield Finding(f"{label} image repository {match['repository']!r} is no ECR repository of this stack: "
                              "expected the stack's repository (or one listed in allowedRepositories)",
                              task_definition.urn)


RULES: list[Rule] = [
    Rule(
        name="ecs-taskdef-no-host-privileges",
        description="Task definitions use awsvpc networking, no host PID/IPC namespace and no privileged container.",
        enforcement="M",
        severity="critical",
        framework=Framework(FSBP, "ECS.4, ECS.3"),
        remediation="On the aws.ecs.TaskDefinition set `network_mode` 'awsvpc', leave `pid_mode`/`ipc_mode` unset "
        "(or 'task'), and remove `privileged` from every entry of `container_definitions`.",
        url=f"{_SH_ECS}#ecs-4",
        resource_types=(TASK_DEFINITION,),
        check=check_no_host_privileges,
        waivable=False,
    ),
    Rule(
        name="ecs-taskdef-readonly-rootfs",
        description="Every container runs with a read-only root filesystem.",
        enforcement="MP",
        severity="medium",
        framework=Framework(FSBP, "ECS.5"),
        remediation="Set `readonlyRootFilesystem: true` in every entry of `container_definitions`; mount a task "
        "volume for paths the app writes (e.g. /tmp). ECS Exec needs a writable root, so exec stays off.",
        url=f"{_SH_ECS}#ecs-5",
        resource_types=(TASK_DEFINITION,),
        check=check_readonly_rootfs,
    ),
    Rule(
        name="ecs-taskdef-nonroot-user",
        description="Every container runs as a non-root user.",
        enforcement="MP",
        severity="high",
        framework=Framework("AWS Security Hub", "ECS.20"),
        remediation="Set `user` to a non-root numeric uid[:gid] (e.g. \"10001:10001\") in every entry of "
        "`container_definitions`, and build the image to run as that user.",
        url=f"{_SH_ECS}#ecs-20",
        resource_types=(TASK_DEFINITION,),
        check=check_nonroot_user,
    ),
    Rule(
        name="ecs-taskdef-no-secrets-in-environment",
        description="Credentials reach containers only as secrets[].valueFrom ARNs, never as environment values.",
        enforcement="M",
        severity="critical",
        framework=Framework(FSBP, "ECS.8"),
        remediation="Move the value into AWS Secrets Manager (or SSM Parameter Store SecureString) and reference it "
        "from the container's `secrets` list as {name, valueFrom: <secret ARN>}; grant the execution role "
        "secretsmanager:GetSecretValue on exactly that ARN.",
        url=f"{_SH_ECS}#ecs-8",
        resource_types=(TASK_DEFINITION,),
        check=check_no_secrets_in_environment,
        waivable=False,
        thresholds={"allowedNames": []},
    ),
    Rule(
        name="ecs-taskdef-logging",
        description="Every container logs, and awslogs output goes to a log group of this stack.",
        enforcement="M",
        severity="medium",
        framework=Framework(FSBP, "ECS.9"),
        remediation="Give every entry of `container_definitions` a `logConfiguration` {logDriver: awslogs, options: "
        "{awslogs-group: <stack LogGroup name>, awslogs-region, awslogs-stream-prefix}}; do not set "
        "awslogs-create-group.",
        url=f"{_SH_ECS}#ecs-9",
        stack_check=check_taskdef_logging,
    ),
    Rule(
        name="ecs-taskdef-separate-roles",
        description="Task definitions set distinct execution and task roles.",
        enforcement="M",
        severity="high",
        framework=Framework("Checkov", "CKV_AWS_249"),
        remediation="Set `execution_role_arn` (ECR pull, logs, secrets) and `task_role_arn` (the app's own "
        "permissions) on the aws.ecs.TaskDefinition to two different roles.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
        resource_types=(TASK_DEFINITION,),
        check=check_separate_roles,
    ),
    Rule(
        name="ecs-taskdef-image-pinned-digest",
        description="Container images come from the stack's ECR repository, pinned by digest, never :latest.",
        enforcement="MP",
        severity="high",
        # ECR.2 (tag immutability) judges repositories, not task definitions: no FSBP control covers digests.
        framework=Framework(_DEPLOYMENT_SAFETY, "ECS-7"),
        remediation="Set each container's `image` to <account>.dkr.ecr.<region>.amazonaws.com/<stack repository>"
        "@sha256:<digest> (the digest the build pushed), not a tag.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html"
        "#container_definition_image",
        stack_check=check_image_pinned_digest,
        thresholds={"allowedRepositories": []},
    ),
]
