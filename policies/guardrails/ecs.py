"""ECS rules (catalogue rules 1-14): task definitions that cannot reach the host, run read-only and non-root,
take secrets by reference, log to the stack and run pinned images from the stack's registry; services that are
private, on current Fargate, deployed blue/green by CodeDeploy without Pulumi fighting CodeDeploy, sized to
survive losing a task or a zone, and shelled into only under governance; clusters with Container Insights.

Never waivable, because a waiver would hand out host root, a public address or a credential:
`ecs-taskdef-no-host-privileges` (privileged containers and host namespaces are root on the host),
`ecs-taskdef-no-secrets-in-environment` (plain-text credentials are readable by anyone who can describe the task
definition) and `ecs-service-no-public-ip` (a public IP bypasses the load balancer, WAF and security layering).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.alarms import (
    DEPLOYMENT_GROUP,
    ECS_SERVICE,
    block,
    blocks,
    group_for_service,
    is_code_deploy,
    number,
    physical_name,
    strings,
)
from guardrails.credentials import is_credential_name, is_credential_value
from guardrails.rule import Context, Finding, Framework, Resource, Rule, Undeterminable
from guardrails.shapes import known_items, of_type

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
SUBNET = "aws:ec2/subnet:Subnet"
SCALING_TARGET = "aws:appautoscaling/target:Target"

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


def _each_container(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]] | str]:
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
        yield f"networkMode is {resource.get('networkMode')!r}: expected 'awsvpc' (own ENI, no host network)"
    for mode in ("pidMode", "ipcMode"):
        if resource.get(mode) == "host":
            yield f"{mode} is 'host': expected 'task' or unset (no host namespace)"
    for item in _each_container(resource):
        if isinstance(item, str):
            yield item
            continue
        label, container = item
        if container.get("privileged") is True:
            yield f"{label} sets privileged true: expected false or unset"


# 2 -----------------------------------------------------------------------------------------------------------
def check_readonly_rootfs(resource: Resource, context: Context) -> Iterator[str]:
    for item in _each_container(resource):
        if isinstance(item, str):
            yield item
        elif item[1].get("readonlyRootFilesystem") is not True:
            yield f"{item[0]} readonlyRootFilesystem is {item[1].get('readonlyRootFilesystem')!r}: expected true"


# 3 -----------------------------------------------------------------------------------------------------------
ROOT_USERS = frozenset({"root", "0"})


def check_nonroot_user(resource: Resource, context: Context) -> Iterator[str]:
    for item in _each_container(resource):
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
    for item in _each_container(resource):
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
        for item in _each_container(task_definition):
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
        for item in _each_container(task_definition):
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


# Service relationships ---------------------------------------------------------------------------------------
def _referenced(resource: Resource, prop: str, candidates: Sequence[Resource]) -> list[Resource]:
    """Candidates `prop` is computed from (property dependencies, else plain dependencies as a fallback)."""
    urns = resource.property_dependencies.get(prop) if resource.property_dependencies else resource.dependencies
    return [c for c in candidates if c.urn in set(urns or ())]


def service_task_definition(service: Resource, resources: Sequence[Resource]) -> Resource | None:
    found = _referenced(service, "taskDefinition", of_type(resources, TASK_DEFINITION))
    if found:
        return found[0]
    value = service.get("taskDefinition")
    for task_definition in of_type(resources, TASK_DEFINITION):
        family = task_definition.get("family")
        if isinstance(value, str) and isinstance(family, str) and (
            value == family or value.startswith(f"{family}:") or f"task-definition/{family}:" in value
        ):
            return task_definition
    return None


def service_cluster(service: Resource, resources: Sequence[Resource]) -> Resource | None:
    clusters = of_type(resources, CLUSTER)
    found = _referenced(service, "cluster", clusters)
    if found:
        return found[0]
    value = service.get("cluster")
    for cluster in clusters:
        name = physical_name(cluster)
        if isinstance(value, str) and (value == name or value.endswith(f"cluster/{name}")):
            return cluster
    return None


def scaling_targets(service: Resource, resources: Sequence[Resource]) -> list[Resource]:
    """Application Auto Scaling targets on the service's desired count."""
    name = physical_name(service)
    targets = []
    for target in of_type(resources, SCALING_TARGET):
        if target.get("scalableDimension") != "ecs:service:DesiredCount":
            continue
        resource_id = target.get("resourceId")
        by_id = isinstance(resource_id, str) and resource_id.startswith("service/") and resource_id.endswith(
            f"/{name}"
        )
        if by_id or service.urn in target.property_dependencies.get("resourceId", ()) or (
            not target.property_dependencies and service.urn in target.dependencies
        ):
            targets.append(target)
    return targets


