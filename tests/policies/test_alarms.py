"""Alarm rules (21-23) and the detection-latency arithmetic the CodeDeploy rules share."""

from __future__ import annotations

import pytest
from guardrails.alarms import (
    COMPOSITE_ALARM,
    DEPLOYMENT_GROUP,
    ECS_SERVICE,
    METRIC_ALARM,
    POLICIES,
    check_alarm_actions,
    check_alarm_detection_latency_bound,
    check_alarm_rollback_signal_coverage,
    detection_seconds,
    resolve_group_alarms,
)
from guardrails.rule import Context, Resource

from tests.support.pack import analyze, analyze_stack, registration

RULES = {rule.name: rule for rule in POLICIES}
TG_BLUE = "targetgroup/app-blue/0123456789abcdef"
TG_GREEN = "targetgroup/app-green/fedcba9876543210"


def ctx(rule: str, **overrides) -> Context:
    return Context(config={**RULES[rule].thresholds, **overrides})


def alarm_props(alarm_name: str, **overrides) -> dict:
    props = {
        "name": alarm_name, "namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count",
        "dimensions": {"TargetGroup": TG_GREEN, "LoadBalancer": "app/alb/123"},
        "period": 60.0, "evaluationPeriods": 3.0, "datapointsToAlarm": 2.0, "statistic": "Sum",
        "threshold": 5.0, "comparisonOperator": "GreaterThanThreshold", "treatMissingData": "notBreaching",
        "actionsEnabled": True, "alarmActions": ["arn:aws:sns:us-east-1:123456789012:deploy"],
    }
    return {k: v for k, v in {**props, **overrides}.items() if v is not None}


def alarm(name: str = "app-5xx", **overrides) -> Resource:
    return Resource(METRIC_ALARM, alarm_props(name, **overrides), urn=f"urn:alarm:{name}", name=name)


def group_props(alarms=("app-5xx",), enabled=True) -> dict:
    return {
        "appName": "app", "deploymentGroupName": "app",
        "ecsService": {"clusterName": "main", "serviceName": "app"},
        "alarmConfiguration": {"alarms": list(alarms), "enabled": enabled, "ignorePollAlarmFailure": False},
        "loadBalancerInfo": {"targetGroupPairInfo": {
            "targetGroups": [{"name": "app-blue"}, {"name": "app-green"}],
            "prodTrafficRoute": {"listenerArns": ["arn:prod"]}, "testTrafficRoute": {"listenerArns": ["arn:test"]},
        }},
    }


def group(**kwargs) -> Resource:
    return Resource(DEPLOYMENT_GROUP, group_props(**kwargs), urn="urn:dg", name="app")


def service(**overrides) -> Resource:
    props = {"name": "app", "deploymentController": {"type": "CODE_DEPLOY"},
             "loadBalancers": [{"targetGroupArn": f"arn:aws:elasticloadbalancing:us-east-1:1:{TG_BLUE}",
                                "containerName": "app", "containerPort": 8080.0}], **overrides}
    return Resource(ECS_SERVICE, props, urn="urn:svc", name="app")


# detection latency -------------------------------------------------------------------------------------------
def test_detection_is_period_times_evaluations_plus_delay():
    assert detection_seconds(alarm()) == 60 * 3 + 60
    assert detection_seconds(alarm(period=300.0, evaluationPeriods=2.0), 0) == 600


def test_detection_of_metric_math_uses_the_longest_query_period():
    queries = [{"id": "e", "expression": "100*m1/m2", "returnData": True},
               {"id": "m1", "metric": {"metricName": "HTTPCode_Target_5XX_Count", "period": 60.0, "stat": "Sum"}},
               {"id": "m2", "metric": {"metricName": "RequestCount", "period": 120.0, "stat": "Sum"}}]
    math = alarm(period=None, metricQueries=queries, dimensions=None)
    assert detection_seconds(math) == 120 * 3 + 60


def test_detection_unknown_without_period():
    assert detection_seconds(alarm(period=None)) is None


