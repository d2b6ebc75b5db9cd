"""CloudWatch alarm rules for blue/green rollback (catalogue rules 21-23), and the deployment topology helpers the
ECS and CodeDeploy groups share: which alarms a deployment group rolls back on, what an alarm watches, and how
long it takes to fire.

CodeDeploy can only roll back on an alarm that exists, watches the new task set, fires before blue is
terminated, and notifies someone. None of that is visible on one resource, so most checks here are stack rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.alarm_lookup import AlarmLookup
from guardrails.block_shapes import _is_list, block, blocks, number, physical_name, strings  # noqa: F401 (re-exported)
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import of_type
from guardrails.stack_index import StackIndex, for_stack

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ECS_SERVICE = "aws:ecs/service:Service"

TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")

DEFAULT_METRIC_DELAY_SECONDS = 60
"""CloudWatch publishes ALB and ECS datapoints about a minute late; an alarm cannot fire before they land."""

DETECTION_THRESHOLDS: Mapping[str, int] = {
    "maxDetectionSeconds": 300,
    "metricDelaySeconds": DEFAULT_METRIC_DELAY_SECONDS,
}
"""Production bound (RTO 5 min); staging's pack config raises maxDetectionSeconds."""


# Detection latency -------------------------------------------------------------------------------------------
def alarm_period(alarm: Resource) -> int | None:
    """The alarm's evaluation period: `period`, or the longest period among its metric-math queries."""
    period = number(alarm.get("period"))
    if period:
        return period
    periods = []
    for query in blocks(alarm.get("metricQueries")):
        for candidate in (query.get("period"), block(query.get("metric")).get("period")):
            if number(candidate):
                periods.append(number(candidate))
    return max(periods) if periods else None  # type: ignore[type-var]


def detection_seconds(alarm: Resource, metric_delay_seconds: int = DEFAULT_METRIC_DELAY_SECONDS) -> int | None:
    """Worst-case seconds from a bad deployment to ALARM: period x evaluationPeriods + metric delay."""
    period = alarm_period(alarm)
    evaluations = number(alarm.get("evaluationPeriods"))
    if not period or not evaluations:
        return None
    return period * evaluations + metric_delay_seconds


# Deployment topology -----------------------------------------------------------------------------------------
def group_alarm_names(group: Resource) -> list[str]:
    return strings(block(group.get("alarmConfiguration")).get("alarms"))


def group_alarms_enabled(group: Resource) -> bool:
    return block(group.get("alarmConfiguration")).get("enabled") is True


def group_target_group_names(group: Resource) -> set[str]:
    pair = block(block(group.get("loadBalancerInfo")).get("targetGroupPairInfo"))
    return {tg["name"] for tg in blocks(pair.get("targetGroups")) if isinstance(tg.get("name"), str)}


def group_service(group: Resource) -> tuple[str | None, str | None]:
    """(clusterName, serviceName) of the group's ecsService block."""
    service = block(group.get("ecsService"))
    cluster, name = service.get("clusterName"), service.get("serviceName")
    return (cluster if isinstance(cluster, str) else None, name if isinstance(name, str) else None)


def _depends_on(resource: Resource, prop: str, urn: str) -> bool:
    if resource.property_dependencies:
        return urn in resource.property_dependencies.get(prop, ())
    return urn in resource.dependencies


_ALARM_REFERENCE = re.compile(r"""\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*["']?([^"')]+?)["']?\s*\)""")


def composite_members(alarm_name: str, resources: Sequence[Resource]) -> list[Resource]:
    """The stack MetricAlarms a stack CompositeAlarm of that name is built from (empty if it is none)."""
    for composite in of_type(resources, COMPOSITE_ALARM):
        if composite.get("alarmName") == alarm_name:
            rule = composite.get("alarmRule")
            names = set(_ALARM_REFERENCE.findall(rule)) if isinstance(rule, str) else set()
            return [a for a in of_type(resources, METRIC_ALARM) if a.get("name") in names]
    return []