def is_blue_green(service: Resource) -> bool:
    """CodeDeploy blue/green, or ECS-native blue/green (deploymentConfiguration.strategy, 2025)."""
    return is_code_deploy(service) or block(service.get("deploymentConfiguration")).get("strategy") == "BLUE_GREEN"


# 8 -----------------------------------------------------------------------------------------------------------
def check_no_public_ip(resource: Resource, context: Context) -> Iterator[str]:
    if block(resource.get("networkConfiguration")).get("assignPublicIp") is True:
        yield "networkConfiguration.assignPublicIp is true: expected false (tasks in private subnets behind the ALB)"


# 9 -----------------------------------------------------------------------------------------------------------
def check_fargate_platform_latest(resource: Resource, context: Context) -> Iterator[str]:
    providers = [s.get("capacityProvider") for s in blocks(resource.get("capacityProviderStrategies"))]
    fargate = resource.get("launchType") == "FARGATE" or (
        bool(providers) and all(p in ("FARGATE", "FARGATE_SPOT") for p in providers)
    )
    if not fargate:
        yield (f"launchType is {resource.get('launchType')!r} (capacity providers {providers or 'none'}): expected "
               "FARGATE so AWS patches the hosts")
        return
    version = resource.get("platformVersion")
    if version not in (None, "LATEST"):
        yield f"platformVersion is {version!r}: expected 'LATEST' (or unset)"


# 10 ----------------------------------------------------------------------------------------------------------
NATIVE_ADVANCED = ("alternateTargetGroupArn", "productionListenerRule", "testListenerRule", "roleArn")


def ecs_native_gaps(service: Resource) -> list[str]:
    """What an ECS-native blue/green service lacks of the CodeDeploy path's guarantees: rollback on its alarms, and
    green reachable on its own test rule before production traffic moves."""
    gaps = []
    alarms = block(service.get("alarms"))
    if alarms.get("enable") is not True or alarms.get("rollback") is not True or not strings(alarms.get("alarmNames")):
        gaps.append("alarms {enable: true, rollback: true, alarmNames: the rollback alarms}")
    for index, balancer in enumerate(blocks(service.get("loadBalancers"))):
        advanced = block(balancer.get("advancedConfiguration"))
        missing = [key for key in NATIVE_ADVANCED if not advanced.get(key)]
        if missing:
            gaps.append(f"loadBalancers[{index}].advancedConfiguration.{', '.join(missing)}")
    return gaps


