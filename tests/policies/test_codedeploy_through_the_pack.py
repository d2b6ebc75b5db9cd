"""The CodeDeploy rules (15-20) through the real pack: a compliant stack passes the stack rules and each fails
with one field flipped; the resource rules pass and fail on one group; the rollback rule's waiver is ignored."""

from __future__ import annotations

import pytest
from guardrails.codedeploy import DEPLOYMENT_CONFIG

from tests.policies.codedeploy_support import ALARM, GROUP, TERMINATE, alarm_props, config_props, group_props, set_path
from tests.support.pack import analyze, analyze_stack, registration


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
