"""CodeDeploy traffic rules for ECS blue/green (catalogue rules 18-20): blue is kept alive longer than the
rollback alarms take to fire (CodeDeploy termination wait, or ECS-native bake time), and production traffic never
shifts all at once nor faster than detection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from guardrails.alarms import (
    DETECTION_THRESHOLDS,
    ECS_SERVICE,
    METRIC_ALARM,
    block,
    blocks,
    detection_seconds,
    group_detection_seconds,
    is_code_deploy,
    number,
    physical_name,
    strings,
)
from guardrails.codedeploy_groups import ecs_groups
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import of_type

DEPLOYMENT_CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"

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
                    f"deploymentReadyOption.waitTimeInMinutes is {shown(ready_wait, quoted=False)}: with "
                    f"STOP_DEPLOYMENT expected 1 to "
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
            yield Finding(f"{label}: deploymentConfiguration.bakeTimeInMinutes is {shown(bake, quoted=False)}: "
                          f"expected blue kept at least "
                          f"{required}s ({basis}), or the alarms fire after blue is gone", service.urn)
        for hook in blocks(config.get("lifecycleHooks")):
            if hook.get("targetType") != "PAUSE":
                continue
            timeout = block(hook.get("timeoutConfiguration"))
            minutes = _minutes(timeout.get("timeoutInMinutes"))
            if timeout.get("action", "ROLLBACK") != "ROLLBACK" or minutes is None or not 1 <= minutes <= max_ready:
                yield Finding(f"{label}: pause hook timeoutConfiguration is {shown(dict(timeout) or None)}: "
                              "expected action ROLLBACK "
                              f"within 1 to {max_ready} minutes (an unanswered smoke gate must not release green)",
                              service.urn)


def check_bake_times(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    yield from check_bake_time(resources, context)
    yield from check_native_bake_time(resources, context)


# 19 and 20: deployment configs --------------------------------------------------------------------------------
def _config_for(group: Resource, configs: Sequence[Resource]) -> Resource | None:
    """The first of the stack's DeploymentConfigs (`configs`, in stack order) the group names or depends on."""
    name = group.get("deploymentConfigName")
    for config in configs:
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
        config = _config_for(group, of_type(resources, DEPLOYMENT_CONFIG))
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
    configs = of_type(resources, DEPLOYMENT_CONFIG)
    fallback = context.threshold("maxDetectionSeconds")
    # Which config each group uses, worked out once for all configs (not once per config: cubic in the stack), and
    # only when the first gradual config asks, so the inputs are read when and in the order they were before.
    config_of: list[Resource | None] = []

    def users_of(config: Resource) -> list[Resource]:
        if not config_of:
            config_of.extend(_config_for(g, configs) for g in groups)
        return [g for g, used in zip(groups, config_of, strict=True) if used is config]

    def required_for(users: list[Resource]) -> tuple[int, str]:
        timings = [t for t in (group_detection_seconds(g, resources, context) for g in users) if t is not None]
        return (max(timings), "the slowest rollback alarm") if timings else (fallback, "maxDetectionSeconds")

    for config in configs:
        if config.get("computePlatform") != "ECS":
            yield Finding(
                f"computePlatform is {shown(config.get('computePlatform') or None)}"
                f"{'' if config.get('computePlatform') else ' (Server)'}: expected 'ECS'", config.urn
            )
        routing_type = _routing_type(config)
        if routing_type not in GRADUAL_TYPES:
            continue
        interval = _interval_minutes(config)
        required, basis = required_for(users_of(config))
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

RULES: list[Rule] = [
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
