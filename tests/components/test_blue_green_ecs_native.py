"""BlueGreenService with traffic_control="ECS": ECS-native blue/green with the CodeDeploy path's guarantees, and no
CodeDeploy resources."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.components.blue_green_support import ALARM, RULE, SERVICE, TG, make_args, record

EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"


@pytest.fixture(scope="module", params=["production", "staging"])
def native(request):
    args = make_args(request.param, traffic_control="ECS")
    rec, component = record(args)
    return args, rec, component


def test_no_codedeploy_resource_and_no_codedeploy_outputs(native):
    _, rec, component = native
    assert not [r for r in rec.registrations if r.type.startswith("aws:codedeploy")]
    assert not [r for r in rec.registrations if "codedeploy" in r.name]
    assert component.codedeploy_application_name is None and component.deployment_group_name is None
    assert component.traffic_control == "ECS"


def test_service_is_ecs_blue_green_with_test_rule_alternate_group_and_role(native):
    args, rec, _ = native
    service = rec.one(SERVICE)
    inputs = service.plain_inputs()
    assert inputs["deploymentController"] == {"type": "ECS"}
    config = inputs["deploymentConfiguration"]
    assert config["strategy"] == "BLUE_GREEN"
    assert config["bakeTimeInMinutes"] == str(args.deployment.termination_wait_minutes)
    [balancer] = inputs["loadBalancers"]
    advanced = balancer["advancedConfiguration"]
    assert set(advanced) == {"alternateTargetGroupArn", "productionListenerRule", "testListenerRule", "roleArn"}
    assert ":targetgroup/rampart-" in balancer["targetGroupArn"] and balancer["targetGroupArn"].count("-blue/")
    assert advanced["alternateTargetGroupArn"].count("-green/")
    role = rec.one("aws:iam/role:Role", "web-ecs-infrastructure-role")
    # Each reference is to this component's own target groups, rules and role.
    wired = set(service.property_dependencies["loadBalancers"])
    expected = [rec.one(TG, "web-tg-blue"), rec.one(TG, "web-tg-green"), rec.one(RULE, "web-production-rule"),
                rec.one(RULE, "web-test-rule"), role]
    assert {r.urn for r in expected} <= wired
    assert advanced["productionListenerRule"] != advanced["testListenerRule"]
    trust = json.loads(role.plain_inputs()["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    attachment = rec.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "web-ecs-infrastructure-managed")
    assert attachment.plain_inputs()["policyArn"].endswith(":policy/AmazonECSInfrastructureRolePolicyForLoadBalancers")
    # What deployments move is never reverted by an `up`.
    assert {"taskDefinition", "loadBalancers"} <= set(service.ignore_changes)
    for rule in rec.by_type(RULE):
        assert "actions" in rule.ignore_changes


def test_rollback_on_the_same_alarms(native):
    _, rec, component = native
    alarms = rec.one(SERVICE).plain_inputs()["alarms"]
    assert alarms["enable"] is True and alarms["rollback"] is True
    names = sorted(a.plain_inputs()["name"] for a in rec.by_type(ALARM) if "deployment" not in a.name)
    assert sorted(alarms["alarmNames"]) == names and names
    assert len(component.alarm_names) == len(names)


def test_smoke_gate_is_a_pause_hook_before_production_traffic(native):
    args, rec, _ = native
    config = rec.one(SERVICE).plain_inputs()["deploymentConfiguration"]
    if not args.deployment.ready_wait_minutes:
        assert "lifecycleHooks" not in config  # staging: no wait, as its CodeDeploy group
        return
    [hook] = config["lifecycleHooks"]
    assert hook["targetType"] == "PAUSE"
    assert hook["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    assert hook["timeoutConfiguration"] == {
        "action": "ROLLBACK", "timeoutInMinutes": str(args.deployment.ready_wait_minutes)}


def test_deployment_events_go_to_the_topic(native):
    args, rec, _ = native
    rule = rec.one(EVENT_RULE)
    pattern = json.loads(rule.plain_inputs()["eventPattern"])
    assert pattern["source"] == ["aws.ecs"] and pattern["detail-type"] == ["ECS Deployment State Change"]
    assert len(pattern["resources"]) == 1 and ":service/" in pattern["resources"][0]
    assert set(pattern["detail"]["eventName"]) == {
        "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"}
    assert rec.one(EVENT_TARGET).plain_inputs()["arn"] == args.notification_topic_arn


def test_bake_time_must_outlast_the_alarm_detection_window():
    args = make_args("production", traffic_control="ECS")
    short = dataclasses.replace(args, deployment=dataclasses.replace(args.deployment, termination_wait_minutes=1))
    with pytest.raises(ValueError, match=r"deployment\.termination_wait_minutes: expected a bake time"):
        record(short)
    long = dataclasses.replace(args, deployment=dataclasses.replace(args.deployment, termination_wait_minutes=1441))
    with pytest.raises(ValueError, match=r"deployment\.termination_wait_minutes: expected at most 1440"):
        record(long)


def test_unknown_traffic_control_is_named():
    with pytest.raises(ValueError, match=r"traffic_control: expected one of \('CODE_DEPLOY', 'ECS'\)"):
        record(make_args("staging", traffic_control="APP_MESH"))


def test_awaiting_image_declares_no_service_and_no_events():
    args = make_args("staging", traffic_control="ECS")
    awaiting = dataclasses.replace(args, service=dataclasses.replace(args.service, image=None, awaiting_image=True))
    rec, component = record(awaiting)
    assert not rec.by_type(SERVICE) and not rec.by_type(EVENT_RULE)
    assert not [r for r in rec.registrations if r.type.startswith("aws:codedeploy")]
    assert component.awaiting_image
