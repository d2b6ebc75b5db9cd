"""DeploymentAlarms on recorded registrations, with both project stacks' alarm settings."""

from __future__ import annotations

import dataclasses

import pytest

from components.deployment_alarms import AlarmThresholds, DeploymentAlarms, DeploymentAlarmsArgs
from infra.component_args import alarm_thresholds
from tests.support.stacks import record_program, stack_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "arn:aws:sns:us-east-1:123456789012:rampart-test-alerts"
LB = "app/rampart-test/0123456789abcdef"
BLUE = "targetgroup/rampart-test-web-blue/1111"
GREEN = "targetgroup/rampart-test-web-green/2222"


def make_args(stack: str = "production", **overrides) -> DeploymentAlarmsArgs:
    cfg = stack_config(stack)
    base = DeploymentAlarmsArgs(
        alarms=alarm_thresholds(cfg.alarms),
        name_prefix=f"rampart-{stack}-web",
        load_balancer_arn_suffix=LB,
        target_group_arn_suffixes=[BLUE, GREEN],
        cluster_name=f"rampart-{stack}",
        service_name=f"rampart-{stack}-web",
        desired_count=3,
        topic_arn=TOPIC,
    )
    return dataclasses.replace(base, **overrides)


def record(args: DeploymentAlarmsArgs):
    built: dict[str, DeploymentAlarms] = {}

    def program() -> None:
        built["c"] = DeploymentAlarms("web-alarms", args)

    rec = record_program(program)
    return rec, built["c"]


@pytest.fixture(scope="module", params=["production", "staging"])
def recorded(request):
    return request.param, *record(make_args(request.param))


def alarms_by_role(rec) -> dict[str, dict]:
    return {r.name.removeprefix("web-alarms-"): r.plain_inputs() for r in rec.by_type(ALARM)}


def uses_target_group(inputs: dict, suffix: str) -> bool:
    if inputs.get("dimensions", {}).get("TargetGroup") == suffix:
        return True
    return any(
        q.get("metric", {}).get("dimensions", {}).get("TargetGroup") == suffix for q in inputs.get("metricQueries", [])
    )


def test_every_alarm_is_a_named_child_of_the_component(recorded):
    stack, rec, _ = recorded
    component = rec.one("rampart:index:DeploymentAlarms")
    alarms = rec.by_type(ALARM)
    assert {r.name for r in alarms} == {
        "web-alarms-5xx-rate-blue",
        "web-alarms-5xx-rate-green",
        "web-alarms-p95-latency-blue",
        "web-alarms-p95-latency-green",
        "web-alarms-unhealthy-hosts-blue",
        "web-alarms-unhealthy-hosts-green",
        "web-alarms-running-tasks",
    }
    assert all(r.parent == component.urn for r in alarms)
    for role, inputs in alarms_by_role(rec).items():
        assert inputs["name"] == f"rampart-{stack}-web-{role}"


def test_one_alarm_name_output_per_alarm_within_codedeploy_limit(recorded):
    _, rec, component = recorded
    physical = [r.plain_inputs()["name"] for r in rec.by_type(ALARM)]
    assert len(component.alarm_names) == len(physical) == 7
    assert len(set(physical)) == len(physical)
    assert len(physical) <= 10  # CodeDeploy's limit per deployment group


def test_actions_enabled_and_notify_on_alarm_and_ok(recorded):
    _, rec, _ = recorded
    for inputs in alarms_by_role(rec).values():
        assert inputs["actionsEnabled"] is True
        assert inputs["alarmActions"] == [TOPIC]
        assert inputs["okActions"] == [TOPIC]


def test_missing_data_is_explicit_and_only_the_running_task_alarm_breaches(recorded):
    _, rec, _ = recorded
    for role, inputs in alarms_by_role(rec).items():
        expected = "breaching" if role == "running-tasks" else "notBreaching"
        assert inputs["treatMissingData"] == expected, role


def test_both_target_groups_are_watched_for_every_load_balancer_signal(recorded):
    _, rec, _ = recorded
    by_role = alarms_by_role(rec)
    for signal in ("5xx-rate", "p95-latency", "unhealthy-hosts"):
        assert uses_target_group(by_role[f"{signal}-blue"], BLUE)
        assert uses_target_group(by_role[f"{signal}-green"], GREEN)
        for colour in ("blue", "green"):
            inputs = by_role[f"{signal}-{colour}"]
            dims = inputs.get("dimensions") or inputs["metricQueries"][0]["metric"]["dimensions"]
            assert dims["LoadBalancer"] == LB


