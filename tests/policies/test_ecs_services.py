"""ECS service and cluster rules (8-14): no public IP, Fargate LATEST, the CodeDeploy controller and what it
owns, minimum healthy capacity, governed ECS Exec, and Container Insights. A compliant baseline passes; each
flipped field fails with the rule's message."""

from __future__ import annotations

import pytest
from guardrails import ecs
from guardrails.rule import Resource, Undeterminable

from tests.policies.ecs_support import (
    CLUSTER,
    GROUP,
    IGNORED,
    SERVICE,
    container,
    run,
    service,
    service_props,
    taskdef,
)


def group() -> Resource:
    return Resource(GROUP, {"ecsService": {"clusterName": "main", "serviceName": "web"}}, urn="urn:dg", name="web")


# 8 -----------------------------------------------------------------------------------------------------------
def test_no_public_ip_passes():
    assert run("ecs-service-no-public-ip", service()) == []


def test_public_ip_fails():
    public = service(networkConfiguration={"subnets": ["a"], "assignPublicIp": True})
    [message] = run("ecs-service-no-public-ip", public)
    assert message.startswith("networkConfiguration.assignPublicIp is true: expected false")


# 9 -----------------------------------------------------------------------------------------------------------
def test_fargate_latest_passes():
    assert run("ecs-service-fargate-platform-latest", service()) == []
    assert run("ecs-service-fargate-platform-latest", service(platformVersion=None)) == []
    spot = service(launchType=None, capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert run("ecs-service-fargate-platform-latest", spot) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({"launchType": "EC2"}, "launchType is 'EC2'"),
     ({"launchType": None}, "launchType is not set (capacity providers none)"),
     ({"platformVersion": "1.3.0"}, "platformVersion is '1.3.0': expected 'LATEST'")],
)
def test_fargate_latest_flips_fail(overrides, expected):
    [message] = run("ecs-service-fargate-platform-latest", service(**overrides))
    assert expected in message


# 10 ----------------------------------------------------------------------------------------------------------
def test_code_deploy_service_with_group_passes():
    assert run("ecs-service-codedeploy-controller", [service(), group()]) == []
    # ECS-native blue/green passes with its rollback alarms and test rule (tests/policies/test_ecs_native.py);
    # the strategy alone does not.
    native = service(deploymentController=None, deploymentConfiguration={"strategy": "BLUE_GREEN"})
    [message] = run("ecs-service-codedeploy-controller", [native])
    assert "ECS-native blue/green service lacks alarms" in message
    internal = service(deploymentController=None, loadBalancers=None)
    assert run("ecs-service-codedeploy-controller", [internal]) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ([service(deploymentController={"type": "ECS"}), group()],
         "deploymentController.type is 'ECS' but deployment group web deploys this service"),
        ([service(deploymentController=None)], "service behind a load balancer deploys with controller 'ECS'"),
        ([service()], "no DeploymentGroup of this stack deploys it"),
    ],
)
def test_codedeploy_controller_flips_fail(subject, expected):
    [message] = run("ecs-service-codedeploy-controller", subject)
    assert expected in message


# 11 ----------------------------------------------------------------------------------------------------------
SCALING = Resource(ecs.SCALING_TARGET, {"resourceId": "service/main/web", "scalableDimension":
                                        "ecs:service:DesiredCount", "minCapacity": 2.0, "maxCapacity": 6.0},
                   urn="urn:scaling")


def test_ignore_changes_passes():
    assert run("ecs-service-codedeploy-ignore-changes", [service()]) == []
    autoscaled = service(ignore_changes=(*IGNORED, "desiredCount"))
    assert run("ecs-service-codedeploy-ignore-changes", [autoscaled, SCALING]) == []
    assert run("ecs-service-codedeploy-ignore-changes", [service(ignore_changes=(), deploymentController=None)]) == []


@pytest.mark.parametrize("dropped", IGNORED)
def test_ignore_changes_each_missing_property_fails(dropped):
    subject = service(ignore_changes=tuple(p for p in IGNORED if p != dropped))
    [message] = run("ecs-service-codedeploy-ignore-changes", [subject])
    assert message.startswith(f"CODE_DEPLOY service does not ignore changes to {dropped}: expected ignore_changes")


def test_ignore_changes_desired_count_when_autoscaled():
    [message] = run("ecs-service-codedeploy-ignore-changes", [service(), SCALING])
    assert "does not ignore changes to desiredCount" in message


# 12 ----------------------------------------------------------------------------------------------------------
def subnet(az: str, urn: str) -> Resource:
    return Resource(ecs.SUBNET, {"availabilityZone": az, "cidrBlock": "10.0.0.0/24"}, urn=urn)


SUBNETS = [subnet("us-east-1a", "urn:sa"), subnet("us-east-1b", "urn:sb")]
DEPS = {"networkConfiguration": ["urn:sa", "urn:sb"], "taskDefinition": ["urn:td"]}


def capacity_service(**overrides) -> Resource:
    return Resource(SERVICE, service_props(**overrides), urn="urn:svc", name="web", property_dependencies=DEPS)


