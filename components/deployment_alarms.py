"""DeploymentAlarms: the CloudWatch alarms a CodeDeploy blue/green deployment rolls back on.

CodeDeploy only sees alarm *names* and only acts on the ALARM state, so every alarm here has a fixed physical
name, explicit missing-data handling and a bounded detection window (period x evaluation periods), which is
what the bake time (blue kept alive) must exceed for a rollback to still be possible (DESIGN trap 5).
Both target groups are watched: CodeDeploy swaps which one is live, and a bad revision shows first on the
one that receives the test traffic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

# CodeDeploy accepts at most ten alarms per deployment group.
MAX_DEPLOYMENT_GROUP_ALARMS = 10
# Labels of the two target groups (their physical names end the same way); not their live role, which swaps.
TARGET_GROUP_LABELS = ("blue", "green")
_NAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
METRIC_DELAY_SECONDS = 60
"""CloudWatch publishes ALB and ECS metrics about a minute late: part of every alarm's detection time."""
PERIODS_SECONDS = (10, 30, 60, 300)


def worst_case_detection_seconds(*, period_seconds: int, evaluation_periods: int, unhealthy_hosts_periods: int) -> int:
    """From a bad deployment to the slowest rollback alarm firing: the longest evaluation window (the
    unhealthy-hosts alarm counts its own periods) plus the metric delay. The one formula for the alarms, the
    recovery export and the blue-outlives-detection check."""
    return period_seconds * max(evaluation_periods, unhealthy_hosts_periods) + METRIC_DELAY_SECONDS


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """When a deployment's rollback alarms fire."""

    period_seconds: int = 60
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2
    server_error_rate_percent: float = 5.0
    p95_latency_ms: int = 1000
    unhealthy_hosts_periods: int = 3
    max_detection_minutes: int = 10
    """Upper bound for period x evaluation periods of every rollback alarm."""

    @property
    def worst_case_detection_seconds(self) -> int:
        return worst_case_detection_seconds(
            period_seconds=self.period_seconds,
            evaluation_periods=self.evaluation_periods,
            unhealthy_hosts_periods=self.unhealthy_hosts_periods,
        )


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    alarms: AlarmThresholds
    name_prefix: str
    """Physical alarm names start with it, e.g. `rampart-production-web`."""
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffixes: Sequence[pulumi.Input[str]]
    """The blue and the green target group, in that order."""
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    desired_count: int
    """The fewest tasks the service should ever run (the autoscaling minimum when autoscaled)."""
    topic_arn: pulumi.Input[str]


def detection_seconds(alarms: AlarmThresholds) -> int:
    """Worst case from a breach to ALARM over every rollback alarm this component creates."""
    return alarms.worst_case_detection_seconds


def validate_thresholds(alarms: AlarmThresholds, field: str) -> None:
    """Bounds CloudWatch and CodeDeploy set; the error names the field, never echoes more than a number."""
    if not isinstance(alarms, AlarmThresholds):
        raise ValueError(f"{field}: expected an AlarmThresholds, got {type(alarms).__name__}")
    counts = ("evaluation_periods", "datapoints_to_alarm", "unhealthy_hosts_periods", "max_detection_minutes",
              "p95_latency_ms")
    for count in counts:
        value = getattr(alarms, count)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{field}.{count}: expected an int >= 1, got {value!r}")
    if alarms.period_seconds not in PERIODS_SECONDS:
        raise ValueError(f"{field}.period_seconds: expected one of {PERIODS_SECONDS}, got {alarms.period_seconds!r}")
    if not 0 < alarms.server_error_rate_percent <= 100:
        raise ValueError(f"{field}.server_error_rate_percent: expected a percentage in (0, 100]")
    if alarms.datapoints_to_alarm > alarms.evaluation_periods:
        raise ValueError(f"{field}.datapoints_to_alarm: expected at most evaluation_periods "
                         f"({alarms.evaluation_periods}), got {alarms.datapoints_to_alarm}")


def _validate(args: DeploymentAlarmsArgs) -> None:
    validate_thresholds(args.alarms, "DeploymentAlarmsArgs.alarms")
    if not isinstance(args.name_prefix, str) or not _NAME_PREFIX.match(args.name_prefix):
        raise ValueError(
            "DeploymentAlarmsArgs.name_prefix: expected letters, digits, '.', '_' or '-' (at most 200), "
            f"got {args.name_prefix!r}"
        )
    if isinstance(args.target_group_arn_suffixes, str) or len(args.target_group_arn_suffixes) != 2:
        raise ValueError(
            "DeploymentAlarmsArgs.target_group_arn_suffixes: expected the blue and the green target group "
            f"(2 items), got {args.target_group_arn_suffixes!r}"
        )
    if isinstance(args.desired_count, bool) or not isinstance(args.desired_count, int) or args.desired_count < 1:
        raise ValueError(f"DeploymentAlarmsArgs.desired_count: expected an int >= 1, got {args.desired_count!r}")
    bound = args.alarms.max_detection_minutes * 60
    window = max(args.alarms.evaluation_periods, args.alarms.unhealthy_hosts_periods) * args.alarms.period_seconds
    if window > bound:
        raise ValueError(
            "DeploymentAlarmsArgs.alarms: expected period x evaluation periods within maxDetectionMinutes "
            f"({bound}s), got {window}s"
        )


