"""CodeDeploy rules (15-20): field flips on pure functions, one pass and one fail each through the real pack."""

from __future__ import annotations

import copy

import pytest
from guardrails.codedeploy import (
    DEPLOYMENT_CONFIG,
    POLICIES,
    check_alarms_resolvable,
    check_auto_rollback_on_alarm,
    check_bake_time,
    check_config_traffic_window,
    check_ecs_blue_green_shape,
    check_no_all_at_once_prod,
)
from guardrails.rule import Context, Resource

from tests.support.pack import analyze, analyze_stack, registration

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SERVICE = "aws:ecs/service:Service"
RULES = {rule.name: rule for rule in POLICIES}
TG_GREEN = "targetgroup/app-green/fedcba9876543210"


def ctx(rule: str, **overrides) -> Context:
    return Context(config={**RULES[rule].thresholds, **overrides})


def group_props() -> dict:
    return {
        "appName": "app", "deploymentGroupName": "app", "serviceRoleArn": "arn:aws:iam::1:role/codedeploy",
        "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "ecsService": {"clusterName": "main", "serviceName": "app"},
        "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        "alarmConfiguration": {"enabled": True, "alarms": ["app-5xx"], "ignorePollAlarmFailure": False},
        "blueGreenDeploymentConfig": {
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 30.0},
        },
        "loadBalancerInfo": {"targetGroupPairInfo": {
            "targetGroups": [{"name": "app-blue"}, {"name": "app-green"}],
            "prodTrafficRoute": {"listenerArns": ["arn:listener/prod"]},
            "testTrafficRoute": {"listenerArns": ["arn:listener/test"]},
        }},
    }


def alarm_props(**overrides) -> dict:
    props = {"name": "app-5xx", "namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count",
             "dimensions": {"TargetGroup": TG_GREEN}, "period": 60.0, "evaluationPeriods": 3.0,
             "treatMissingData": "notBreaching", "alarmActions": ["arn:sns"]}
    return {k: v for k, v in {**props, **overrides}.items() if v is not None}


def config_props(**routing) -> dict:
    return {"deploymentConfigName": "app-canary", "computePlatform": "ECS",
            "trafficRoutingConfig": routing or {"type": "TimeBasedCanary",
                                                "timeBasedCanary": {"interval": 5.0, "percentage": 10.0}}}


def set_path(props: dict, path: str, value) -> dict:
    """A deep copy of props with the dotted path set (None deletes it)."""
    result = copy.deepcopy(props)
    *parents, leaf = path.split(".")
    node = result
    for key in parents:
        node = node[key]
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return result


def group(props: dict | None = None, **kwargs) -> Resource:
    return Resource(GROUP, props or group_props(), urn="urn:dg", name="app", **kwargs)


def alarm(**overrides) -> Resource:
    return Resource(ALARM, alarm_props(**overrides), urn="urn:alarm", name="app-5xx")


def messages(results) -> list[str]:
    return [r if isinstance(r, str) else r.message for r in results]


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
        ("deploymentStyle", None, "deploymentType is None"),
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


# 18 ----------------------------------------------------------------------------------------------------------
TERMINATE = "blueGreenDeploymentConfig.terminateBlueInstancesOnDeploymentSuccess"
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
        (READY, {"actionOnTimeout": "STOP_DEPLOYMENT"}, "waitTimeInMinutes is None: with STOP_DEPLOYMENT"),
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
        ({k: v for k, v in config_props().items() if k != "computePlatform"}, "unset (Server)"),
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


# analyzer path -----------------------------------------------------------------------------------------------
def stack(group_overrides: dict | None = None, alarm_overrides: dict | None = None, config: dict | None = None):
    regs = [registration(ALARM, alarm_props(**(alarm_overrides or {})), name="app-5xx")]
    props = group_props()
    for path, value in (group_overrides or {}).items():
        props = set_path(props, path, value)
    if config is not None:
        regs.append(registration(DEPLOYMENT_CONFIG, config, name="app-canary"))
    regs.append(registration(GROUP, props, name="app-dg",
                             property_dependencies={"alarmConfiguration": [regs[0].urn]}))
    return regs


def hits(diags, policy):
    return [d.message.splitlines()[-1] for d in diags if d.policy == policy]


STACK_RULES = ("codedeploy-alarms-resolvable", "codedeploy-bake-time", "codedeploy-no-all-at-once-prod",
               "codedeploy-config-traffic-window")


def test_compliant_stack_through_the_pack(policy_pack):
    diags = analyze_stack(policy_pack, stack({"deploymentConfigName": "app-canary"}, config=config_props()))
    assert {policy: hits(diags, policy) for policy in STACK_RULES} == {policy: [] for policy in STACK_RULES}


@pytest.mark.parametrize(
    ("policy", "group_overrides", "alarm_overrides", "expected"),
    [
        ("codedeploy-alarms-resolvable", {"alarmConfiguration.alarms": ["gone"]}, {},
         "alarmConfiguration names alarm 'gone'"),
        ("codedeploy-bake-time", {f"{TERMINATE}.terminationWaitTimeInMinutes": 1.0}, {},
         "terminationWaitTimeInMinutes is 1 (60s): expected blue kept at least 240s"),
        ("codedeploy-no-all-at-once-prod", {"deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce"}, {},
         "deploymentConfigName is 'CodeDeployDefault.ECSAllAtOnce': expected an ECS canary or linear config"),
        ("codedeploy-config-traffic-window", {"deploymentConfigName": "app-canary"}, {"evaluationPeriods": 5.0},
         "trafficRoutingConfig TimeBasedCanary interval is 5 min (300s): expected at least 360s"),
    ],
)
def test_stack_rule_fails_through_the_pack(policy_pack, policy, group_overrides, alarm_overrides, expected):
    diags = analyze_stack(policy_pack, stack(group_overrides, alarm_overrides, config=config_props()))
    [message] = hits(diags, policy)
    assert message.startswith(expected)
    assert [d.enforcement for d in diags if d.policy == policy] == ["mandatory"]


@pytest.mark.parametrize("policy", ["codedeploy-auto-rollback-on-alarm", "codedeploy-ecs-blue-green-shape"])
def test_resource_rules_through_the_pack(policy_pack, policy):
    assert hits(analyze(policy_pack, GROUP, group_props()), policy) == []
    broken = set_path(set_path(group_props(), "autoRollbackConfiguration.enabled", False),
                      "deploymentStyle.deploymentType", "IN_PLACE")
    assert len(hits(analyze(policy_pack, GROUP, broken), policy)) == 1


def test_rollback_waiver_is_ignored_through_the_pack(policy_pack):
    broken = set_path(group_props(), "autoRollbackConfiguration.enabled", False)
    waiver = {"resource": "*", "reason": "We really want to ship without rollback today.",
              "approvedBy": "someone", "expires": "2999-01-01"}
    diags = analyze(policy_pack, GROUP, broken, config={"codedeploy-auto-rollback-on-alarm": {"waivers": [waiver]}})
    assert hits(diags, "codedeploy-auto-rollback-on-alarm") == [
        "autoRollbackConfiguration.enabled is not true: expected automatic rollback enabled"]