def check_codedeploy_controller(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, DEPLOYMENT_GROUP)
    for service in of_type(resources, ECS_SERVICE):
        group = group_for_service(service, groups)
        controller = block(service.get("deploymentController")).get("type") or "ECS"
        if group is not None and not is_code_deploy(service):
            yield Finding(f"deploymentController.type is {controller!r} but deployment group {group.name or group.urn} "
                          "deploys this service: expected 'CODE_DEPLOY'", service.urn)
        elif blocks(service.get("loadBalancers")) and not is_blue_green(service):
            yield Finding(f"service behind a load balancer deploys with controller {controller!r}: expected "
                          "blue/green (deploymentController.type CODE_DEPLOY with a DeploymentGroup, or "
                          "deploymentConfiguration.strategy BLUE_GREEN)", service.urn)
        elif not is_code_deploy(service) and is_blue_green(service) and ecs_native_gaps(service):
            yield Finding(f"ECS-native blue/green service lacks {'; '.join(ecs_native_gaps(service))}: expected "
                          "rollback on the deployment alarms and a test listener rule for green, as a CodeDeploy "
                          "group gives", service.urn)
        elif is_code_deploy(service) and group is None:
            yield Finding("deploymentController.type is 'CODE_DEPLOY' but no DeploymentGroup of this stack deploys "
                          "it: expected an aws.codedeploy.DeploymentGroup with ecs_service naming this service",
                          service.urn)


# 11 ----------------------------------------------------------------------------------------------------------
def _ignores(service: Resource, prop: str) -> bool:
    return any(path in (prop, "*") for path in service.ignore_changes)