def test_autonamed_alarm_resolves_through_its_dependency():
    auto = Resource(METRIC_ALARM, alarm_props("x", name=None), urn="urn:auto", name="auto")
    dg = Resource(DEPLOYMENT_GROUP, group_props(alarms=("auto-1a2b3c",)), urn="urn:dg",
                  property_dependencies={"alarmConfiguration": ["urn:auto"]})
    assert resolve_group_alarms(dg, [auto, dg]) == ([auto], [])
    unrelated = Resource(DEPLOYMENT_GROUP, group_props(alarms=("auto-1a2b3c",)), urn="urn:dg",
                         property_dependencies={"alarmConfiguration": []})
    assert resolve_group_alarms(unrelated, [auto, unrelated]) == ([], ["auto-1a2b3c"])


def test_composite_alarm_stands_for_its_metric_alarms():
    composite = Resource(COMPOSITE_ALARM, {"alarmName": "app-any",
                                           "alarmRule": 'ALARM("app-5xx") OR ALARM(app-latency)'}, urn="urn:c")
    latency_alarm, unrelated = alarm("app-latency"), alarm("other")
    dg = group(alarms=("app-any",))
    assert resolve_group_alarms(dg, [composite, alarm(), latency_alarm, unrelated, dg]) == (
        [alarm(), latency_alarm], [])
    empty = Resource(COMPOSITE_ALARM, {"alarmName": "app-any", "alarmRule": 'ALARM("gone")'}, urn="urn:c")
    assert resolve_group_alarms(dg, [empty, alarm(), dg]) == ([], ["app-any"])
    assert coverage([service(), dg, composite, alarm()]) == []


# rule 21 -----------------------------------------------------------------------------------------------------
def latency(resources, **overrides):
    return list(check_alarm_detection_latency_bound(resources, ctx("alarm-detection-latency-bound", **overrides)))


def test_latency_compliant_rollback_alarm_passes():
    assert latency([group(), alarm()]) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"period": 300.0}, "detection latency is 960s (period 300s x evaluationPeriods 3 + 60s metric delay): "
                            "expected at most 300s"),
        ({"evaluationPeriods": 5.0}, "detection latency is 360s"),
        ({"period": None}, "period and evaluationPeriods are not both set"),
        ({"evaluationPeriods": None}, "period and evaluationPeriods are not both set"),
        ({"treatMissingData": None}, "treatMissingData is not set"),
        ({"treatMissingData": "sometimes"}, "treatMissingData is not set"),
    ],
)
def test_latency_flips_fail(overrides, expected):
    [finding] = latency([group(), alarm(**overrides)])
    assert finding.urn == "urn:alarm:app-5xx" and expected in finding.message


def test_latency_bound_and_delay_are_thresholds():
    assert latency([group(), alarm(period=300.0)], maxDetectionSeconds=960) == []
    assert latency([group(), alarm(evaluationPeriods=5.0)], metricDelaySeconds=0) == []
    assert latency([group(), alarm(evaluationPeriods=5.0)]) != []


def test_latency_ignores_alarms_no_deployment_group_rolls_back_on():
    assert latency([alarm(period=3600.0, treatMissingData=None)]) == []


# rule 22 -----------------------------------------------------------------------------------------------------
def actions(**overrides):
    return list(check_alarm_actions(alarm(**overrides), ctx("alarm-actions")))


def test_composite_alarm_actions_are_checked_too():
    composite = Resource(COMPOSITE_ALARM, {"alarmName": "c", "alarmRule": "ALARM(a)", "actionsEnabled": False})
    assert len(list(check_alarm_actions(composite, ctx("alarm-actions")))) == 2


def test_actions_compliant_passes():
    assert actions() == []
    assert actions(actionsEnabled=None) == []  # provider default is enabled


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({"actionsEnabled": False}, "actionsEnabled is false"), ({"alarmActions": None}, "alarmActions is empty"),
     ({"alarmActions": []}, "alarmActions is empty")],
)
def test_actions_flips_fail(overrides, expected):
    [message] = actions(**overrides)
    assert expected in message