def test_min_healthy_capacity_passes():
    assert run("ecs-service-min-healthy-capacity", [*SUBNETS, taskdef(), capacity_service()]) == []
    assert run("ecs-service-min-healthy-capacity", [service()]) == []  # unresolved subnets: two ids suffice


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([*SUBNETS, taskdef(), capacity_service(desiredCount=1.0)], "desiredCount is 1: expected at least 2"),
        ([*SUBNETS, taskdef(), capacity_service(desiredCount=None)], "desiredCount is 0: expected at least 2"),
        ([subnet("us-east-1a", "urn:sa"), subnet("us-east-1a", "urn:sb"), taskdef(), capacity_service()],
         "span 1 availability zone(s) (us-east-1a): expected at least 2"),
        ([service(networkConfiguration={"subnets": ["subnet-a"]})], "lists 1 subnet(s)"),
        ([*SUBNETS, taskdef(), capacity_service(healthCheckGracePeriodSeconds=None)],
         "healthCheckGracePeriodSeconds is not set"),
        ([*SUBNETS, taskdef(container(healthCheck=None)), capacity_service()],
         "container 'web' of task definition web-td has no healthCheck.command"),
        ([*SUBNETS, taskdef(), capacity_service(),
          Resource(ecs.SCALING_TARGET, {**SCALING.props, "minCapacity": 1.0}, urn="urn:scaling")],
         "autoscaling minCapacity is 1: expected at least 2"),
    ],
)
def test_min_healthy_capacity_flips_fail(resources, expected):
    [message] = run("ecs-service-min-healthy-capacity", resources)
    assert expected in message


@pytest.mark.parametrize(
    "resources",
    [
        [service(networkConfiguration={"subnets": [None, None]})],  # e.g. config.get("subnet_a") unset
        [subnet(None, "urn:sa"), subnet("us-east-1b", "urn:sb"), taskdef(), capacity_service()],  # AZ chosen by AWS
    ],
    ids=["null-subnet-ids", "subnet-zone-unknown"],
)
def test_subnets_the_run_did_not_know_are_undeterminable_not_a_violation(resources):
    with pytest.raises(Undeterminable):
        run("ecs-service-min-healthy-capacity", resources)


def test_min_healthy_capacity_thresholds():
    single = [*SUBNETS, taskdef(), capacity_service(desiredCount=1.0)]
    assert run("ecs-service-min-healthy-capacity", single, minDesiredCount=1) == []


# 13 ----------------------------------------------------------------------------------------------------------
def governed_cluster(**exec_config) -> Resource:
    config = exec_config or {"kmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "logging": "OVERRIDE", "logConfiguration": {
        "cloudWatchLogGroupName": "/rampart/exec", "cloudWatchEncryptionEnabled": True}}
    return Resource(CLUSTER, {"name": "main", "configuration": {"executeCommandConfiguration": config}}, urn="urn:cl")


WRITABLE = taskdef(container(readonlyRootFilesystem=False))


def exec_service(**overrides) -> Resource:
    return Resource(SERVICE, service_props(enableExecuteCommand=True, **overrides), urn="urn:svc", name="web",
                    property_dependencies={"cluster": ["urn:cl"], "taskDefinition": ["urn:td"]})


def test_exec_off_passes_and_governed_exec_passes_where_allowed():
    assert run("ecs-exec-governed", [service()]) == []
    assert run("ecs-exec-governed", [governed_cluster(), WRITABLE, exec_service()], allowExecuteCommand=True) == []


def test_exec_on_fails_where_not_allowed():
    [message] = run("ecs-exec-governed", [governed_cluster(), WRITABLE, exec_service()])
    assert message.startswith("enableExecuteCommand is true: expected false in this stack")


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        (governed_cluster(logging="DEFAULT"), "kmsKeyId is not set"),
        (governed_cluster(kmsKeyId="k", logging="NONE"), "logging is NONE"),
        (governed_cluster(kmsKeyId="k", logging="OVERRIDE", logConfiguration={"cloudWatchLogGroupName": "/x"}),
         "has no encrypted CloudWatch or S3 destination"),
        (None, "the cluster is not in this stack"),
    ],
)
def test_exec_governance_flips_fail(cluster, expected):
    resources = [r for r in (cluster, WRITABLE, exec_service()) if r is not None]
    [message] = run("ecs-exec-governed", resources, allowExecuteCommand=True)
    assert expected in message


def test_exec_knows_it_cannot_work_with_a_read_only_root():
    [message] = run("ecs-exec-governed", [governed_cluster(), taskdef(), exec_service()], allowExecuteCommand=True)
    assert "container 'web' has readonlyRootFilesystem: ECS Exec cannot start its agent there" in message


# 14 ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["enabled", "enhanced"])
def test_container_insights_passes(value):
    cluster = Resource(CLUSTER, {"settings": [{"name": "containerInsights", "value": value}]})
    assert run("ecs-cluster-container-insights", cluster) == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [(None, "not set"), ([{"name": "containerInsights", "value": "disabled"}], "'disabled'")],
)
def test_container_insights_flips_fail(settings, expected):
    [message] = run("ecs-cluster-container-insights", Resource(CLUSTER, {"settings": settings} if settings else {}))
    assert message.startswith(f"settings containerInsights is {expected}: expected")
