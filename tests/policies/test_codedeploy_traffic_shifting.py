"""CodeDeploy traffic shifting rules (18-20): blue kept longer than the slowest rollback alarm takes, no
all-at-once shift in production, and a deployment config's interval long enough for the alarms to fire before the
next traffic step. Field flips on the rules' pure functions."""

from __future__ import annotations

import pytest
from guardrails.codedeploy import (
    DEPLOYMENT_CONFIG,
    check_bake_time,
    check_config_traffic_window,
    check_no_all_at_once_prod,
)
from guardrails.rule import Resource

from tests.policies.codedeploy_support import (
    ALARM,
    GROUP,
    TERMINATE,
    alarm,
    alarm_props,
    config_props,
    ctx,
    group,
    group_props,
    messages,
    set_path,
)

# 18 ----------------------------------------------------------------------------------------------------------
READY = "blueGreenDeploymentConfig.deploymentReadyOption"


def bake(props, resources=(), **overrides):
    return messages(check_bake_time([group(props), *resources], ctx("codedeploy-bake-time", **overrides)))


def test_bake_covering_the_alarm_passes():
    assert bake(group_props(), [alarm()]) == []
    assert bake(set_path(group_props(), f"{TERMINATE}.terminationWaitTimeInMinutes", 4.0), [alarm()]) == []


def test_bake_shorter_than_the_slowest_alarm_fails():
    slow = alarm(period=300.0, evaluationPeriods=10.0)  # 3060 s
    [message] = bake(group_props(), [slow])
    assert message == ("terminationWaitTimeInMinutes is 30 (1800s): expected blue kept at least 3060s (the slowest "
                       "rollback alarm), or rollback is impossible once blue is gone")


def test_bake_shorter_than_the_alarm_fails_by_a_minute():
    assert bake(set_path(group_props(), f"{TERMINATE}.terminationWaitTimeInMinutes", 3.0), [alarm()]) != []


def test_bake_without_resolvable_alarms_uses_the_threshold():
    short = set_path(group_props(), f"{TERMINATE}.terminationWaitTimeInMinutes", 4.0)
    [message] = bake(short, maxDetectionSeconds=600)
    assert "expected blue kept at least 600s (maxDetectionSeconds)" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (f"{TERMINATE}.terminationWaitTimeInMinutes", None, "terminationWaitTimeInMinutes is not set"),
        ("blueGreenDeploymentConfig", None, "terminationWaitTimeInMinutes is not set"),
        (f"{TERMINATE}.terminationWaitTimeInMinutes", 0.0, "terminationWaitTimeInMinutes is 0 (0s)"),
        (READY, {"actionOnTimeout": "STOP_DEPLOYMENT"}, "waitTimeInMinutes is not set: with STOP_DEPLOYMENT"),
        (READY, {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 0.0}, "expected 1 to 60 minutes"),
        (READY, {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 2880.0}, "expected 1 to 60 minutes"),
    ],
)
def test_bake_flips_fail(path, value, expected):
    [message] = bake(set_path(group_props(), path, value), [alarm()])
    assert expected in message


def test_bake_keep_alive_and_bounded_manual_wait_pass():
    keep = set_path(group_props(), TERMINATE, {"action": "KEEP_ALIVE"})
    ready = set_path(group_props(), READY, {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30.0})
    assert bake(keep, [alarm()]) == [] and bake(ready, [alarm()]) == []


# 19 ----------------------------------------------------------------------------------------------------------
def all_at_once(props, resources=()):
    return messages(check_no_all_at_once_prod([group(props), *resources], ctx("codedeploy-no-all-at-once-prod")))


@pytest.mark.parametrize("name", ["CodeDeployDefault.ECSCanary10Percent5Minutes",
                                  "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"])
def test_built_in_gradual_configs_pass(name):
    assert all_at_once(set_path(group_props(), "deploymentConfigName", name)) == []


def test_stack_canary_config_passes():
    config = Resource(DEPLOYMENT_CONFIG, config_props(), urn="urn:cfg")
    assert all_at_once(set_path(group_props(), "deploymentConfigName", "app-canary"), [config]) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, "deploymentConfigName is not set (server default CodeDeployDefault.OneAtATime)"),
        ("CodeDeployDefault.ECSAllAtOnce", "deploymentConfigName is 'CodeDeployDefault.ECSAllAtOnce'"),
        ("CodeDeployDefault.OneAtATime", "deploymentConfigName is 'CodeDeployDefault.OneAtATime'"),
        ("someone-elses", "is neither a built-in ECS canary/linear config nor a DeploymentConfig of this stack"),
    ],
)
def test_all_at_once_flips_fail(name, expected):
    [message] = all_at_once(set_path(group_props(), "deploymentConfigName", name))
    assert expected in message


