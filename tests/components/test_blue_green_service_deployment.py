"""BlueGreenService on recorded registrations, built from both project stacks' first service: what CodeDeploy
deploys with. Two target groups and listener rules it swaps, an ECS blue/green deployment group (traps 2 and 3),
rollback on failure and on alarm with blue kept past detection (traps 4 and 5), canary in production and
all-at-once in staging, and autoscaling where configured."""

from __future__ import annotations

import json

from tests.components.blue_green_support import (
    ALARM,
    DEPLOY_CONFIG,
    GROUP,
    PROD_LISTENER,
    RULE,
    SERVICE,
    TEST_LISTENER,
    TG,
    TOPIC,
    _deployment,
    group,
    make_args,
    record,
)

# Trap 2 and 3: target groups, listener rules, deployment group shape --------------------------------


def test_two_target_groups_with_identical_health_checks(recorded):
    _, args, rec, _ = recorded
    groups = {r.name: r.plain_inputs() for r in rec.by_type(TG)}
    assert set(groups) == {"web-tg-blue", "web-tg-green"}
    blue, green = groups["web-tg-blue"], groups["web-tg-green"]
    assert blue["healthCheck"] == green["healthCheck"]
    assert blue["healthCheck"]["path"] == args.service.health_check_path
    assert blue["healthCheck"]["matcher"] == "200-399"
    assert blue["healthCheck"]["enabled"] is True
    for inputs in groups.values():
        assert inputs["targetType"] == "ip"
        assert inputs["protocol"] == "HTTP"
        assert inputs["port"] == args.service.container_port
        assert len(inputs["name"]) <= 32
    assert blue["name"] != green["name"]


def test_listener_rules_ignore_actions_and_both_start_on_blue(recorded):
    _, args, rec, _ = recorded
    rules = {r.name: r for r in rec.by_type(RULE)}
    assert rules["web-production-rule"].plain_inputs()["listenerArn"] == PROD_LISTENER
    assert rules["web-test-rule"].plain_inputs()["listenerArn"] == TEST_LISTENER
    forwards = set()
    for rule in rules.values():
        assert "actions" in rule.ignore_changes
        inputs = rule.plain_inputs()
        assert inputs["priority"] == args.service.listener_rule_priority
        assert inputs["conditions"] == [{"pathPattern": {"values": list(args.service.path_patterns)}}]
        [action] = inputs["actions"]
        assert action["type"] == "forward"
        forwards.add(action["targetGroupArn"])
    assert len(forwards) == 1
    assert forwards == {rec.one(SERVICE).plain_inputs()["loadBalancers"][0]["targetGroupArn"]}


