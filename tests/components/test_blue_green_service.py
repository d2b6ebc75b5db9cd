"""BlueGreenService on recorded registrations, built from both project stacks' first service."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components.blue_green_service import (
    BlueGreenService,
    BlueGreenServiceArgs,
    fit_name,
    target_group_name,
)
from infra.component_args import alarm_thresholds, deployment_strategy, service_spec
from tests.support.stacks import record_program, stack_config

ACCOUNT = "123456789012"
KMS = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b7d3e2a-9c41-4f6e-8a35-3e5d9b1c7f20"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:rampart-alerts"
PROD_LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/lb/abc/prod"
TEST_LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/lb/abc/test"
ALB_SG = "sg-0alb0000000000000"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
OTHER_SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:someone-elses-ZZZZZZ"

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
TG = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
DEPLOY_CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
REPO = "aws:ecr/repository:Repository"


def secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rampart-{name}-AbCdEf"


def make_args(stack: str = "production", **overrides) -> BlueGreenServiceArgs:
    cfg = stack_config(stack)
    names = cfg.services[0].secrets
    service = service_spec(cfg.services[0])
    secrets = {name.upper().replace("-", "_"): f"{secret_arn(name)}:::0000-version-{name}" for name in names}
    base = BlueGreenServiceArgs(
        service=service,
        deployment=deployment_strategy(cfg.deployment),
        alarms=alarm_thresholds(cfg.alarms),
        environment=cfg.environment,
        name_prefix=f"rampart-{stack}",
        cluster_arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/rampart-{stack}",
        cluster_name=f"rampart-{stack}",
        vpc_id="vpc-0123456789abcdef0",
        private_subnet_ids=SUBNETS,
        load_balancer_security_group_id=ALB_SG,
        load_balancer_arn_suffix=f"app/rampart-{stack}/0123456789abcdef",
        production_listener_arn=PROD_LISTENER,
        test_listener_arn=TEST_LISTENER,
        notification_topic_arn=TOPIC,
        kms_key_arn=KMS,
        log_retention_days=90,
        secrets=secrets,
        secret_arns=[secret_arn(name) for name in names],
        region=cfg.region,
    )
    return dataclasses.replace(base, **overrides)


def record(args: BlueGreenServiceArgs):
    built: dict[str, BlueGreenService] = {}

    def program() -> None:
        built["c"] = BlueGreenService("web", args)

    return record_program(program), built["c"]


@pytest.fixture(scope="module", params=["production", "staging"])
def recorded(request):
    args = make_args(request.param)
    rec, component = record(args)
    return request.param, args, rec, component


@pytest.fixture(scope="module")
def production():
    args = make_args("production")
    rec, component = record(args)
    return args, rec, component


@pytest.fixture(scope="module")
def staging():
    args = make_args("staging")
    rec, component = record(args)
    return args, rec, component


def container(rec) -> dict:
    [definition] = json.loads(rec.one(TASK).plain_inputs()["containerDefinitions"])
    return definition


def policy_of(rec, name: str) -> dict:
    return json.loads(rec.one(ROLE_POLICY, name).plain_inputs()["policy"])


def group(rec) -> dict:
    return rec.one(GROUP).plain_inputs()


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


# Container hardening ---------------------------------------------------------------------------------


def test_container_root_filesystem_is_read_only_with_a_tmp_volume(recorded):
    _, _, rec, _ = recorded
    definition = container(rec)
    assert definition["readonlyRootFilesystem"] is True
    assert {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False} in definition["mountPoints"]
    assert {"name": "tmp"} in rec.one(TASK).plain_inputs()["volumes"]


def test_container_runs_as_non_root_unprivileged(recorded):
    _, args, rec, _ = recorded
    definition = container(rec)
    assert definition["user"] == args.service.user
    assert definition["user"].split(":")[0] not in ("0", "root")
    assert definition["privileged"] is False
    assert definition["linuxParameters"]["capabilities"]["drop"] == ["ALL"]


def test_secrets_are_injected_by_pinned_value_from_never_environment(recorded):
    _, args, rec, _ = recorded
    definition = container(rec)
    assert {s["name"]: s["valueFrom"] for s in definition["secrets"]} == dict(args.secrets)
    assert all(s["valueFrom"].split(":::")[1] for s in definition["secrets"])  # version pinned
    environment = {e["name"]: e["value"] for e in definition["environment"]}
    assert environment == dict(args.service.environment)
    assert not set(environment) & set(args.secrets)
    assert not any("secretsmanager" in value for value in environment.values())


def test_container_image_ports_health_and_logs(recorded):
    _, args, rec, _ = recorded
    definition = container(rec)
    assert definition["image"] == args.service.image
    assert definition["essential"] is True
    assert definition["portMappings"] == [
        {"containerPort": args.service.container_port, "hostPort": args.service.container_port, "protocol": "tcp"}
    ]
    command = definition["healthCheck"]["command"]
    assert command[0] == "CMD-SHELL" and args.service.health_check_path in command[1]
    log = definition["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"]["awslogs-group"] == rec.one("aws:cloudwatch/logGroup:LogGroup").plain_inputs()["name"]
    assert log["options"]["awslogs-region"] == args.region


def test_container_health_check_can_be_the_image_own_command():
    service = _service(container_health_check=("CMD", "/app/healthcheck"))
    rec, _ = record(make_args(service=service))
    assert container(rec)["healthCheck"]["command"] == ["CMD", "/app/healthcheck"]


def test_log_group_has_retention_and_kms(recorded):
    _, args, rec, _ = recorded
    inputs = rec.one("aws:cloudwatch/logGroup:LogGroup").plain_inputs()
    assert inputs["retentionInDays"] == args.log_retention_days
    assert inputs["kmsKeyId"] == KMS


# Roles -----------------------------------------------------------------------------------------------


def test_task_role_is_distinct_from_execution_role_and_holds_nothing(recorded):
    _, _, rec, _ = recorded
    task = rec.one(TASK).plain_inputs()
    assert task["taskRoleArn"] and task["executionRoleArn"]
    assert task["taskRoleArn"] != task["executionRoleArn"]
    task_role = rec.one(ROLE, "web-task-role")
    task_role_refs = {task_role.id, task_role.plain_inputs()["name"]}
    for policy in [*rec.by_type(ROLE_POLICY), *rec.by_type(ATTACHMENT)]:
        assert policy.plain_inputs()["role"] not in task_role_refs, policy.name
    assert "inlinePolicies" not in task_role.plain_inputs()
    assert "managedPolicyArns" not in task_role.plain_inputs()


def test_task_roles_trust_only_ecs_tasks_of_this_account(recorded):
    _, _, rec, _ = recorded
    for role in ("web-execution-role", "web-task-role"):
        [statement] = json.loads(rec.one(ROLE, role).plain_inputs()["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_execution_policy_reads_exactly_the_given_secrets(recorded):
    _, args, rec, _ = recorded
    statements = policy_of(rec, "web-execution-policy")["Statement"]
    secret_statements = [s for s in statements if "secretsmanager:GetSecretValue" in str(s["Action"])]
    assert len(secret_statements) == 1
    assert sorted(secret_statements[0]["Resource"]) == sorted(args.secret_arns)
    assert OTHER_SECRET not in json.dumps(statements)


def test_execution_policy_writes_only_its_own_log_group_and_pulls_only_its_repository(recorded):
    stack, _, rec, _ = recorded
    statements = {s["Sid"]: s for s in policy_of(rec, "web-execution-policy")["Statement"]}
    logs = statements["WriteThisLogGroup"]
    assert sorted(logs["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/rampart-{stack}-web:log-stream:*"
    pull = statements["PullThisRepository"]
    assert pull["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/rampart-{stack}-web"
    assert all(action.startswith("ecr:") for action in pull["Action"])
    decrypt = statements["DecryptSecrets"]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == KMS


def test_execution_policy_wildcard_resource_only_for_registry_login(recorded):
    _, _, rec, _ = recorded
    statements = policy_of(rec, "web-execution-policy")["Statement"]

    def resources(statement: dict) -> list[str]:
        value = statement["Resource"]
        return [value] if isinstance(value, str) else value

    wildcard = [s for s in statements if "*" in resources(s)]
    assert [s["Action"] for s in wildcard] == ["ecr:GetAuthorizationToken"]
    assert all("*" not in json.dumps(s["Action"]) for s in statements)
    assert all(s["Effect"] == "Allow" for s in statements)


def test_execution_policy_without_secrets_grants_no_secret_or_key_access():
    args = make_args("staging", secrets={}, secret_arns=[])
    rec, _ = record(args)
    text = json.dumps(policy_of(rec, "web-execution-policy"))
    assert "secretsmanager" not in text and "kms:" not in text
    assert container(rec)["secrets"] == []


def test_codedeploy_role_gets_the_ecs_managed_policy_and_trusts_codedeploy(recorded):
    _, _, rec, _ = recorded
    attachment = rec.one(ATTACHMENT).plain_inputs()
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
    role = rec.one(ROLE, "web-codedeploy-role")
    [statement] = json.loads(role.plain_inputs()["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert group(rec)["serviceRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.plain_inputs()['name']}"
    notify = policy_of(rec, "web-codedeploy-notify")["Statement"]
    assert all(s["Resource"] == KMS for s in notify)


# ECR -------------------------------------------------------------------------------------------------


def test_repository_is_immutable_scanned_kms_encrypted_and_not_force_deleted(recorded):
    _, _, rec, _ = recorded
    inputs = rec.one(REPO).plain_inputs()
    assert inputs["imageTagMutability"] == "IMMUTABLE"
    assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KMS}]
    assert inputs["forceDelete"] is False


def test_repository_is_protected_in_production_only(production, staging):
    assert production[1].one(REPO).protect is True
    assert staging[1].one(REPO).protect is False


def test_lifecycle_keeps_release_images_and_expires_untagged(recorded):
    _, _, rec, _ = recorded
    policy = json.loads(rec.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").plain_inputs()["policy"])
    by_status = {rule["selection"]["tagStatus"]: rule["selection"] for rule in policy["rules"]}
    assert by_status["untagged"]["countType"] == "sinceImagePushed"
    assert by_status["untagged"]["countNumber"] == 14
    tagged = by_status["tagged"]
    assert tagged["countType"] == "imageCountMoreThan"
    assert tagged["countNumber"] >= 10  # rollback targets survive
    assert {rule["selection"]["tagStatus"] for rule in policy["rules"]} == {"untagged", "tagged"}


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


# Names -----------------------------------------------------------------------------------------------


def test_long_prefixes_still_give_valid_distinct_target_group_names():
    base = "rampart-a-very-long-stack-name-checkout-service"
    blue, green = target_group_name(base, "blue"), target_group_name(base, "green")
    assert len(blue) <= 32 and len(green) <= 32
    assert blue.endswith("-blue") and green.endswith("-green")
    assert blue != green
    assert target_group_name(base + "x", "blue") != blue
    assert fit_name("x" * 80, 64) != fit_name("x" * 81, 64)
    assert len(fit_name("x" * 80, 64)) == 64


def test_long_names_record_within_limits():
    rec, _ = record(make_args("staging", name_prefix="rampart-a-very-long-stack-name-for-testing"))
    for tg in rec.by_type(TG):
        assert len(tg.plain_inputs()["name"]) <= 32
    for role in rec.by_type(ROLE):
        assert len(role.plain_inputs()["name"]) <= 64


# Validation ------------------------------------------------------------------------------------------


def _service(**update):
    return dataclasses.replace(service_spec(stack_config("production").services[0]), **update)


def _deployment(**update):
    return dataclasses.replace(deployment_strategy(stack_config("production").deployment), **update)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"deployment": _deployment(termination_wait_minutes=4)}, "deployment.termination_wait_minutes"),
        ({"deployment": _deployment(interval_minutes=1)}, "deployment.interval_minutes"),
        ({"name_prefix": "Rampart_Prod"}, "name_prefix"),
        ({"service": _service(user="0:0")}, "service.user"),
        ({"service": _service(path_patterns=("/a", "/b", "/c", "/d", "/e", "/f"))}, "service.path_patterns"),
        ({"secrets": {"LOG_LEVEL": "arn:x:::v"}}, "secrets"),
        ({"secrets": {"bad-name": "arn:x:::v"}}, "secrets"),
        ({"secret_arns": []}, "secret_arns"),
        ({"private_subnet_ids": ["subnet-a"]}, "private_subnet_ids"),
        ({"log_retention_days": 0}, "log_retention_days"),
        ({"traffic_control": "APP_MESH"}, "traffic_control"),
        ({"region": "mars-1"}, "region"),
        ({"service": {"name": "web"}}, "service"),
        ({"service": _service(container_port=80)}, "service.container_port"),
        ({"service": _service(image=None)}, "service.image"),
        ({"service": _service(cpu=300)}, "service.cpu"),
        ({"service": _service(container_health_check=("sh", "-c", "true"))}, "service.container_health_check"),
        ({"deployment": _deployment(strategy="blue-green")}, "deployment.strategy"),
        ({"alarms": {"periodSeconds": 60}}, "alarms"),
    ],
)
def test_invalid_args_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=rf"^BlueGreenServiceArgs\.{message}: expected"):
        record(make_args(**overrides))


def test_one_private_subnet_is_enough_outside_production():
    rec, _ = record(make_args("staging", private_subnet_ids=["subnet-a"]))
    assert rec.one(SERVICE).plain_inputs()["networkConfiguration"]["subnets"] == ["subnet-a"]
