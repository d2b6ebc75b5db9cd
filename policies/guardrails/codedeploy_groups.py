"""CodeDeploy deployment group rules for ECS blue/green (catalogue rules 15-17): a deployment group rolls back on
failure and on its alarms, names alarms that exist and watch it, and has the blue/green shape ECS needs.

`codedeploy-auto-rollback-on-alarm` cannot be waived: without automatic rollback a bad release stays live
until someone notices, which voids the recovery objectives every stack declares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guardrails.alarms import (
    DEPLOYMENT_GROUP,
    ECS_SERVICE,
    alarm_watches,
    block,
    blocks,
    group_for_service,
    group_service,
    group_target_group_names,
    resolve_group_alarms,
    service_target_group_names,
    strings,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import of_type
from guardrails.stack_index import for_stack

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
MAX_GROUP_ALARMS = 10
"""CodeDeploy accepts at most ten alarms per deployment group."""

_SERVER_TARGETS = ("ec2TagFilters", "ec2TagSets", "autoscalingGroups", "onPremisesInstanceTagFilters")


def is_server_group(group: Resource) -> bool:
    """EC2/on-premises groups target instances; every rule here is about ECS groups only."""
    return any(group.get(key) for key in _SERVER_TARGETS)


def ecs_groups(resources: Sequence[Resource]) -> list[Resource]:
    return [g for g in of_type(resources, DEPLOYMENT_GROUP) if not is_server_group(g)]


# 15 ----------------------------------------------------------------------------------------------------------
def check_auto_rollback_on_alarm(resource: Resource, context: Context) -> Iterator[str]:
    if is_server_group(resource):
        return
    rollback = block(resource.get("autoRollbackConfiguration"))
    if rollback.get("enabled") is not True:
        yield "autoRollbackConfiguration.enabled is not true: expected automatic rollback enabled"
    missing = [e for e in ROLLBACK_EVENTS if e not in strings(rollback.get("events"))]
    if missing:
        yield f"autoRollbackConfiguration.events lacks {', '.join(missing)}: expected {' and '.join(ROLLBACK_EVENTS)}"
    alarms = block(resource.get("alarmConfiguration"))
    if alarms.get("enabled") is not True:
        yield "alarmConfiguration.enabled is not true: expected alarm monitoring enabled"
    count = len(strings(alarms.get("alarms")))
    if not 1 <= count <= MAX_GROUP_ALARMS:
        yield f"alarmConfiguration.alarms has {count} alarms: expected 1 to {MAX_GROUP_ALARMS}"
    if alarms.get("ignorePollAlarmFailure") is True:
        yield ("alarmConfiguration.ignorePollAlarmFailure is true (deployments continue when alarm state is "
               "unreadable): expected false")


# 16 ----------------------------------------------------------------------------------------------------------
def _group_watch_targets(group: Resource, resources: Sequence[Resource]) -> tuple[set[str], str | None, str | None]:
    target_groups = set(group_target_group_names(group))
    cluster, service = group_service(group)
    index = for_stack(resources)
    for svc in of_type(resources, ECS_SERVICE):
        if group_for_service(svc, [group], index) is group:
            target_groups |= service_target_group_names(svc)
    return target_groups, cluster, service


def check_alarms_resolvable(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    for group in ecs_groups(resources):
        found, unresolved = resolve_group_alarms(group, resources)
        for name in unresolved:
            yield Finding(
                f"alarmConfiguration names alarm {name!r}, which is no MetricAlarm of this stack: expected the name "
                "of a stack alarm (CodeDeploy silently ignores alarms it cannot find)",
                group.urn,
            )
        target_groups, cluster, service = _group_watch_targets(group, resources)
        for alarm in found:
            if not alarm_watches(alarm, target_groups, cluster, service):
                yield Finding(
                    f"alarm {alarm.get('name') or alarm.name!r} watches none of this group's target groups "
                    f"({', '.join(sorted(target_groups)) or 'none'}) nor service {service or '<unknown>'}: expected "
                    "a TargetGroup or ServiceName dimension of this deployment",
                    group.urn,
                )


# 17 ----------------------------------------------------------------------------------------------------------
def check_ecs_blue_green_shape(resource: Resource, context: Context) -> Iterator[str]:
    if is_server_group(resource):
        return
    style = block(resource.get("deploymentStyle"))
    if style.get("deploymentType") != "BLUE_GREEN":
        yield f"deploymentStyle.deploymentType is {shown(style.get('deploymentType'))}: expected 'BLUE_GREEN'"
    if style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        yield (f"deploymentStyle.deploymentOption is {shown(style.get('deploymentOption'))}: expected "
               "'WITH_TRAFFIC_CONTROL'")
    cluster, service = group_service(resource)
    if not block(resource.get("ecsService")) or cluster is None or service is None:
        yield "ecsService is not set: expected {clusterName, serviceName} of the ECS service"
    pair = block(block(resource.get("loadBalancerInfo")).get("targetGroupPairInfo"))
    if not pair:
        yield "loadBalancerInfo.targetGroupPairInfo is not set: expected the blue and green target groups"
        return
    groups = blocks(pair.get("targetGroups"))
    names = {g.get("name") for g in groups}
    if len(groups) != 2 or len(names) != 2:
        yield f"targetGroupPairInfo.targetGroups has {len(names)} distinct target groups: expected exactly 2"
    prod = strings(block(pair.get("prodTrafficRoute")).get("listenerArns"))
    if len(prod) != 1:
        yield f"targetGroupPairInfo.prodTrafficRoute.listenerArns has {len(prod)} listeners: expected exactly 1"
    test = strings(block(pair.get("testTrafficRoute")).get("listenerArns"))
    if len(test) != 1:
        yield (f"targetGroupPairInfo.testTrafficRoute.listenerArns has {len(test)} listeners: expected exactly 1 "
               "(green is tested before production traffic moves)")
    elif test[0] in prod:
        yield "targetGroupPairInfo.testTrafficRoute uses the production listener: expected a separate test listener"


_DEPLOYMENT_SAFETY = "Rampart deployment safety"
_ECS_BLUE_GREEN_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html"


RULES: list[Rule] = [
    Rule(
        name="codedeploy-auto-rollback-on-alarm",
        description="Deployment groups roll back automatically on deployment failure and on alarm.",
        enforcement="M",
        severity="critical",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-15"),
        remediation="On the aws.codedeploy.DeploymentGroup set `auto_rollback_configuration` {enabled: true, events: "
        "[DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM]} and `alarm_configuration` {enabled: true, alarms: 1-10 "
        "alarm names, ignore_poll_alarm_failure: false}.",
        url="https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html",
        resource_types=(DEPLOYMENT_GROUP,),
        check=check_auto_rollback_on_alarm,
        waivable=False,
    ),
    Rule(
        name="codedeploy-alarms-resolvable",
        description="Every alarm a deployment group names is an alarm of this stack watching that deployment.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-16"),
        remediation="Put the `name` of stack aws.cloudwatch.MetricAlarm resources on the deployment's target groups "
        "(TargetGroup dimension) or ECS service (ServiceName dimension) into `alarm_configuration.alarms`.",
        url="https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html",
        stack_check=check_alarms_resolvable,
    ),
    Rule(
        name="codedeploy-ecs-blue-green-shape",
        description="ECS deployment groups are blue/green with traffic control, two target groups and a test route.",
        enforcement="M",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-17"),
        remediation="Set `deployment_style` {deployment_type: BLUE_GREEN, deployment_option: WITH_TRAFFIC_CONTROL}, "
        "`ecs_service` {cluster_name, service_name}, and `load_balancer_info.target_group_pair_info` with both "
        "target groups, one production listener in `prod_traffic_route` and a separate `test_traffic_route`.",
        url=_ECS_BLUE_GREEN_DOCS,
        resource_types=(DEPLOYMENT_GROUP,),
        check=check_ecs_blue_green_shape,
    ),
]
