"""What the CodeDeploy rule tests share (tests/policies/test_codedeploy_*.py): a compliant ECS blue/green
deployment group, its rollback alarm and a canary deployment config, a way to change one dotted path of them, and
the rules' contexts."""

from __future__ import annotations

import copy

from guardrails.codedeploy import POLICIES
from guardrails.rule import Context, Resource

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULES = {rule.name: rule for rule in POLICIES}
TG_GREEN = "targetgroup/app-green/fedcba9876543210"
TERMINATE = "blueGreenDeploymentConfig.terminateBlueInstancesOnDeploymentSuccess"


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
