"""The ECS rules (1-14) as a whole: the catalogue's share is here, and one pass plus one fail per rule through the
real pack, resource rules on one resource and stack rules on a compliant stack with one field flipped; the public
IP rule cannot be waived."""

from __future__ import annotations

import pytest
from guardrails import ecs

from tests.policies.ecs_support import (
    CLUSTER,
    GROUP,
    IGNORED,
    RULES,
    SERVICE,
    TASKDEF,
    container,
    hits,
    service_props,
    taskdef_props,
)
from tests.support.pack import analyze, analyze_stack, registration


def test_every_rule_of_the_catalogue_share_is_here():
    assert list(RULES) == [
        "ecs-taskdef-no-host-privileges", "ecs-taskdef-readonly-rootfs", "ecs-taskdef-nonroot-user",
        "ecs-taskdef-no-secrets-in-environment", "ecs-taskdef-logging", "ecs-taskdef-separate-roles",
        "ecs-taskdef-image-pinned-digest", "ecs-service-no-public-ip", "ecs-service-fargate-platform-latest",
        "ecs-service-codedeploy-controller", "ecs-service-codedeploy-ignore-changes",
        "ecs-service-min-healthy-capacity", "ecs-exec-governed", "ecs-cluster-container-insights"]
    unwaivable = {name for name, rule in RULES.items() if not rule.waivable}
    assert unwaivable == {"ecs-taskdef-no-host-privileges", "ecs-taskdef-no-secrets-in-environment",
                          "ecs-service-no-public-ip"}


# analyzer path -----------------------------------------------------------------------------------------------
RESOURCE_CASES = [
    ("ecs-taskdef-no-host-privileges", TASKDEF, taskdef_props(), taskdef_props(pidMode="host")),
    ("ecs-taskdef-readonly-rootfs", TASKDEF, taskdef_props(), taskdef_props(container(readonlyRootFilesystem=False))),
    ("ecs-taskdef-nonroot-user", TASKDEF, taskdef_props(), taskdef_props(container(user="root"))),
    ("ecs-taskdef-no-secrets-in-environment", TASKDEF, taskdef_props(),
     taskdef_props(container(environment=[{"name": "DB_PASSWORD", "value": "hunter2"}]))),
    ("ecs-taskdef-separate-roles", TASKDEF, taskdef_props(), taskdef_props(taskRoleArn=None)),
    ("ecs-service-no-public-ip", SERVICE, service_props(),
     service_props(networkConfiguration={"subnets": ["a", "b"], "assignPublicIp": True})),
    ("ecs-service-fargate-platform-latest", SERVICE, service_props(), service_props(launchType="EC2")),
    ("ecs-cluster-container-insights", CLUSTER, {"settings": [{"name": "containerInsights", "value": "enhanced"}]},
     {"settings": []}),
]


@pytest.mark.parametrize(("policy", "type_token", "good", "bad"), RESOURCE_CASES, ids=[c[0] for c in RESOURCE_CASES])
def test_resource_rules_through_the_pack(policy_pack, policy, type_token, good, bad):
    assert hits(analyze(policy_pack, type_token, good), policy) == []
    diags = analyze(policy_pack, type_token, bad)
    assert len(hits(diags, policy)) == 1
    expected = {"M": "mandatory", "MP": "mandatory", "A": "advisory"}[RULES[policy].enforcement]
    assert [d.enforcement for d in diags if d.policy == policy] == [expected]


def test_secret_in_environment_is_not_echoed_by_the_pack(policy_pack):
    diags = analyze(policy_pack, TASKDEF,
                    taskdef_props(container(environment=[{"name": "X", "value": "postgres://u:hunter2@db/app"}])))
    assert hits(diags, "ecs-taskdef-no-secrets-in-environment")
    assert not any("hunter2" in d.message for d in diags)


def compliant_stack(service_overrides: dict | None = None, ignore_changes=IGNORED, taskdef_container=None):
    subnets = [registration(ecs.SUBNET, {"availabilityZone": az}, name=f"subnet-{az[-1]}")
               for az in ("us-east-1a", "us-east-1b")]
    cluster = registration(CLUSTER, {"name": "main", "settings": [{"name": "containerInsights", "value": "enhanced"}]},
                           name="main")
    log_group = registration(ecs.LOG_GROUP, {"name": "/rampart/production/web", "retentionInDays": 365}, name="logs")
    repo = registration(ecs.ECR_REPOSITORY, {"name": "rampart-production-web"}, name="repo")
    td = registration(TASKDEF, taskdef_props(taskdef_container or container()), name="web-td",
                      property_dependencies={"containerDefinitions": [log_group.urn, repo.urn]})
    svc = registration(SERVICE, service_props(**(service_overrides or {})), name="web", ignore_changes=ignore_changes,
                       property_dependencies={"networkConfiguration": [s.urn for s in subnets],
                                              "taskDefinition": [td.urn], "cluster": [cluster.urn]})
    dg = registration(GROUP, {"ecsService": {"clusterName": "main", "serviceName": "web"}}, name="web-dg",
                      property_dependencies={"ecsService": [svc.urn]})
    return [*subnets, cluster, log_group, repo, td, svc, dg]


STACK_CASES = [
    ("ecs-taskdef-logging", {}, IGNORED, container(logConfiguration=None)),
    ("ecs-taskdef-image-pinned-digest", {}, IGNORED, container(image="nginx:latest")),
    ("ecs-service-codedeploy-controller", {"deploymentController": {"type": "ECS"}}, IGNORED, None),
    ("ecs-service-codedeploy-ignore-changes", {}, ("taskDefinition",), None),
    ("ecs-service-min-healthy-capacity", {"desiredCount": 1.0}, IGNORED, None),
    ("ecs-exec-governed", {"enableExecuteCommand": True}, IGNORED, None),
]


def test_compliant_stack_through_the_pack(policy_pack):
    diags = analyze_stack(policy_pack, compliant_stack())
    assert {policy: hits(diags, policy) for policy, *_ in STACK_CASES} == {policy: [] for policy, *_ in STACK_CASES}


@pytest.mark.parametrize(("policy", "overrides", "ignore", "bad_container"), STACK_CASES,
                         ids=[c[0] for c in STACK_CASES])
def test_stack_rules_fail_through_the_pack(policy_pack, policy, overrides, ignore, bad_container):
    diags = analyze_stack(policy_pack, compliant_stack(overrides, ignore, bad_container))
    assert len(hits(diags, policy)) == 1
    assert [d.enforcement for d in diags if d.policy == policy] == ["mandatory"]


def test_unwaivable_public_ip_through_the_pack(policy_pack):
    waiver = {"resource": "*", "reason": "A demo that needs a public address for a day.", "approvedBy": "someone",
              "expires": "2999-01-01"}
    bad = service_props(networkConfiguration={"subnets": ["a", "b"], "assignPublicIp": True})
    diags = analyze(policy_pack, SERVICE, bad, config={"ecs-service-no-public-ip": {"waivers": [waiver]}})
    assert len(hits(diags, "ecs-service-no-public-ip")) == 1
