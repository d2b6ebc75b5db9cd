"""ECS service rules (catalogue rules 8-12): services that are private, on current Fargate, deployed blue/green
by CodeDeploy (or ECS-native blue/green with its safeguards) without Pulumi fighting CodeDeploy, and sized to
survive losing a task or a zone. The service relationships here (its task definition, cluster and scaling
targets) are shared with the cluster rules.

Not waivable: `ecs-service-no-public-ip` (a public IP bypasses the load balancer, WAF and security layering).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
from guardrails.ecs_task_definitions import TASK_DEFINITION, each_container
from guardrails.rule import Context, Finding, Framework, Resource, Rule, Undeterminable, shown
from guardrails.shapes import known_items, of_type
from guardrails.stack_index import for_stack

CLUSTER = "aws:ecs/cluster:Cluster"
SUBNET = "aws:ec2/subnet:Subnet"
SCALING_TARGET = "aws:appautoscaling/target:Target"

FSBP = "AWS Foundational Security Best Practices"
_DEPLOYMENT_SAFETY = "Rampart deployment safety"
_SH_ECS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html"


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
        yield (f"launchType is {shown(resource.get('launchType'))} (capacity providers {providers or 'none'}): "
               "expected FARGATE so AWS patches the hosts")
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
    index = for_stack(resources)
    for service in of_type(resources, ECS_SERVICE):
        group = group_for_service(service, groups, index)
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
        for item in each_container(task_definition):
            if isinstance(item, str):
                continue  # reported by the task definition rules
            label, container = item
            if container.get("essential", True) is not False and not strings(
                block(container.get("healthCheck")).get("command")
            ):
                yield Finding(f"{label} of task definition {task_definition.name or task_definition.urn} has no "
                              "healthCheck.command: expected a container health check", service.urn)


RULES: list[Rule] = [
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
]