class DeploymentAlarms(pulumi.ComponentResource):
    """Rollback alarms for one blue/green service: 5xx rate, p95 latency and unhealthy hosts on each target
    group, and running tasks on the service."""

    alarm_names: list[pulumi.Output[str]]
    """Physical names of every alarm, for the deployment group's alarm configuration."""
    detection_seconds: int
    """Longest period x evaluation periods over these alarms plus the metric delay."""

    def __init__(self, name: str, args: DeploymentAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rampart:index:DeploymentAlarms", name, None, opts)
        _validate(args)
        self._name, self._args = name, args
        alarms = [
            alarm
            for label, tg_suffix in zip(TARGET_GROUP_LABELS, args.target_group_arn_suffixes, strict=True)
            for alarm in self._target_group_alarms(label, tg_suffix)
        ]
        alarms.append(self._running_tasks_alarm())
        if len(alarms) > MAX_DEPLOYMENT_GROUP_ALARMS:  # pragma: no cover - fixed at seven today
            raise ValueError(f"DeploymentAlarms: CodeDeploy takes at most {MAX_DEPLOYMENT_GROUP_ALARMS} alarms")

        self.alarm_names = [a.name for a in alarms]
        self.detection_seconds = detection_seconds(args.alarms)
        self.register_outputs({"alarm_names": self.alarm_names, "detection_seconds": self.detection_seconds})

    def _alarm(self, role: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        actions = [self._args.topic_arn]
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{role}",
            name=f"{self._args.name_prefix}-{role}",
            actions_enabled=True,
            alarm_actions=actions,
            ok_actions=actions,
            # The deployment group names these alarms, so the names stay fixed; PutMetricAlarm overwrites
            # an alarm of the same name, so a create-before-delete replacement would put the new alarm and
            # then delete it as the old one.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            **kwargs,
        )

    def _target_group_alarms(self, label: str, tg_suffix: pulumi.Input[str]) -> list[aws.cloudwatch.MetricAlarm]:
        cfg = self._args.alarms
        dimensions = {"LoadBalancer": self._args.load_balancer_arn_suffix, "TargetGroup": tg_suffix}

        def metric(metric_id: str, metric_name: str) -> dict:
            return {
                "id": metric_id,
                "return_data": False,
                "metric": {
                    "namespace": "AWS/ApplicationELB",
                    "metric_name": metric_name,
                    "dimensions": dimensions,
                    "period": cfg.period_seconds,
                    "stat": "Sum",
                },
            }

        error_rate = self._alarm(
            f"5xx-rate-{label}",
            alarm_description=f"Target 5xx responses above {cfg.server_error_rate_percent}% of requests "
            f"on the {label} target group: rolls a deployment back.",
            comparison_operator="GreaterThanThreshold",
            threshold=cfg.server_error_rate_percent,
            evaluation_periods=cfg.evaluation_periods,
            datapoints_to_alarm=cfg.datapoints_to_alarm,
            metric_queries=[
                metric("errors", "HTTPCode_Target_5XX_Count"),
                metric("requests", "RequestCount"),
                {
                    "id": "rate",
                    "label": "Target 5xx rate (%)",
                    # No request in a period is a rate of 0, not a division by zero.
                    "expression": "IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)",
                    "return_data": True,
                },
            ],
            # An idle target group (green between deployments) publishes nothing; that is not an outage.
            treat_missing_data="notBreaching",
        )
        return [error_rate, *self._target_health_alarms(label, dimensions)]

    def _target_health_alarms(self, label: str, dimensions: dict) -> list[aws.cloudwatch.MetricAlarm]:
        cfg = self._args.alarms
        latency = self._alarm(
            f"p95-latency-{label}",
            alarm_description=f"p95 target response time above {cfg.p95_latency_ms} ms on the {label} "
            "target group: rolls a deployment back.",
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=dimensions,
            extended_statistic="p95",
            period=cfg.period_seconds,
            comparison_operator="GreaterThanThreshold",
            threshold=cfg.p95_latency_ms / 1000,
            evaluation_periods=cfg.evaluation_periods,
            datapoints_to_alarm=cfg.datapoints_to_alarm,
            # Latency exists only when requests do; no traffic must not block or roll back a deployment.
            treat_missing_data="notBreaching",
        )
        unhealthy = self._alarm(
            f"unhealthy-hosts-{label}",
            alarm_description=f"Unhealthy targets for {cfg.unhealthy_hosts_periods} consecutive periods on "
            f"the {label} target group: rolls a deployment back.",
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            dimensions=dimensions,
            statistic="Maximum",
            period=cfg.period_seconds,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=cfg.unhealthy_hosts_periods,
            datapoints_to_alarm=cfg.unhealthy_hosts_periods,
            # A target group without registered targets reports nothing between deployments.
            treat_missing_data="notBreaching",
        )
        return [latency, unhealthy]

    def _running_tasks_alarm(self) -> aws.cloudwatch.MetricAlarm:
        args, cfg = self._args, self._args.alarms
        return self._alarm(
            "running-tasks",
            alarm_description=f"Fewer than {args.desired_count} running tasks: rolls a deployment back.",
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions={"ClusterName": args.cluster_name, "ServiceName": args.service_name},
            statistic="Minimum",
            period=cfg.period_seconds,
            comparison_operator="LessThanThreshold",
            threshold=args.desired_count,
            evaluation_periods=cfg.evaluation_periods,
            datapoints_to_alarm=cfg.datapoints_to_alarm,
            # A service with no running task publishes no datapoint at all: silence here is the outage.
            treat_missing_data="breaching",
        )