def resolve_group_alarms(group: Resource, resources: Sequence[Resource]) -> tuple[list[Resource], list[str]]:
    """The stack's MetricAlarms the group names, and the names that match none of them.

    A CompositeAlarm stands for the metric alarms its rule references: detection and coverage are theirs.

    An alarm matches by its `name` input; an autonamed alarm the group's alarmConfiguration is computed from
    matches by its logical name, or else takes one of the otherwise unmatched names.

    Several rules ask this of every group: answered once per group and stack (guardrails.stack_index), from the
    stack's alarms read once (guardrails.alarm_lookup) rather than a scan of the stack per name."""
    index = for_stack(resources)
    # Keyed by identity: the memo holds the group itself, so its id cannot pass to another object meanwhile.
    _group, found, unresolved = index.memo(("resolve_group_alarms", id(group)),
                                           lambda: (group, *_resolve(group, index)))
    return list(found), list(unresolved)


def _resolve(group: Resource, index: StackIndex) -> tuple[list[Resource], list[str]]:
    lookup = index.memo("alarm_lookup", lambda: AlarmLookup.of(index.of_type((METRIC_ALARM,)),
                                                               index.of_type((COMPOSITE_ALARM,))))
    if lookup is None:
        return _resolve_by_scanning(group, index.resources)
    found: list[Resource] = []
    unresolved: list[str] = []
    for alarm_name in group_alarm_names(group):
        composite = lookup.composite(alarm_name)
        if composite is not None:
            rule = composite.get("alarmRule")
            members = lookup.all_named(_ALARM_REFERENCE.findall(rule)) if isinstance(rule, str) else []
            if members:
                found += [a for a in members if not _among(a, found)]
                continue
        match = lookup.named(alarm_name)
        if match is None:
            match = next((a for a in lookup.unnamed_called(alarm_name)
                          if _depends_on(group, "alarmConfiguration", a.urn)), None)
        if match is None:
            unresolved.append(alarm_name)
        elif not _among(match, found):
            found.append(match)
    autonamed = [a for a in lookup.unnamed_among(_dependency_urns(group, "alarmConfiguration"))
                 if not _among(a, found)]
    while unresolved and autonamed:
        unresolved.pop(0)
        found.append(autonamed.pop(0))
    return found, unresolved


def _among(resource: Resource, resources: Sequence[Resource]) -> bool:
    """`resource in resources`, without comparing the properties of resources that differ by URN."""
    return any(r is resource or (r.urn == resource.urn and r == resource) for r in resources)


def _dependency_urns(resource: Resource, prop: str) -> Sequence[str]:
    """The URNs `_depends_on(resource, prop, urn)` is true for."""
    if resource.property_dependencies:
        return resource.property_dependencies.get(prop, ())
    return resource.dependencies


def _resolve_by_scanning(group: Resource, resources: Sequence[Resource]) -> tuple[list[Resource], list[str]]:
    """resolve_group_alarms for a stack whose alarm names AlarmLookup cannot hold (an unknown name)."""
    alarms = of_type(resources, METRIC_ALARM)
    found: list[Resource] = []
    unresolved: list[str] = []
    for alarm_name in group_alarm_names(group):
        composite = composite_members(alarm_name, resources)
        if composite:
            found += [a for a in composite if a not in found]
            continue
        match = next((a for a in alarms if a.get("name") == alarm_name), None)
        if match is None:
            match = next(
                (a for a in alarms if not a.get("name") and a.name == alarm_name
                 and _depends_on(group, "alarmConfiguration", a.urn)),
                None,
            )
        if match is None:
            unresolved.append(alarm_name)
        elif match not in found:
            found.append(match)
    autonamed = [a for a in alarms if not a.get("name") and a not in found
                 and _depends_on(group, "alarmConfiguration", a.urn)]
    while unresolved and autonamed:
        unresolved.pop(0)
        found.append(autonamed.pop(0))
    return found, unresolved


