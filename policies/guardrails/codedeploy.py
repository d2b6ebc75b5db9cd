"""CodeDeploy rules for ECS blue/green (catalogue rules 15-20): a deployment group rolls back on failure and on
its alarms, names alarms that exist and watch it, has the blue/green shape ECS needs, keeps blue alive longer
than its alarms take to fire, and never shifts production traffic all at once or faster than detection.

No public scanner checks CodeDeploy; the defaults of a deployment group are built for EC2 servers
(OneAtATime, no rollback, no alarms), which is why every check here names the argument to set.

`codedeploy-auto-rollback-on-alarm` cannot be waived: without automatic rollback a bad release stays live
until someone notices, which voids the recovery objectives every stack declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from guardrails.alarms import (
    DEPLOYMENT_GROUP,
    DETECTION_THRESHOLDS,
    ECS_SERVICE,
    METRIC_ALARM,
    alarm_watches,
    block,
    blocks,
    detection_seconds,
    group_detection_seconds,
    group_for_service,
    group_service,
    group_target_group_names,
    is_code_deploy,
    number,
    physical_name,
    resolve_group_alarms,
    service_target_group_names,
    strings,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import of_type

DEPLOYMENT_CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
MAX_GROUP_ALARMS = 10
"""CodeDeploy accepts at most ten alarms per deployment group."""

SERVER_DEFAULT_CONFIG = "CodeDeployDefault.OneAtATime"
ALL_AT_ONCE_CONFIGS = frozenset({
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.AllAtOnce",
    "CodeDeployDefault.HalfAtATime",
    SERVER_DEFAULT_CONFIG,
})
_BUILT_IN_ECS = re.compile(
    r"^CodeDeployDefault\.ECS(?P<kind>Canary|Linear)\d+Percent(?:Every)?(?P<minutes>\d+)Minutes?$"
)
GRADUAL_TYPES = ("TimeBasedCanary", "TimeBasedLinear")
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
    for svc in of_type(resources, ECS_SERVICE):
        if group_for_service(svc, [group]) is group:
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
        yield f"deploymentStyle.deploymentType is {style.get('deploymentType')!r}: expected 'BLUE_GREEN'"
    if style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        yield f"deploymentStyle.deploymentOption is {style.get('deploymentOption')!r}: expected 'WITH_TRAFFIC_CONTROL'"
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


# 18 ----------------------------------------------------------------------------------------------------------
def check_bake_time(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    max_ready = context.threshold("maxReadyWaitMinutes")
    for group in ecs_groups(resources):
        detection = group_detection_seconds(group, resources, context)
        required = detection if detection is not None else context.threshold("maxDetectionSeconds")
        basis = "the slowest rollback alarm" if detection is not None else "maxDetectionSeconds"
        config = block(group.get("blueGreenDeploymentConfig"))
        terminate = block(config.get("terminateBlueInstancesOnDeploymentSuccess"))
        wait = number(terminate.get("terminationWaitTimeInMinutes"))
        if terminate.get("action") != "KEEP_ALIVE":
            if wait is None:
                yield Finding(
                    "blueGreenDeploymentConfig.terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes "
                    f"is not set: expected blue kept at least {required}s ({basis})",
                    group.urn,
                )
            elif wait * 60 < required:
                yield Finding(
                    f"terminationWaitTimeInMinutes is {wait} ({wait * 60}s): expected blue kept at least {required}s "
                    f"({basis}), or rollback is impossible once blue is gone",
                    group.urn,
                )
        ready = block(config.get("deploymentReadyOption"))
        if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT":
            ready_wait = number(ready.get("waitTimeInMinutes"))
            if ready_wait is None or not 1 <= ready_wait <= max_ready:
                yield Finding(
                    f"deploymentReadyOption.waitTimeInMinutes is {ready_wait}: with STOP_DEPLOYMENT expected 1 to "
                    f"{max_ready} minutes",
                    group.urn,
                )


def _minutes(value: object) -> int | None:
    """ECS takes its deployment minutes as strings ("30"); a number is accepted too."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return number(value)