# rule 23 -----------------------------------------------------------------------------------------------------
def coverage(resources):
    return list(check_alarm_rollback_signal_coverage(resources, ctx("alarm-rollback-signal-coverage")))


def test_coverage_by_target_group_alarm_passes():
    assert coverage([service(), group(), alarm()]) == []


def test_coverage_by_ecs_service_metric_passes():
    running = alarm("app-running", namespace="ECS/ContainerInsights", metricName="RunningTaskCount",
                    dimensions={"ClusterName": "main", "ServiceName": "app"})
    assert coverage([service(), group(alarms=("app-running",)), running]) == []


def test_coverage_fails_when_the_alarm_watches_another_target_group():
    other = alarm(dimensions={"TargetGroup": "targetgroup/other/1", "LoadBalancer": "app/alb/1"})
    [finding] = coverage([service(), group(), other])
    assert finding.urn == "urn:dg" and "no enabled rollback alarm watches service app" in finding.message


def test_coverage_fails_when_another_clusters_service_is_watched():
    running = alarm("r", dimensions={"ClusterName": "other", "ServiceName": "app"})
    assert len(coverage([service(), group(alarms=("r",)), running])) == 1


def test_coverage_fails_when_alarm_configuration_is_disabled():
    assert len(coverage([service(), group(enabled=False), alarm()])) == 1


def test_coverage_fails_when_the_named_alarm_is_not_in_the_stack():
    assert len(coverage([service(), group(alarms=("elsewhere",)), alarm()])) == 1


def test_coverage_fails_for_code_deploy_service_without_deployment_group():
    [finding] = coverage([service(), alarm()])
    assert finding.urn == "urn:svc" and "no deployment group of this stack deploys it" in finding.message


def test_coverage_ignores_rolling_services():
    assert coverage([service(deploymentController={"type": "ECS"})]) == []


# analyzer path -----------------------------------------------------------------------------------------------
def stack(alarm_overrides: dict | None = None):
    alarm_reg = registration(METRIC_ALARM, alarm_props("app-5xx", **(alarm_overrides or {})), name="app-5xx")
    svc = registration(ECS_SERVICE, service().props, name="app")
    dg = registration(DEPLOYMENT_GROUP, group_props(), name="app-dg",
                      property_dependencies={"alarmConfiguration": [alarm_reg.urn], "ecsService": [svc.urn]})
    return [alarm_reg, svc, dg]


def hits(diags, policy):
    return [d.message.splitlines()[-1] for d in diags if d.policy == policy]


def test_compliant_stack_through_the_pack(policy_pack):
    diags = analyze_stack(policy_pack, stack())
    for policy in ("alarm-detection-latency-bound", "alarm-rollback-signal-coverage"):
        assert hits(diags, policy) == []


def test_slow_alarm_through_the_pack(policy_pack):
    diags = analyze_stack(policy_pack, stack({"period": 300.0}))
    [message] = hits(diags, "alarm-detection-latency-bound")
    assert message.startswith("detection latency is 960s")
    assert [d.enforcement for d in diags if d.policy == "alarm-detection-latency-bound"] == ["mandatory"]


def test_uncovered_service_through_the_pack(policy_pack):
    diags = analyze_stack(policy_pack, stack({"dimensions": {"TargetGroup": "targetgroup/x/1"}}))
    [message] = hits(diags, "alarm-rollback-signal-coverage")
    assert "no enabled rollback alarm watches service app" in message


def test_alarm_actions_through_the_pack(policy_pack):
    assert hits(analyze(policy_pack, METRIC_ALARM, alarm_props("a")), "alarm-actions") == []
    diags = analyze(policy_pack, METRIC_ALARM, alarm_props("a", alarmActions=[]))
    assert hits(diags, "alarm-actions") == [
        "alarmActions is empty: expected at least one action (e.g. the deployment notification topic ARN)"]