def alarm_dimensions(alarm: Resource) -> list[Mapping[str, Any]]:
    dims = [alarm.get("dimensions") or {}]
    dims += [block(q.get("metric")).get("dimensions") or {} for q in blocks(alarm.get("metricQueries"))]
    return [d for d in dims if isinstance(d, Mapping) and d]


def target_group_name(value: Any) -> str | None:
    """`targetgroup/<name>/<id>` (an ARN suffix or a full ARN) -> name; a bare name is returned as is."""
    if not isinstance(value, str) or not value:
        return None
    if "targetgroup/" in value:
        return value.split("targetgroup/", 1)[1].split("/", 1)[0]
    return value


def alarm_watches(alarm: Resource, target_groups: set[str], cluster: str | None, service: str | None) -> bool:
    """True when any of the alarm's metrics is about one of these target groups or this ECS service."""
    for dims in alarm_dimensions(alarm):
        if target_group_name(dims.get("TargetGroup")) in target_groups:
            return True
        if service and dims.get("ServiceName") == service:
            alarm_cluster = dims.get("ClusterName")
            if not (cluster and isinstance(alarm_cluster, str)) or alarm_cluster == cluster:
                return True
    return False


def group_for_service(service: Resource, groups: Sequence[Resource],
                      index: StackIndex | None = None) -> Resource | None:
    """The first of `groups` that deploys `service`. Rules that ask this of every (group, service) pair pass the
    stack's index: each side's reads are then done once per stack, in the same order (so the same unknown, if any,
    is met first)."""
    if index is None:
        name = physical_name(service)
        for group in groups:
            if group_service(group)[1] == name or _depends_on(group, "ecsService", service.urn):
                return group
        return None
    name = index.of_resource("physical_name", service, physical_name)
    for group in groups:
        if index.of_resource("group_service", group, group_service)[1] == name or _depends_on(
                group, "ecsService", service.urn):
            return group
    return None


def service_target_group_names(service: Resource) -> set[str]:
    names = {target_group_name(lb.get("targetGroupArn")) for lb in blocks(service.get("loadBalancers"))}
    return {n for n in names if n}


def is_code_deploy(service: Resource) -> bool:
    return block(service.get("deploymentController")).get("type") == "CODE_DEPLOY"


def rollback_alarms(resources: Sequence[Resource]) -> list[tuple[Resource, Resource]]:
    """(deployment group, alarm) for every stack alarm some deployment group rolls back on."""
    pairs = []
    for group in of_type(resources, DEPLOYMENT_GROUP):
        pairs += [(group, alarm) for alarm in resolve_group_alarms(group, resources)[0]]
    return pairs


def group_detection_seconds(group: Resource, resources: Sequence[Resource], context: Context) -> int | None:
    """The slowest of the group's rollback alarms, or None when none resolves to a timed alarm."""
    delay = context.threshold("metricDelaySeconds")
    timings = [detection_seconds(a, delay) for a in resolve_group_alarms(group, resources)[0]]
    known = [t for t in timings if t is not None]
    return max(known) if known else None