def check_codedeploy_ignore_changes(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    required = list(context.threshold("requiredIgnoreChanges"))
    for service in of_type(resources, ECS_SERVICE):
        if not is_code_deploy(service):
            continue
        needed = required + (["desiredCount"] if scaling_targets(service, resources) else [])
        missing = [prop for prop in needed if not _ignores(service, prop)]
        if missing:
            yield Finding(
                f"CODE_DEPLOY service does not ignore changes to {', '.join(missing)}: expected ignore_changes to "
                f"include {', '.join(needed)} (CodeDeploy owns them; the next `pulumi up` would fail or revert "
                "the live deployment)",
                service.urn,
            )


# 12 ----------------------------------------------------------------------------------------------------------
def _availability_zones(service: Resource, resources: Sequence[Resource]) -> tuple[set[str], int]:
    """(AZs of the service's stack subnets, number of subnet ids) for its networkConfiguration."""
    subnet_ids = known_items(block(service.get("networkConfiguration")).get("subnets"),
                             f"service {service.name or service.urn}: a networkConfiguration.subnets entry")
    subnets = _referenced(service, "networkConfiguration", of_type(resources, SUBNET))
    zones = set()
    for subnet in subnets:
        zone = subnet.get("availabilityZone") or subnet.get("availabilityZoneId")
        if not zone:
            # AWS picks the zone of a subnet created without one: which zones the service spans is unknown.
            raise Undeterminable(f"subnet {subnet.name or subnet.urn}: its availability zone (chosen by AWS)")
        zones.add(zone)
    return zones, len({str(s) for s in subnet_ids})


def check_min_healthy_capacity(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    min_count = context.threshold("minDesiredCount")
    min_zones = context.threshold("minAvailabilityZones")
    for service in of_type(resources, ECS_SERVICE):
        if service.get("schedulingStrategy") == "DAEMON":
            continue
        desired = number(service.get("desiredCount")) or 0
        if desired < min_count:
            yield Finding(f"desiredCount is {desired}: expected at least {min_count}", service.urn)
        for target in scaling_targets(service, resources):
            minimum = number(target.get("minCapacity"))
            if minimum is not None and minimum < min_count:
                yield Finding(f"autoscaling minCapacity is {minimum}: expected at least {min_count}", service.urn)
        zones, subnet_count = _availability_zones(service, resources)
        if zones and len(zones) < min_zones:
            yield Finding(f"networkConfiguration.subnets span {len(zones)} availability zone(s) "
                          f"({', '.join(sorted(zones))}): expected at least {min_zones}", service.urn)
        elif not zones and subnet_count < min_zones:
            yield Finding(f"networkConfiguration.subnets lists {subnet_count} subnet(s): expected subnets in at least "
                          f"{min_zones} availability zones", service.urn)
        if blocks(service.get("loadBalancers")) and not number(service.get("healthCheckGracePeriodSeconds")):
            yield Finding("healthCheckGracePeriodSeconds is not set on a load-balanced service: expected a grace "
                          "period covering application start-up", service.urn)
        task_definition = service_task_definition(service, resources)
        if task_definition is None:
            continue
        for item in _each_container(task_definition):
            if isinstance(item, str):
                continue  # reported by the task definition rules
            label, container = item
            if container.get("essential", True) is not False and not strings(
                block(container.get("healthCheck")).get("command")
            ):
                yield Finding(f"{label} of task definition {task_definition.name or task_definition.urn} has no "
                              "healthCheck.command: expected a container health check", service.urn)


# 13 ----------------------------------------------------------------------------------------------------------
def _exec_governance_gaps(cluster: Resource) -> list[str]:
    config = block(block(cluster.get("configuration")).get("executeCommandConfiguration"))
    gaps = []
    if not config.get("kmsKeyId"):
        gaps.append("configuration.executeCommandConfiguration.kmsKeyId is not set")
    logging = config.get("logging") or "DEFAULT"
    if logging == "NONE":
        gaps.append("executeCommandConfiguration.logging is NONE")
    elif logging == "OVERRIDE":
        log = block(config.get("logConfiguration"))
        cloudwatch = log.get("cloudWatchLogGroupName") and log.get("cloudWatchEncryptionEnabled") is True
        s3 = log.get("s3BucketName") and log.get("s3EncryptionEnabled") is True
        if not (cloudwatch or s3):
            gaps.append("executeCommandConfiguration.logConfiguration has no encrypted CloudWatch or S3 destination")
    return gaps


def check_exec_governed(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    allowed = context.threshold("allowExecuteCommand")
    for service in of_type(resources, ECS_SERVICE):
        if service.get("enableExecuteCommand") is not True:
            continue
        if not allowed:
            yield Finding("enableExecuteCommand is true: expected false in this stack (no shell into production "
                          "tasks; allowExecuteCommand is off)", service.urn)
            continue
        cluster = service_cluster(service, resources)
        if cluster is None:
            yield Finding("enableExecuteCommand is true and the cluster is not in this stack: expected a stack "
                          "cluster whose executeCommandConfiguration sets kmsKeyId and session logging", service.urn)
        else:
            for gap in _exec_governance_gaps(cluster):
                yield Finding(f"enableExecuteCommand is true but cluster {physical_name(cluster)}: {gap}: expected a "
                              "KMS key and encrypted session logging", service.urn)
        task_definition = service_task_definition(service, resources)
        items = _each_container(task_definition) if task_definition else iter(())
        readonly = [item[0] for item in items
                    if not isinstance(item, str) and item[1].get("readonlyRootFilesystem") is True]
        if readonly:
            yield Finding(f"enableExecuteCommand is true but {', '.join(readonly)} has readonlyRootFilesystem: ECS "
                          "Exec cannot start its agent there; expected exec off (ecs-taskdef-readonly-rootfs wants the "
                          "read-only root)", service.urn)


# 14 ----------------------------------------------------------------------------------------------------------
def check_container_insights(resource: Resource, context: Context) -> Iterator[str]:
    values = [s.get("value") for s in blocks(resource.get("settings")) if s.get("name") == "containerInsights"]
    if not any(v in ("enabled", "enhanced") for v in values):
        yield (f"settings containerInsights is {values[0] if values else 'not set'!r}: expected "
               "{name: containerInsights, value: enhanced or enabled}")


POLICIES: list[Rule] = [
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
    Rule(
        name="ecs-service-no-public-ip",
        description="ECS services do not assign public IP addresses to tasks.",
        enforcement="M",
        severity="critical",
        framework=Framework(FSBP, "ECS.2"),
        remediation="Set `network_configuration.assign_public_ip` to false and place tasks in private subnets.",
        url=f"{_SH_ECS}#ecs-2",
        resource_types=(ECS_SERVICE,),
        check=check_no_public_ip,
        waivable=False,
    ),
    Rule(
        name="ecs-service-fargate-platform-latest",
        description="ECS services run on Fargate with the LATEST platform version.",
        enforcement="A",
        severity="low",
        framework=Framework(FSBP, "ECS.10"),
        remediation="Set `launch_type` 'FARGATE' (or Fargate capacity providers) and `platform_version` 'LATEST'.",
        url=f"{_SH_ECS}#ecs-10",
        resource_types=(ECS_SERVICE,),
        check=check_fargate_platform_latest,
    ),
    Rule(
        name="ecs-service-codedeploy-controller",
        description="Load-balanced services deploy blue/green (CodeDeploy, or ECS-native with rollback alarms and a "
        "test listener rule), and services a deployment group targets use CODE_DEPLOY.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-10"),
        remediation="Set `deployment_controller` {type: CODE_DEPLOY} on the aws.ecs.Service and create an "
        "aws.codedeploy.DeploymentGroup whose `ecs_service` names it; or, for ECS-native blue/green, set "
        "`deployment_configuration` {strategy: BLUE_GREEN}, `alarms` {alarm_names, enable: true, rollback: true} and "
        "each load balancer's `advanced_configuration` {alternate_target_group_arn, production_listener_rule, "
        "test_listener_rule, role_arn}.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html",
        stack_check=check_codedeploy_controller,
    ),
    Rule(
        name="ecs-service-codedeploy-ignore-changes",
        description="CODE_DEPLOY services ignore the properties CodeDeploy owns, so Pulumi never fights a deployment.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-11"),
        remediation="Pass `opts=pulumi.ResourceOptions(ignore_changes=[\"taskDefinition\", \"loadBalancers\", "
        "\"networkConfiguration\", \"platformVersion\"])` to the aws.ecs.Service (plus \"desiredCount\" when "
        "autoscaled) and deploy new revisions through CodeDeploy.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html",
        stack_check=check_codedeploy_ignore_changes,
        thresholds={"requiredIgnoreChanges": ["taskDefinition", "loadBalancers", "networkConfiguration",
                                              "platformVersion"]},
    ),
    Rule(
        name="ecs-service-min-healthy-capacity",
        description="Services keep at least two tasks across two zones, with a grace period and container health "
        "checks.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-12"),
        remediation="Set `desired_count` (and autoscaling `min_capacity`) >= minDesiredCount, subnets in >= "
        "minAvailabilityZones zones, `health_check_grace_period_seconds` when load balanced, and a `healthCheck` "
        "in each essential container definition.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-options.html",
        stack_check=check_min_healthy_capacity,
        thresholds={"minDesiredCount": 2, "minAvailabilityZones": 2},
    ),
    Rule(
        name="ecs-exec-governed",
        description="ECS Exec is off in production and elsewhere only with a KMS key and logged sessions.",
        enforcement="MP",
        severity="high",
        framework=Framework("Checkov", "CKV_AWS_223, CKV_AWS_224"),
        remediation="Set `enable_execute_command` false on the aws.ecs.Service; where a stack allows exec, set the "
        "cluster's `configuration.execute_command_configuration` {kms_key_id, logging: OVERRIDE, "
        "log_configuration with an encrypted CloudWatch log group or S3 bucket}.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html",
        stack_check=check_exec_governed,
        thresholds={"allowExecuteCommand": False},
    ),
    Rule(
        name="ecs-cluster-container-insights",
        description="ECS clusters have Container Insights enabled.",
        enforcement="M",
        severity="low",
        framework=Framework(FSBP, "ECS.12"),
        remediation="Add `settings=[{name: \"containerInsights\", value: \"enhanced\"}]` (or \"enabled\") to the "
        "aws.ecs.Cluster.",
        url=f"{_SH_ECS}#ecs-12",
        resource_types=(CLUSTER,),
        check=check_container_insights,
    ),
]
