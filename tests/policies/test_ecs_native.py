"""ECS-native blue/green under the pack: compliant with rollback alarms, a test listener rule for green, a bake
longer than the alarms take and a smoke-gate pause that rolls back on timeout; a rolling service, or one without
alarms or rollback, is a mandatory violation. Unit checks, then one pass and each break through the real pack."""

from __future__ import annotations

import pytest
from guardrails import codedeploy, ecs
from guardrails.rule import Context, Resource

from tests.policies.ecs_support import CLUSTER, SERVICE, TASKDEF, container, hits, run, service_props, taskdef_props
from tests.policies.ecs_support import service as ecs_service
from tests.support.pack import analyze_stack, registration

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ALARM_NAME = "rampart-production-web-green-5xx"
NATIVE = {
    "deploymentController": {"type": "ECS"},
    "deploymentConfiguration": {
        "strategy": "BLUE_GREEN", "bakeTimeInMinutes": "30",
        "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                            "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": "30"}}],
    },
    "alarms": {"alarmNames": [ALARM_NAME], "enable": True, "rollback": True},
    "loadBalancers": [{
        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-blue/1",
        "containerName": "web", "containerPort": 8080.0,
        "advancedConfiguration": {
            "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-green/2",
            "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/lb/1/prod/1",
            "testListenerRule": "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/lb/1/test/2",
            "roleArn": "arn:aws:iam::1:role/rampart-production-web-ecs-lb",
        },
    }],
}
IGNORED = ("taskDefinition", "loadBalancers")


def native(**overrides) -> dict:
    return {k: v for k, v in {**NATIVE, **overrides}.items() if v is not None}


def alarm_props(evaluation_periods: float = 3.0) -> dict:
    return {"name": ALARM_NAME, "period": 60.0, "evaluationPeriods": evaluation_periods, "datapointsToAlarm": 2.0,
            "namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count", "statistic": "Sum",
            "comparisonOperator": "GreaterThanThreshold", "threshold": 5.0, "treatMissingData": "notBreaching",
            "dimensions": {"TargetGroup": "targetgroup/web-green/2"}}


def native_stack(service_overrides: dict | None = None, evaluation_periods: float = 3.0):
    subnets = [registration(ecs.SUBNET, {"availabilityZone": az}, name=f"subnet-{az[-1]}")
               for az in ("us-east-1a", "us-east-1b")]
    cluster = registration(CLUSTER, {"name": "main", "settings": [{"name": "containerInsights", "value": "enhanced"}]},
                           name="main")
    log_group = registration(ecs.LOG_GROUP, {"name": "/rampart/production/web", "retentionInDays": 365}, name="logs")
    repo = registration(ecs.ECR_REPOSITORY, {"name": "rampart-production-web"}, name="repo")
    td = registration(TASKDEF, taskdef_props(container()), name="web-td",
                      property_dependencies={"containerDefinitions": [log_group.urn, repo.urn]})
    alarm = registration(ALARM, alarm_props(evaluation_periods), name="web-green-5xx")
    svc = registration(SERVICE, service_props(**native(**(service_overrides or {}))), name="web",
                       ignore_changes=IGNORED,
                       property_dependencies={"networkConfiguration": [s.urn for s in subnets],
                                              "taskDefinition": [td.urn], "cluster": [cluster.urn],
                                              "alarms": [alarm.urn]})
    return [*subnets, cluster, log_group, repo, td, alarm, svc]


def service(**overrides):
    return ecs_service(ignore_changes=IGNORED, **native(**overrides))


# unit ----------------------------------------------------------------------------------------------------------
def test_ecs_native_blue_green_passes_the_controller_rule():
    assert run("ecs-service-codedeploy-controller", [service()]) == []
    # ECS-native services are not CODE_DEPLOY: the CodeDeploy ignore-changes rule does not apply to them.
    assert run("ecs-service-codedeploy-ignore-changes", [service()]) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"deploymentConfiguration": {"strategy": "ROLLING"}}, "deploys with controller 'ECS'"),
        ({"deploymentConfiguration": None}, "deploys with controller 'ECS'"),
        ({"alarms": None}, "lacks alarms {enable: true, rollback: true"),
        ({"alarms": {"alarmNames": [ALARM_NAME], "enable": True, "rollback": False}}, "lacks alarms"),
        ({"alarms": {"alarmNames": [], "enable": True, "rollback": True}}, "lacks alarms"),
        ({"loadBalancers": [{**NATIVE["loadBalancers"][0], "advancedConfiguration": None}]},
         "loadBalancers[0].advancedConfiguration.alternateTargetGroupArn, productionListenerRule, testListenerRule"),
        ({"loadBalancers": [{**NATIVE["loadBalancers"][0], "advancedConfiguration": {
            **NATIVE["loadBalancers"][0]["advancedConfiguration"], "testListenerRule": None}}]},
         "loadBalancers[0].advancedConfiguration.testListenerRule"),
    ],
)
def test_rolling_or_unguarded_ecs_service_fails(overrides, expected):
    [message] = run("ecs-service-codedeploy-controller", [service(**overrides)])
    assert expected in message


