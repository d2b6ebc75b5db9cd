"""CodeDeploy deployment group rules (15-17): automatic rollback on alarm (unwaivable), rollback alarms that
resolve to this stack's alarms on the group's target groups or service, and the ECS blue/green shape. Field flips
on the rules' pure functions."""

from __future__ import annotations

import pytest
from guardrails.codedeploy import check_alarms_resolvable, check_auto_rollback_on_alarm, check_ecs_blue_green_shape
from guardrails.rule import Resource

from tests.policies.codedeploy_support import RULES, alarm, ctx, group, group_props, messages, set_path

SERVICE = "aws:ecs/service:Service"


# 15 ----------------------------------------------------------------------------------------------------------
def rollback(props):
    return messages(check_auto_rollback_on_alarm(group(props), ctx("codedeploy-auto-rollback-on-alarm")))


def test_rollback_compliant_passes():
    assert rollback(group_props()) == []
    assert rollback(set_path(group_props(), "alarmConfiguration.ignorePollAlarmFailure", None)) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("autoRollbackConfiguration.enabled", False, "autoRollbackConfiguration.enabled is not true"),
        ("autoRollbackConfiguration", None, "autoRollbackConfiguration.enabled is not true"),
        ("autoRollbackConfiguration.events", ["DEPLOYMENT_FAILURE"], "lacks DEPLOYMENT_STOP_ON_ALARM"),
        ("autoRollbackConfiguration.events", ["DEPLOYMENT_STOP_ON_ALARM"], "lacks DEPLOYMENT_FAILURE"),
        ("alarmConfiguration.enabled", False, "alarmConfiguration.enabled is not true"),
        ("alarmConfiguration.alarms", [], "alarmConfiguration.alarms has 0 alarms: expected 1 to 10"),
        ("alarmConfiguration.alarms", [f"a{i}" for i in range(11)], "has 11 alarms"),
        ("alarmConfiguration.ignorePollAlarmFailure", True, "ignorePollAlarmFailure is true"),
    ],
)
def test_rollback_flips_fail(path, value, expected):
    found = rollback(set_path(group_props(), path, value))
    assert any(expected in m for m in found), found


def test_rollback_accepts_single_blocks_wrapped_in_lists():
    props = group_props()
    props["autoRollbackConfiguration"] = [props["autoRollbackConfiguration"]]
    props["alarmConfiguration"] = [props["alarmConfiguration"]]
    assert rollback(props) == []


def test_rollback_skips_server_groups():
    assert rollback({"ec2TagFilters": [{"key": "app", "value": "x", "type": "KEY_AND_VALUE"}]}) == []


def test_rollback_is_unwaivable():
    assert RULES["codedeploy-auto-rollback-on-alarm"].waivable is False


# 16 ----------------------------------------------------------------------------------------------------------
def resolvable(resources):
    return messages(check_alarms_resolvable(resources, ctx("codedeploy-alarms-resolvable")))


def test_resolvable_alarm_on_green_target_group_passes():
    assert resolvable([group(), alarm()]) == []


def test_resolvable_alarm_on_the_service_passes():
    assert resolvable([group(), alarm(dimensions={"ClusterName": "main", "ServiceName": "app"})]) == []


def test_resolvable_alarm_on_the_services_load_balancer_target_group_passes():
    svc = Resource(SERVICE, {"name": "app", "loadBalancers": [{"targetGroupArn": "arn:x:targetgroup/extra/1"}]},
                   urn="urn:svc")
    assert resolvable([group(), svc, alarm(dimensions={"TargetGroup": "targetgroup/extra/9"})]) == []


def test_unknown_alarm_name_fails():
    [message] = resolvable([group(set_path(group_props(), "alarmConfiguration.alarms", ["app-5xx", "typo"])),
                            alarm()])
    assert message.startswith("alarmConfiguration names alarm 'typo', which is no MetricAlarm of this stack")


def test_alarm_watching_something_else_fails():
    [message] = resolvable([group(), alarm(dimensions={"TargetGroup": "targetgroup/other/1"})])
    assert "watches none of this group's target groups (app-blue, app-green)" in message


# 17 ----------------------------------------------------------------------------------------------------------
def shape(props):
    return messages(check_ecs_blue_green_shape(group(props), ctx("codedeploy-ecs-blue-green-shape")))


def test_shape_compliant_passes():
    assert shape(group_props()) == []


PAIR = "loadBalancerInfo.targetGroupPairInfo"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("deploymentStyle.deploymentType", "IN_PLACE", "deploymentType is 'IN_PLACE': expected 'BLUE_GREEN'"),
        ("deploymentStyle.deploymentOption", "WITHOUT_TRAFFIC_CONTROL", "expected 'WITH_TRAFFIC_CONTROL'"),
        ("deploymentStyle", None, "deploymentType is not set: expected 'BLUE_GREEN'"),
        ("ecsService", None, "ecsService is not set"),
        ("ecsService.serviceName", None, "ecsService is not set"),
        ("loadBalancerInfo", None, "targetGroupPairInfo is not set"),
        (f"{PAIR}.targetGroups", [{"name": "app-blue"}], "has 1 distinct target groups: expected exactly 2"),
        (f"{PAIR}.targetGroups", [{"name": "app-blue"}, {"name": "app-blue"}], "has 1 distinct target groups"),
        (f"{PAIR}.prodTrafficRoute.listenerArns", ["a", "b"], "prodTrafficRoute.listenerArns has 2 listeners"),
        (f"{PAIR}.testTrafficRoute", None, "testTrafficRoute.listenerArns has 0 listeners"),
        (f"{PAIR}.testTrafficRoute.listenerArns", ["arn:listener/prod"], "uses the production listener"),
    ],
)
def test_shape_flips_fail(path, value, expected):
    found = shape(set_path(group_props(), path, value))
    assert any(expected in m for m in found), found