def test_stack_all_at_once_config_fails():
    config = Resource(DEPLOYMENT_CONFIG, config_props(type="AllAtOnce"), urn="urn:cfg")
    [message] = all_at_once(set_path(group_props(), "deploymentConfigName", "app-canary"), [config])
    assert "shifts traffic AllAtOnce: expected TimeBasedCanary or TimeBasedLinear" in message


# 20 ----------------------------------------------------------------------------------------------------------
def window(resources, **overrides):
    return messages(check_config_traffic_window(resources, ctx("codedeploy-config-traffic-window", **overrides)))


def test_window_covering_detection_passes():
    config = Resource(DEPLOYMENT_CONFIG, config_props(), urn="urn:cfg")
    canary = group(set_path(group_props(), "deploymentConfigName", "app-canary"))
    assert window([config, canary, alarm()]) == []
    assert window([config]) == []  # 300 s interval, 300 s default bound


def test_window_shorter_than_the_groups_alarm_fails():
    config = Resource(DEPLOYMENT_CONFIG, config_props(), urn="urn:cfg")
    canary = group(set_path(group_props(), "deploymentConfigName", "app-canary"))
    [message] = window([config, canary, alarm(evaluationPeriods=5.0)])
    assert message == ("trafficRoutingConfig TimeBasedCanary interval is 5 min (300s): expected at least 360s "
                       "(the slowest rollback alarm) so alarms can fire before the next traffic step")


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**config_props(), "computePlatform": "Server"}, "computePlatform is 'Server': expected 'ECS'"),
        ({k: v for k, v in config_props().items() if k != "computePlatform"},
         "computePlatform is not set (Server): expected 'ECS'"),
        (config_props(type="TimeBasedLinear", timeBasedLinear={"interval": 1.0, "percentage": 10.0}),
         "TimeBasedLinear interval is 1 min (60s): expected at least 300s (maxDetectionSeconds)"),
        (config_props(type="TimeBasedCanary", timeBasedCanary={"percentage": 10.0}), "interval is not set"),
    ],
)
def test_window_flips_fail(props, expected):
    [message] = window([Resource(DEPLOYMENT_CONFIG, props, urn="urn:cfg")])
    assert expected in message


def test_window_checks_built_in_intervals_against_the_groups_alarms():
    linear = group(set_path(group_props(), "deploymentConfigName", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"))
    [message] = window([linear, alarm()])
    assert "shifts every 1 min (60s): expected at least 240s (the slowest rollback alarm)" in message
    assert window([group(), alarm()]) == []


def test_window_judges_each_config_by_the_groups_that_use_it():
    slow = Resource(DEPLOYMENT_CONFIG, config_props(), urn="urn:cfg-slow")
    fast = Resource(DEPLOYMENT_CONFIG, {**config_props(type="TimeBasedLinear", timeBasedLinear={"interval": 4.0}),
                                        "deploymentConfigName": "fast"}, urn="urn:cfg-fast")
    by_name = Resource(GROUP, set_path(group_props(), "deploymentConfigName", "app-canary"), urn="urn:dg-a")
    # Names the config through its output (no literal name): the dependency says which config it is.
    by_dependency = Resource(GROUP, {**set_path(group_props(), "deploymentConfigName", "fast-output"),
                                     "alarmConfiguration": {"enabled": True, "alarms": ["b-5xx"]}},
                             urn="urn:dg-b", property_dependencies={"deploymentConfigName": ["urn:cfg-fast"]})
    alarms = [alarm(evaluationPeriods=5.0), Resource(ALARM, alarm_props(name="b-5xx"), urn="urn:alarm-b")]
    results = list(check_config_traffic_window(
        (slow, fast, by_name, by_dependency, *alarms), ctx("codedeploy-config-traffic-window")))
    # slow: 300 s against group a's 360 s alarm; fast: 240 s against group b's 240 s alarm, not the 300 s default.
    assert [(r.urn, r.message) for r in results] == [(
        "urn:cfg-slow", "trafficRoutingConfig TimeBasedCanary interval is 5 min (300s): expected at least 360s "
        "(the slowest rollback alarm) so alarms can fire before the next traffic step")]
