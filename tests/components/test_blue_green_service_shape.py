"""BlueGreenService on recorded registrations, built from both project stacks' first service: every child present,
named and parented, and the plain outputs; the ECS service leaving to CodeDeploy what CodeDeploy owns (trap 1), on
Fargate in the private subnets, starting on blue; and a task security group admitting only the load balancer."""

from __future__ import annotations

from tests.components.blue_green_support import (
    ALARM,
    ALB_SG,
    ATTACHMENT,
    DEPLOY_CONFIG,
    GROUP,
    REPO,
    ROLE,
    ROLE_POLICY,
    RULE,
    SERVICE,
    SUBNETS,
    TASK,
    TG,
    group,
)

# Shape -----------------------------------------------------------------------------------------------


def test_every_child_is_present_named_and_parented(recorded):
    _, args, rec, _ = recorded
    component = rec.one("rampart:index:BlueGreenService")
    children = {(r.type, r.name) for r in rec.children_of(component.urn)}
    expected = {
        (REPO, "web-repository"),
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "web-repository-lifecycle"),
        ("aws:cloudwatch/logGroup:LogGroup", "web-logs"),
        (ROLE, "web-execution-role"),
        (ROLE_POLICY, "web-execution-policy"),
        (ROLE, "web-task-role"),
        ("aws:ec2/securityGroup:SecurityGroup", "web-tasks-sg"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web-tasks-from-alb"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "web-tasks-https-out"),
        (TASK, "web-task"),
        (TG, "web-tg-blue"),
        (TG, "web-tg-green"),
        (RULE, "web-production-rule"),
        (RULE, "web-test-rule"),
        (SERVICE, "web-service"),
        ("rampart:index:DeploymentAlarms", "web-alarms"),
        ("aws:codedeploy/application:Application", "web-codedeploy-app"),
        (ROLE, "web-codedeploy-role"),
        (ATTACHMENT, "web-codedeploy-managed"),
        (ROLE_POLICY, "web-codedeploy-notify"),
        (GROUP, "web-deployment-group"),
    }
    if args.service.autoscaling:
        expected |= {
            ("aws:appautoscaling/target:Target", "web-scaling-target"),
            ("aws:appautoscaling/policy:Policy", "web-scaling-cpu"),
        }
    if args.deployment.strategy != "all-at-once":
        expected.add((DEPLOY_CONFIG, "web-deployment-config"))
    assert children == expected
    alarms_component = rec.one("rampart:index:DeploymentAlarms")
    assert {r.parent for r in rec.by_type(ALARM)} == {alarms_component.urn}
    # Nothing escapes the component tree.
    tree = {component.urn, alarms_component.urn}
    assert all(r.parent in tree for r in rec.registrations if r.urn != component.urn)


def test_physical_names_follow_the_prefix(recorded):
    stack, _, rec, _ = recorded
    base = f"rampart-{stack}-web"
    assert rec.one(SERVICE).plain_inputs()["name"] == base
    assert rec.one(TASK).plain_inputs()["family"] == base
    assert rec.one(REPO).plain_inputs()["name"] == base
    assert group(rec)["deploymentGroupName"] == base
    assert group(rec)["appName"] == base


def test_plain_outputs(recorded):
    _, args, _, component = recorded
    assert component.container_name == args.service.name
    assert component.container_port == args.service.container_port
    assert isinstance(component.detection_seconds, int)
    assert len(component.alarm_names) == 7


# Trap 1: the service leaves to CodeDeploy what CodeDeploy owns ----------------------------------------


def test_service_ignores_what_codedeploy_owns(recorded):
    _, args, rec, _ = recorded
    ignored = set(rec.one(SERVICE).ignore_changes)
    assert {"taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion"} <= ignored
    # Autoscaling owns the count when present; otherwise Pulumi must keep enforcing it.
    assert ("desiredCount" in ignored) == bool(args.service.autoscaling)


def test_service_uses_the_codedeploy_controller_on_fargate_latest(recorded):
    _, _, rec, _ = recorded
    inputs = rec.one(SERVICE).plain_inputs()
    assert inputs["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert inputs["launchType"] == "FARGATE"
    assert inputs["platformVersion"] == "LATEST"
    assert inputs["enableExecuteCommand"] is False
    assert inputs["propagateTags"] == "SERVICE"
    assert inputs["waitForSteadyState"] is False
    assert inputs["healthCheckGracePeriodSeconds"] > 0
    assert "deploymentCircuitBreaker" not in inputs


def test_service_has_no_public_ip_and_runs_in_the_private_subnets(recorded):
    _, _, rec, _ = recorded
    network = rec.one(SERVICE).plain_inputs()["networkConfiguration"]
    assert network["assignPublicIp"] is False
    assert network["subnets"] == SUBNETS
    assert network["securityGroups"] == [rec.one("aws:ec2/securityGroup:SecurityGroup").id]


def test_service_starts_on_blue_after_the_rules_attach_it(recorded):
    _, args, rec, _ = recorded
    service = rec.one(SERVICE)
    blue_name = rec.one(TG, "web-tg-blue").plain_inputs()["name"]
    [lb] = service.plain_inputs()["loadBalancers"]
    assert f":targetgroup/{blue_name}/" in lb["targetGroupArn"]
    assert lb["containerName"] == args.service.name
    assert lb["containerPort"] == args.service.container_port
    rule_urns = {r.urn for r in rec.by_type(RULE)}
    assert rule_urns <= set(service.dependencies)
    assert rec.one(ROLE_POLICY, "web-execution-policy").urn in service.dependencies


def test_desired_count_from_config(recorded):
    _, args, rec, _ = recorded
    assert rec.one(SERVICE).plain_inputs()["desiredCount"] == args.service.desired_count


def test_task_definition_revisions_survive_for_rollback(recorded):
    _, _, rec, _ = recorded
    assert rec.one(TASK).plain_inputs()["skipDestroy"] is True


def test_task_definition_is_fargate_awsvpc_sized_from_config(recorded):
    _, args, rec, _ = recorded
    inputs = rec.one(TASK).plain_inputs()
    assert inputs["requiresCompatibilities"] == ["FARGATE"]
    assert inputs["networkMode"] == "awsvpc"
    assert inputs["cpu"] == str(args.service.cpu)
    assert inputs["memory"] == str(args.service.memory)


# Network ---------------------------------------------------------------------------------------------


def test_tasks_admit_only_the_load_balancer_on_the_container_port(recorded):
    _, args, rec, _ = recorded
    sg = rec.one("aws:ec2/securityGroup:SecurityGroup").plain_inputs()
    assert "ingress" not in sg and "egress" not in sg
    assert sg["description"]
    [ingress] = rec.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    rule = ingress.plain_inputs()
    assert rule["referencedSecurityGroupId"] == ALB_SG
    assert "cidrIpv4" not in rule
    assert rule["fromPort"] == rule["toPort"] == args.service.container_port
    assert rule["ipProtocol"] == "tcp"


def test_egress_is_https_only(recorded):
    _, _, rec, _ = recorded
    [egress] = rec.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    rule = egress.plain_inputs()
    assert rule["fromPort"] == rule["toPort"] == 443
    assert rule["ipProtocol"] == "tcp"