def test_error_rate_is_5xx_over_requests_guarded_against_division_by_zero(recorded):
    stack, rec, _ = recorded
    inputs = alarms_by_role(rec)["5xx-rate-green"]
    cfg = stack_config(stack).alarms
    queries = {q["id"]: q for q in inputs["metricQueries"]}
    assert queries["errors"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert queries["requests"]["metric"]["metricName"] == "RequestCount"
    assert queries["errors"]["metric"]["stat"] == queries["requests"]["metric"]["stat"] == "Sum"
    expression = queries["rate"]["expression"]
    assert expression.startswith("IF(") and "100 *" in expression and "/ FILL(requests, 0)" in expression
    assert [q["id"] for q in inputs["metricQueries"] if q.get("returnData")] == ["rate"]
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert inputs["threshold"] == pytest.approx(cfg.server_error_rate_percent)


def test_latency_alarm_is_p95_in_seconds(recorded):
    stack, rec, _ = recorded
    cfg = stack_config(stack).alarms
    inputs = alarms_by_role(rec)["p95-latency-green"]
    assert inputs["metricName"] == "TargetResponseTime"
    assert inputs["extendedStatistic"] == "p95"
    assert "statistic" not in inputs
    assert inputs["threshold"] == pytest.approx(cfg.p95_latency_ms / 1000)


def test_unhealthy_hosts_alarm_needs_consecutive_periods(recorded):
    stack, rec, _ = recorded
    cfg = stack_config(stack).alarms
    inputs = alarms_by_role(rec)["unhealthy-hosts-green"]
    assert inputs["metricName"] == "UnHealthyHostCount"
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert inputs["threshold"] == 0
    assert inputs["evaluationPeriods"] == inputs["datapointsToAlarm"] == cfg.unhealthy_hosts_periods


def test_running_tasks_below_desired_on_container_insights(recorded):
    stack, rec, _ = recorded
    inputs = alarms_by_role(rec)["running-tasks"]
    assert inputs["namespace"] == "ECS/ContainerInsights"
    assert inputs["metricName"] == "RunningTaskCount"
    assert inputs["comparisonOperator"] == "LessThanThreshold"
    assert inputs["threshold"] == 3
    assert inputs["dimensions"] == {"ClusterName": f"rampart-{stack}", "ServiceName": f"rampart-{stack}-web"}


def test_periods_and_datapoints_come_from_config(recorded):
    stack, rec, _ = recorded
    cfg = stack_config(stack).alarms
    for role, inputs in alarms_by_role(rec).items():
        if role.startswith("unhealthy-hosts"):
            continue
        assert inputs["evaluationPeriods"] == cfg.evaluation_periods, role
        assert inputs["datapointsToAlarm"] == cfg.datapoints_to_alarm, role
        period = inputs.get("period") or inputs["metricQueries"][0]["metric"]["period"]
        assert period == cfg.period_seconds, role


def test_detection_seconds_is_the_longest_window_plus_metric_delay(recorded):
    stack, rec, component = recorded
    longest = 0
    for inputs in alarms_by_role(rec).values():
        period = inputs.get("period") or inputs["metricQueries"][0]["metric"]["period"]
        longest = max(longest, int(period) * int(inputs["evaluationPeriods"]))
    assert component.detection_seconds == longest + 60
    assert isinstance(component.detection_seconds, int)


def test_detection_follows_unhealthy_periods_when_they_are_the_longest():
    alarms = AlarmThresholds(period_seconds=60, evaluation_periods=2, datapoints_to_alarm=2, unhealthy_hosts_periods=5)
    _, component = record(make_args(alarms=alarms))
    assert component.detection_seconds == 5 * 60 + 60


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name_prefix": "bad prefix!"}, "DeploymentAlarmsArgs.name_prefix: expected"),
        ({"target_group_arn_suffixes": [BLUE]}, "DeploymentAlarmsArgs.target_group_arn_suffixes: expected"),
        ({"desired_count": 0}, "DeploymentAlarmsArgs.desired_count: expected"),
        ({"alarms": {"periodSeconds": 60}}, "DeploymentAlarmsArgs.alarms: expected an AlarmThresholds"),
        (
            {"alarms": AlarmThresholds(period_seconds=300, evaluation_periods=3, max_detection_minutes=10)},
            "DeploymentAlarmsArgs.alarms: expected period x evaluation periods within",
        ),
        ({"alarms": AlarmThresholds(evaluation_periods=2, datapoints_to_alarm=3)},
         "DeploymentAlarmsArgs.alarms.datapoints_to_alarm: expected at most evaluation_periods"),
        ({"alarms": AlarmThresholds(period_seconds=45)}, "DeploymentAlarmsArgs.alarms.period_seconds: expected one of"),
        ({"alarms": AlarmThresholds(evaluation_periods=0)}, "DeploymentAlarmsArgs.alarms.evaluation_periods: expected"),
    ],
)
def test_invalid_args_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        record(make_args(**overrides))