def _native_detection_seconds(service: Resource, resources: Sequence[Resource], context: Context) -> int | None:
    """The slowest of the alarms an ECS-native blue/green service rolls back on (by name)."""
    names = set(strings(block(service.get("alarms")).get("alarmNames")))
    delay = context.threshold("metricDelaySeconds")
    timings = [detection_seconds(a, delay) for a in of_type(resources, METRIC_ALARM) if a.get("name") in names]
    known = [t for t in timings if t is not None]
    return max(known) if known else None


def check_native_bake_time(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    """ECS-native blue/green: the bake keeps blue as terminationWaitTimeInMinutes does for CodeDeploy, and a
    pause hook (the smoke gate) that times out rolls back within maxReadyWaitMinutes."""
    max_ready = context.threshold("maxReadyWaitMinutes")
    for service in of_type(resources, ECS_SERVICE):
        config = block(service.get("deploymentConfiguration"))
        if is_code_deploy(service) or config.get("strategy") != "BLUE_GREEN":
            continue
        label = f"service {physical_name(service) or service.name}"
        detection = _native_detection_seconds(service, resources, context)
        required = detection if detection is not None else context.threshold("maxDetectionSeconds")
        basis = "the slowest rollback alarm" if detection is not None else "maxDetectionSeconds"
        bake = _minutes(config.get("bakeTimeInMinutes"))
        if bake is None or bake * 60 < required:
            yield Finding(f"{label}: deploymentConfiguration.bakeTimeInMinutes is {bake}: expected blue kept at least "
                          f"{required}s ({basis}), or the alarms fire after blue is gone", service.urn)
        for hook in blocks(config.get("lifecycleHooks")):
            if hook.get("targetType") != "PAUSE":
                continue
            timeout = block(hook.get("timeoutConfiguration"))
            minutes = _minutes(timeout.get("timeoutInMinutes"))
            if timeout.get("action", "ROLLBACK") != "ROLLBACK" or minutes is None or not 1 <= minutes <= max_ready:
                yield Finding(f"{label}: pause hook timeoutConfiguration is {dict(timeout)}: expected action ROLLBACK "
                              f"within 1 to {max_ready} minutes (an unanswered smoke gate must not release green)",
                              service.urn)


def check_bake_times(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    yield from check_bake_time(resources, context)
    yield from check_native_bake_time(resources, context)


# 19 and 20: deployment configs --------------------------------------------------------------------------------
def _config_for(group: Resource, resources: Sequence[Resource]) -> Resource | None:
    name = group.get("deploymentConfigName")
    for config in of_type(resources, DEPLOYMENT_CONFIG):
        if config.get("deploymentConfigName") == name or config.urn in group.property_dependencies.get(
            "deploymentConfigName", ()
        ):
            return config
    return None


def _routing_type(config: Resource) -> str:
    return str(block(config.get("trafficRoutingConfig")).get("type") or "AllAtOnce")


def check_no_all_at_once_prod(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    for group in ecs_groups(resources):
        name = group.get("deploymentConfigName")
        if name is None:
            yield Finding(
                f"deploymentConfigName is not set (server default {SERVER_DEFAULT_CONFIG}): expected an ECS canary "
                "or linear config",
                group.urn,
            )
            continue
        if name in ALL_AT_ONCE_CONFIGS:
            yield Finding(f"deploymentConfigName is {name!r}: expected an ECS canary or linear config", group.urn)
            continue
        if _BUILT_IN_ECS.match(str(name)):
            continue
        config = _config_for(group, resources)
        if config is None:
            yield Finding(
                f"deploymentConfigName {name!r} is neither a built-in ECS canary/linear config nor a DeploymentConfig "
                "of this stack: expected one whose traffic shift can be checked",
                group.urn,
            )
        elif _routing_type(config) not in GRADUAL_TYPES:
            yield Finding(
                f"deploymentConfigName {name!r} shifts traffic {_routing_type(config)}: expected TimeBasedCanary or "
                "TimeBasedLinear",
                group.urn,
            )


def _interval_minutes(config: Resource) -> int | None:
    routing = block(config.get("trafficRoutingConfig"))
    step = block(routing.get("timeBasedCanary")) or block(routing.get("timeBasedLinear"))
    return number(step.get("interval"))


def check_config_traffic_window(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = ecs_groups(resources)
    fallback = context.threshold("maxDetectionSeconds")

    def required_for(users: list[Resource]) -> tuple[int, str]:
        timings = [t for t in (group_detection_seconds(g, resources, context) for g in users) if t is not None]
        return (max(timings), "the slowest rollback alarm") if timings else (fallback, "maxDetectionSeconds")

    for config in of_type(resources, DEPLOYMENT_CONFIG):
        if config.get("computePlatform") != "ECS":
            yield Finding(
                f"computePlatform is {config.get('computePlatform') or 'unset (Server)'!r}: expected 'ECS'", config.urn
            )
        routing_type = _routing_type(config)
        if routing_type not in GRADUAL_TYPES:
            continue
        interval = _interval_minutes(config)
        required, basis = required_for([g for g in groups if _config_for(g, resources) is config])
        if interval is None:
            yield Finding(f"trafficRoutingConfig {routing_type} interval is not set: expected at least "
                          f"{-(-required // 60)} minutes ({basis})", config.urn)
        elif interval * 60 < required:
            yield Finding(
                f"trafficRoutingConfig {routing_type} interval is {interval} min ({interval * 60}s): expected at "
                f"least {required}s ({basis}) so alarms can fire before the next traffic step",
                config.urn,
            )
    for group in groups:
        match = _BUILT_IN_ECS.match(str(group.get("deploymentConfigName") or ""))
        if match is None:
            continue
        interval = int(match["minutes"])
        required, basis = required_for([group])
        if interval * 60 < required:
            yield Finding(
                f"deploymentConfigName {group.get('deploymentConfigName')!r} shifts every {interval} min "
                f"({interval * 60}s): expected at least {required}s ({basis})",
                group.urn,
            )


_DEPLOYMENT_SAFETY = "Rampart deployment safety"
_ECS_BLUE_GREEN_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html"

POLICIES: list[Rule] = [
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
    Rule(
        name="codedeploy-bake-time",
        description="Blue is kept after the shift (CodeDeploy termination wait, or ECS bake time) at least as long "
        "as the rollback alarms take to fire.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-18"),
        remediation="Set `blue_green_deployment_config.terminate_blue_instances_on_deployment_success` "
        "{action: TERMINATE, termination_wait_time_in_minutes: >= the alarm detection window}; with "
        "`deployment_ready_option.action_on_timeout` STOP_DEPLOYMENT keep `wait_time_in_minutes` within "
        "maxReadyWaitMinutes. ECS-native: `deployment_configuration.bake_time_in_minutes` >= the alarm detection "
        "window, and a PAUSE hook's `timeout_configuration` {action: ROLLBACK, timeout_in_minutes: 1 to "
        "maxReadyWaitMinutes}.",
        url="https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_BlueInstanceTerminationOption.html",
        stack_check=check_bake_times,
        thresholds={**DETECTION_THRESHOLDS, "maxReadyWaitMinutes": 60},
    ),
    Rule(
        name="codedeploy-no-all-at-once-prod",
        description="Production deployment groups shift traffic by canary or linear steps, never all at once.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-19"),
        remediation="Set `deployment_config_name` to an ECS canary/linear config (e.g. "
        "CodeDeployDefault.ECSCanary10Percent5Minutes) or to an aws.codedeploy.DeploymentConfig with "
        "`traffic_routing_config.type` TimeBasedCanary or TimeBasedLinear.",
        url="https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html",
        stack_check=check_no_all_at_once_prod,
    ),
    Rule(
        name="codedeploy-config-traffic-window",
        description="ECS deployment configs wait between traffic steps at least as long as alarm detection takes.",
        enforcement="MP",
        severity="medium",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-20"),
        remediation="On the aws.codedeploy.DeploymentConfig set `compute_platform` ECS and a "
        "`traffic_routing_config.time_based_canary`/`time_based_linear` `interval` (minutes) of at least the "
        "rollback alarms' detection window; for built-in configs pick one with a long enough interval.",
        url="https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations-create.html",
        stack_check=check_config_traffic_window,
        thresholds=dict(DETECTION_THRESHOLDS),
    ),
]
