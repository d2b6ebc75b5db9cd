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

import pulumi
import pulumi_aws as aws

from infra.config import AlarmsConfig

# CodeDeploy accepts at most ten alarms per deployment group.
MAX_DEPLOYMENT_GROUP_ALARMS = 10
# Labels of the two target groups (their physical names end the same way); not their live role, which swaps.
TARGET_GROUP_LABELS = ("blue", "green")
_NAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    alarms: AlarmsConfig
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


def detection_seconds(alarms: AlarmsConfig) -> int:
    """Worst case from a breach to ALARM over every rollback alarm this component creates."""
    return alarms.worst_case_detection_seconds


def _validate(args: DeploymentAlarmsArgs) -> None:
    if not isinstance(args.alarms, AlarmsConfig):
        raise ValueError(f"DeploymentAlarmsArgs.alarms: expected an AlarmsConfig, got {type(args.alarms).__name__}")
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
        cfg = args.alarms
        named = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        actions = [args.topic_arn]
        alarms: list[aws.cloudwatch.MetricAlarm] = []

        def alarm(role: str, **kwargs) -> None:
            alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{role}",
                    name=f"{args.name_prefix}-{role}",
                    actions_enabled=True,
                    alarm_actions=actions,
                    ok_actions=actions,
                    # The deployment group names these alarms, so the names stay fixed; PutMetricAlarm overwrites
                    # an alarm of the same name, so a create-before-delete replacement would put the new alarm and
                    # then delete it as the old one.
                    opts=named,
                    **kwargs,
                )
            )

        for label, tg_suffix in zip(TARGET_GROUP_LABELS, args.target_group_arn_suffixes, strict=True):
            dimensions = {"LoadBalancer": args.load_balancer_arn_suffix, "TargetGroup": tg_suffix}

            def metric(metric_id: str, metric_name: str, dimensions=dimensions) -> dict:
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

            alarm(
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
            alarm(
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
            alarm(
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

        alarm(
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

        if len(alarms) > MAX_DEPLOYMENT_GROUP_ALARMS:  # pragma: no cover - fixed at seven today
            raise ValueError(f"DeploymentAlarms: CodeDeploy takes at most {MAX_DEPLOYMENT_GROUP_ALARMS} alarms")

        self.alarm_names = [a.name for a in alarms]
        self.detection_seconds = detection_seconds(cfg)
        self.register_outputs({"alarm_names": self.alarm_names, "detection_seconds": self.detection_seconds})