def test_bake_longer_than_detection_passes_and_shorter_fails():
    resources = [service(), ecs_alarm()]
    rule_ctx = ctx_bake()
    assert list(codedeploy.check_native_bake_time(resources, rule_ctx)) == []
    short = service(deploymentConfiguration={**NATIVE["deploymentConfiguration"], "bakeTimeInMinutes": "3"})
    [finding] = codedeploy.check_native_bake_time([short, ecs_alarm()], rule_ctx)
    assert "deploymentConfiguration.bakeTimeInMinutes is 3: expected blue kept at least 240s" in finding.message
    unset = service(deploymentConfiguration={k: v for k, v in NATIVE["deploymentConfiguration"].items()
                                             if k != "bakeTimeInMinutes"})
    [finding] = codedeploy.check_native_bake_time([unset, ecs_alarm()], rule_ctx)
    assert "deploymentConfiguration.bakeTimeInMinutes is not set: expected blue kept at least 240s" in finding.message


@pytest.mark.parametrize("timeout", [{"action": "CONTINUE", "timeoutInMinutes": "30"},
                                     {"action": "ROLLBACK", "timeoutInMinutes": "1440"}])
def test_pause_hook_that_releases_or_waits_too_long_fails(timeout):
    hook = {**NATIVE["deploymentConfiguration"]["lifecycleHooks"][0], "timeoutConfiguration": timeout}
    subject = service(deploymentConfiguration={**NATIVE["deploymentConfiguration"], "lifecycleHooks": [hook]})
    [finding] = codedeploy.check_native_bake_time([subject, ecs_alarm()], ctx_bake())
    assert "pause hook timeoutConfiguration" in finding.message and "expected action ROLLBACK" in finding.message


def test_pause_hook_without_a_timeout_says_it_is_not_set():
    hook = {k: v for k, v in NATIVE["deploymentConfiguration"]["lifecycleHooks"][0].items()
            if k != "timeoutConfiguration"}
    subject = service(deploymentConfiguration={**NATIVE["deploymentConfiguration"], "lifecycleHooks": [hook]})
    [finding] = codedeploy.check_native_bake_time([subject, ecs_alarm()], ctx_bake())
    assert "pause hook timeoutConfiguration is not set: expected action ROLLBACK" in finding.message


def ecs_alarm():
    return Resource(ALARM, alarm_props(), urn="urn:alarm", name="web-green-5xx")


def ctx_bake():
    rule = next(r for r in codedeploy.POLICIES if r.name == "codedeploy-bake-time")
    return Context(config=dict(rule.thresholds))


# through the real pack -----------------------------------------------------------------------------------------
POLICIES = ("ecs-service-codedeploy-controller", "codedeploy-bake-time", "ecs-service-codedeploy-ignore-changes")


def test_ecs_native_stack_is_compliant_through_the_pack(policy_pack):
    diags = analyze_stack(policy_pack, native_stack())
    assert {policy: hits(diags, policy) for policy in POLICIES} == {policy: [] for policy in POLICIES}


@pytest.mark.parametrize(
    ("policy", "overrides"),
    [
        ("ecs-service-codedeploy-controller", {"deploymentConfiguration": {"strategy": "ROLLING"}}),
        ("ecs-service-codedeploy-controller", {"alarms": {"alarmNames": [ALARM_NAME], "enable": True,
                                                          "rollback": False}}),
        ("codedeploy-bake-time", {"deploymentConfiguration": {**NATIVE["deploymentConfiguration"],
                                                              "bakeTimeInMinutes": "2"}}),
    ],
    ids=["rolling", "no-rollback", "short-bake"],
)
def test_ecs_native_breaks_are_mandatory_through_the_pack(policy_pack, policy, overrides):
    diags = analyze_stack(policy_pack, native_stack(overrides))
    assert len(hits(diags, policy)) == 1
    assert [d.enforcement for d in diags if d.policy == policy] == ["mandatory"]