def test_deployment_group_is_ecs_blue_green_with_traffic_control(recorded):
    stack, _, rec, _ = recorded
    inputs = group(rec)
    assert inputs["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert inputs["ecsService"] == {"clusterName": f"rampart-{stack}", "serviceName": f"rampart-{stack}-web"}


def test_deployment_group_names_both_target_groups_and_one_listener_per_route(recorded):
    _, _, rec, _ = recorded
    pair = group(rec)["loadBalancerInfo"]["targetGroupPairInfo"]
    names = sorted(r.plain_inputs()["name"] for r in rec.by_type(TG))
    assert sorted(tg["name"] for tg in pair["targetGroups"]) == names
    assert pair["prodTrafficRoute"] == {"listenerArns": [PROD_LISTENER]}
    assert pair["testTrafficRoute"] == {"listenerArns": [TEST_LISTENER]}


# Trap 4 and 5: rollback, alarms, bake time ----------------------------------------------------------


def test_auto_rollback_on_failure_and_on_alarm(recorded):
    _, _, rec, _ = recorded
    rollback = group(rec)["autoRollbackConfiguration"]
    assert rollback["enabled"] is True
    assert set(rollback["events"]) == {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}


def test_alarm_configuration_names_exactly_the_alarms_created(recorded):
    _, _, rec, _ = recorded
    config = group(rec)["alarmConfiguration"]
    assert config["enabled"] is True
    assert config["ignorePollAlarmFailure"] is False
    created = sorted(r.plain_inputs()["name"] for r in rec.by_type(ALARM))
    assert sorted(config["alarms"]) == created
    assert 1 <= len(created) <= 10
    # Names come from the alarm resources, so the group is created only once CodeDeploy can find them.
    assert {r.urn for r in rec.by_type(ALARM)} <= set(rec.one(GROUP).dependencies)


def test_alarms_watch_both_target_groups_and_the_service(recorded):
    stack, _, rec, _ = recorded
    text = json.dumps([r.plain_inputs() for r in rec.by_type(ALARM)])
    for tg in rec.by_type(TG):
        assert f"targetgroup/{tg.plain_inputs()['name']}/" in text
    assert f'"ServiceName": "rampart-{stack}-web"' in text


def test_running_task_alarm_uses_the_autoscaling_floor(production, staging):
    for args, rec, _ in (production, staging):
        floor = args.service.autoscaling.min_count if args.service.autoscaling else args.service.desired_count
        running = rec.one(ALARM, "web-alarms-running-tasks").plain_inputs()
        assert running["threshold"] == floor


def test_blue_is_kept_longer_than_alarm_detection(recorded):
    _, _, rec, component = recorded
    config = group(rec)["blueGreenDeploymentConfig"]
    terminate = config["terminateBlueInstancesOnDeploymentSuccess"]
    assert terminate["action"] == "TERMINATE"
    assert terminate["terminationWaitTimeInMinutes"] * 60 > component.detection_seconds
    longest = max(
        int(r.plain_inputs().get("period") or r.plain_inputs()["metricQueries"][0]["metric"]["period"])
        * int(r.plain_inputs()["evaluationPeriods"])
        for r in rec.by_type(ALARM)
    )
    assert component.detection_seconds == longest + 60


def test_ready_option_continues_when_no_wait_is_configured():
    rec, _ = record(make_args(deployment=_deployment(ready_wait_minutes=0)))
    ready = group(rec)["blueGreenDeploymentConfig"]["deploymentReadyOption"]
    assert ready == {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}


def test_the_project_stacks_hold_green_for_the_smoke_test_and_stop_on_timeout(recorded):
    # Green waits on the test listener until `rampart deploy --smoke-url` continues it; no answer rolls back.
    _, _, rec, _ = recorded
    ready = group(rec)["blueGreenDeploymentConfig"]["deploymentReadyOption"]
    assert ready == {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}


def test_triggers_notify_every_deployment_event(recorded):
    _, _, rec, _ = recorded
    [trigger] = group(rec)["triggerConfigurations"]
    assert trigger["triggerTargetArn"] == TOPIC
    assert set(trigger["triggerEvents"]) == {
        "DeploymentStart",
        "DeploymentSuccess",
        "DeploymentFailure",
        "DeploymentStop",
        "DeploymentRollback",
    }


# Deployment configuration: canary in production, all-at-once in staging ------------------------------


def test_production_shifts_traffic_by_canary(production):
    args, rec, _ = production
    config = rec.one(DEPLOY_CONFIG).plain_inputs()
    assert config["computePlatform"] == "ECS"
    assert config["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {
            "percentage": args.deployment.traffic_percent,
            "interval": args.deployment.interval_minutes,
        },
    }
    assert group(rec)["deploymentConfigName"] == config["deploymentConfigName"]
    assert not group(rec)["deploymentConfigName"].startswith("CodeDeployDefault.")


def test_staging_uses_the_builtin_all_at_once(staging):
    _, rec, _ = staging
    assert rec.by_type(DEPLOY_CONFIG) == []
    assert group(rec)["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"


def test_linear_strategy_uses_time_based_linear():
    deployment = _deployment(strategy="linear", traffic_percent=25)
    rec, _ = record(make_args(deployment=deployment))
    config = rec.one(DEPLOY_CONFIG).plain_inputs()
    assert config["trafficRoutingConfig"]["type"] == "TimeBasedLinear"
    assert config["trafficRoutingConfig"]["timeBasedLinear"] == {"percentage": 25, "interval": 5}
    assert group(rec)["deploymentConfigName"] == config["deploymentConfigName"]


# Autoscaling -----------------------------------------------------------------------------------------


def test_autoscaling_tracks_cpu_when_configured(production):
    args, rec, _ = production
    target = rec.one("aws:appautoscaling/target:Target").plain_inputs()
    assert target["minCapacity"] == args.service.autoscaling.min_count
    assert target["maxCapacity"] == args.service.autoscaling.max_count
    assert target["resourceId"] == "service/rampart-production/rampart-production-web"
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    policy = rec.one("aws:appautoscaling/policy:Policy").plain_inputs()
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert policy["policyType"] == "TargetTrackingScaling"
    assert tracking["targetValue"] == args.service.autoscaling.cpu_target_percent
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"


def test_no_autoscaling_without_config(staging):
    args, rec, _ = staging
    assert args.service.autoscaling is None
    assert rec.by_type("aws:appautoscaling/target:Target") == []