# Rules -------------------------------------------------------------------------------------------------------
def check_alarm_detection_latency_bound(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    bound = context.threshold("maxDetectionSeconds")
    delay = context.threshold("metricDelaySeconds")
    seen: set[str] = set()
    for _group, alarm in rollback_alarms(resources):
        if alarm.urn in seen:
            continue
        seen.add(alarm.urn)
        latency = detection_seconds(alarm, delay)
        if latency is None:
            yield Finding(
                "period and evaluationPeriods are not both set: the rollback alarm's detection latency cannot be "
                f"bounded (expected period x evaluationPeriods + {delay}s metric delay <= {bound}s)",
                alarm.urn,
            )
        elif latency > bound:
            yield Finding(
                f"detection latency is {latency}s (period {alarm_period(alarm)}s x evaluationPeriods "
                f"{number(alarm.get('evaluationPeriods'))} + {delay}s metric delay): expected at most {bound}s",
                alarm.urn,
            )
        if alarm.get("treatMissingData") not in TREAT_MISSING_DATA:
            yield Finding(
                "treatMissingData is not set: expected an explicit choice (notBreaching for error-rate and "
                "latency, breaching for capacity) rather than the silent default 'missing'",
                alarm.urn,
            )


def check_alarm_actions(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("actionsEnabled") is False:
        yield "actionsEnabled is false: expected true (or unset) so the alarm notifies"
    if not strings(resource.get("alarmActions")):
        yield "alarmActions is empty: expected at least one action (e.g. the deployment notification topic ARN)"


def check_alarm_rollback_signal_coverage(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    index = for_stack(resources)
    groups = of_type(resources, DEPLOYMENT_GROUP)
    for group in groups:
        cluster, service_name = group_service(group)
        if service_name is None and not block(group.get("ecsService")):
            continue
        services = [s for s in of_type(resources, ECS_SERVICE) if group_for_service(s, [group], index) is group]
        target_groups = group_target_group_names(group)
        for service in services:
            target_groups |= service_target_group_names(service)
            service_name = service_name or physical_name(service)
        alarms = resolve_group_alarms(group, resources)[0] if group_alarms_enabled(group) else []
        if not any(alarm_watches(a, target_groups, cluster, service_name) for a in alarms):
            where = ", ".join(sorted(target_groups)) or "none"
            yield Finding(
                f"no enabled rollback alarm watches service {service_name or '<unknown>'} or its target groups "
                f"({where}): expected at least one alarm in alarmConfiguration on their metrics",
                group.urn,
            )
    for service in of_type(resources, ECS_SERVICE):
        if is_code_deploy(service) and group_for_service(service, groups, index) is None:
            yield Finding(
                f"service {physical_name(service)} uses CODE_DEPLOY but no deployment group of this stack deploys "
                "it: expected a DeploymentGroup with rollback alarms on its target groups",
                service.urn,
            )


_DEPLOYMENT_SAFETY = "Rampart deployment safety"
_ALARM_DOCS = "https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html"

POLICIES: list[Rule] = [
    Rule(
        name="alarm-detection-latency-bound",
        description="Rollback alarms fire within the detection bound and say explicitly how missing data counts.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-21"),
        remediation="On each aws.cloudwatch.MetricAlarm named in a deployment group's `alarm_configuration`, lower "
        "`period` x `evaluation_periods` so that plus the metric delay stays within maxDetectionSeconds, and set "
        "`treat_missing_data` (notBreaching for error rate and latency, breaching for running task count).",
        url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
        "#alarm-evaluation",
        stack_check=check_alarm_detection_latency_bound,
        thresholds=dict(DETECTION_THRESHOLDS),
    ),
    Rule(
        name="alarm-actions",
        description="Metric and composite alarms have actions enabled and at least one alarm action.",
        enforcement="M",
        severity="medium",
        framework=Framework("Checkov", "CKV_AWS_319"),
        remediation="Leave `actions_enabled` true and set `alarm_actions` (and `ok_actions`) on the "
        "aws.cloudwatch.MetricAlarm / CompositeAlarm to the notification topic ARN.",
        url="https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-15",
        resource_types=(METRIC_ALARM, COMPOSITE_ALARM),
        check=check_alarm_actions,
    ),
    Rule(
        name="alarm-rollback-signal-coverage",
        description="Every blue/green ECS service has at least one rollback alarm on its target groups or service.",
        enforcement="MP",
        severity="high",
        framework=Framework(_DEPLOYMENT_SAFETY, "RDS-23"),
        remediation="Create aws.cloudwatch.MetricAlarm resources on the service's target groups (TargetGroup "
        "dimension, e.g. 5xx rate) or ECS service metrics (ServiceName/ClusterName dimensions), and list their "
        "names in the deployment group's `alarm_configuration.alarms` with `enabled` true.",
        url=_ALARM_DOCS,
        stack_check=check_alarm_rollback_signal_coverage,
    ),
]
