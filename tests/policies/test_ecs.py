"""ECS rules (1-14): a compliant baseline, each flipped field failing with the rule's message, and one pass plus
one fail per rule through the real pack."""

from __future__ import annotations

import json

import pytest
from guardrails import ecs
from guardrails.rule import Context, Resource, Undeterminable

from tests.support.pack import analyze, analyze_stack, registration

RULES = {rule.name: rule for rule in ecs.POLICIES}
TASKDEF, SERVICE, CLUSTER = ecs.TASK_DEFINITION, "aws:ecs/service:Service", ecs.CLUSTER
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
IMAGE = ("123456789012.dkr.ecr.us-east-1.amazonaws.com/rampart-production-web@sha256:"
         "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945")
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rampart/db-AbCdEf"
URN = "urn:pulumi:test::rampart::{}::{}"


def ctx(rule: str, **overrides) -> Context:
    return Context(config={**RULES[rule].thresholds, **overrides})


def container(**overrides) -> dict:
    base = {
        "name": "web", "image": IMAGE, "essential": True, "user": "10001:10001", "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD_SECRET_ARN",
                                                                  "value": SECRET_ARN}],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
        "healthCheck": {"command": ["CMD-SHELL", "wget -qO- http://localhost:8080/health || exit 1"]},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/rampart/production/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}},
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def taskdef_props(*containers: dict, **overrides) -> dict:
    props = {
        "family": "rampart-production-web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "512", "memory": "1024", "executionRoleArn": "arn:aws:iam::123456789012:role/web-execution",
        "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
        "containerDefinitions": json.dumps(list(containers) or [container()]),
    }
    return {k: v for k, v in {**props, **overrides}.items() if v is not None}


def taskdef(*containers: dict, urn: str = "urn:td", **overrides) -> Resource:
    return Resource(TASKDEF, taskdef_props(*containers, **overrides), urn=urn, name="web-td")


def service_props(**overrides) -> dict:
    props = {
        "name": "web", "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/main", "launchType": "FARGATE",
        "platformVersion": "LATEST", "desiredCount": 2.0, "healthCheckGracePeriodSeconds": 60.0,
        "deploymentController": {"type": "CODE_DEPLOY"},
        "networkConfiguration": {"subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"],
                                 "assignPublicIp": False},
        "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-blue/1",
                           "containerName": "web", "containerPort": 8080.0}],
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/rampart-production-web:1",
        "enableExecuteCommand": False,
    }
    return {k: v for k, v in {**props, **overrides}.items() if v is not None}


IGNORED = ("taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion")


def service(ignore_changes=IGNORED, **overrides) -> Resource:
    return Resource(SERVICE, service_props(**overrides), urn="urn:svc", name="web", ignore_changes=ignore_changes)


def group() -> Resource:
    return Resource(GROUP, {"ecsService": {"clusterName": "main", "serviceName": "web"}}, urn="urn:dg", name="web")


def run(rule_name: str, subject, **overrides) -> list[str]:
    rule = RULES[rule_name]
    if rule.is_stack_rule:
        results = rule.stack_check(subject, ctx(rule_name, **overrides))
    else:
        results = rule.check(subject, ctx(rule_name, **overrides))
    return [r if isinstance(r, str) else r.message for r in results]


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


# 1 -----------------------------------------------------------------------------------------------------------
def test_host_privileges_baseline_passes():
    assert run("ecs-taskdef-no-host-privileges", taskdef()) == []
    assert run("ecs-taskdef-no-host-privileges", taskdef(pidMode="task", ipcMode="none")) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (taskdef(networkMode="bridge"), "networkMode is 'bridge': expected 'awsvpc'"),
        (taskdef(networkMode="host"), "networkMode is 'host': expected 'awsvpc'"),
        (taskdef(networkMode=None), "networkMode is None: expected 'awsvpc'"),
        (taskdef(pidMode="host"), "pidMode is 'host'"),
        (taskdef(ipcMode="host"), "ipcMode is 'host'"),
        (taskdef(container(privileged=True)), "container 'web' sets privileged true"),
        (taskdef(containerDefinitions="[{not json"), "containerDefinitions is not valid JSON"),
        (taskdef(containerDefinitions="[]"), "containerDefinitions is empty"),
    ],
)
def test_host_privileges_flips_fail(subject, expected):
    [message] = run("ecs-taskdef-no-host-privileges", subject)
    assert expected in message


# 2 -----------------------------------------------------------------------------------------------------------
def test_readonly_rootfs_baseline_passes():
    assert run("ecs-taskdef-readonly-rootfs", taskdef(container(), container(name="sidecar"))) == []


@pytest.mark.parametrize("value", [False, None, "true"])
def test_readonly_rootfs_flips_fail(value):
    [message] = run("ecs-taskdef-readonly-rootfs",
                    taskdef(container(), container(name="sidecar", readonlyRootFilesystem=value)))
    assert message == f"container 'sidecar' readonlyRootFilesystem is {value!r}: expected true"


# 3 -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["10001", "10001:10001", "app", "app:0"])
def test_nonroot_user_passes(user):
    assert run("ecs-taskdef-nonroot-user", taskdef(container(user=user))) == []


@pytest.mark.parametrize(
    ("user", "expected"),
    [(None, "user is not set"), ("", "user is not set"), ("root", "user is 'root'"), ("0", "user is '0'"),
     ("0:0", "user is '0:0'"), ("root:app", "user is 'root:app'")],
)
def test_nonroot_user_flips_fail(user, expected):
    [message] = run("ecs-taskdef-nonroot-user", taskdef(container(user=user)))
    assert expected in message and "expected a non-root uid[:gid]" in message


# 4 -----------------------------------------------------------------------------------------------------------
def test_secrets_by_reference_pass():
    ssm = {"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/rampart/api-key"}
    assert run("ecs-taskdef-no-secrets-in-environment", taskdef(container(secrets=[ssm]))) == []


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"name": "DB_PASSWORD", "value": "hunter2"}, "environment DB_PASSWORD looks like a credential"),
        ({"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}, "environment AWS_SECRET_ACCESS_KEY looks like a credential"),
        ({"name": "GITHUB_TOKEN", "value": "x"}, "environment GITHUB_TOKEN looks like a credential"),
        ({"name": "STRIPE_API_KEY", "value": "x"}, "environment STRIPE_API_KEY looks like a credential"),
        ({"name": "DATABASE_URL", "value": "postgres://app:s3cret@db:5432/app"}, "credential-shaped value"),
        ({"name": "KEY_ID", "value": "AKIAABCDEFGHIJKLMNOP"}, "environment KEY_ID holds a credential-shaped value"),
        ({"name": "CERT", "value": "-----BEGIN RSA PRIVATE KEY-----\nMII"}, "credential-shaped value"),
    ],
)
def test_secrets_in_environment_fail(environment, expected):
    subject = taskdef(container(environment=[{"name": "LOG_LEVEL", "value": "info"}, environment]))
    [message] = run("ecs-taskdef-no-secrets-in-environment", subject)
    assert expected in message and "expected it in secrets[] with valueFrom" in message


@pytest.mark.parametrize("value_from", ["arn:aws:s3:::bucket/secret", "postgres://app:pw@db/app", "", None])
def test_secret_value_from_must_be_an_arn_or_a_parameter_name(value_from):
    secret = {"name": "DB_PASSWORD", "valueFrom": value_from}
    [message] = run("ecs-taskdef-no-secrets-in-environment", taskdef(container(secrets=[secret])))
    assert "secrets 'DB_PASSWORD' valueFrom is not a Secrets Manager or SSM parameter ARN" in message


@pytest.mark.parametrize("value_from", ["/rampart/production/db-password", "rampart-db-password"])
def test_an_ssm_parameter_named_in_secrets_is_a_reference_not_a_secret(value_from):
    # ECS accepts a parameter's name (same Region) as well as its ARN: the false positive of issue 16.
    secret = {"name": "DB_PASSWORD", "valueFrom": value_from}
    assert run("ecs-taskdef-no-secrets-in-environment", taskdef(container(secrets=[secret]))) == []


@pytest.mark.parametrize("name", [
    "MYSQL_PWD", "APP_KEY", "JWT_SIGNING_KEY", "jwtSigningKey", "RSA_PRIVATE", "SERVICE_TOKEN", "SECRET",
    "GOOGLE_CREDENTIALS", "DB_PASS", "ENCRYPTION_KEY", "DBPASSWORD", "mysql-pwd", "KEY",
])
def test_secret_looking_names_are_credentials(name):
    subject = taskdef(container(environment=[{"name": name, "value": "x"}]))
    [message] = run("ecs-taskdef-no-secrets-in-environment", subject)
    assert f"environment {name} looks like a credential" in message


@pytest.mark.parametrize("name", [
    "PUBLIC_KEY_URL", "PUBLIC_KEY", "SIGNING_KEY_ARN", "DB_PASSWORD_FILE", "PARTITION_KEY", "KMS_KEY_ID",
    "LOG_LEVEL", "KEYCLOAK_REALM", "PASSENGER_COUNT",
])
def test_references_and_non_secret_keys_are_not_credentials(name):
    subject = taskdef(container(environment=[{"name": name, "value": "x"}]))
    assert run("ecs-taskdef-no-secrets-in-environment", subject) == []


def test_secret_names_can_be_allowed_by_threshold():
    subject = taskdef(container(environment=[{"name": "AUTH_MODE", "value": "oidc"}]))
    assert run("ecs-taskdef-no-secrets-in-environment", subject) != []
    assert run("ecs-taskdef-no-secrets-in-environment", subject, allowedNames=["AUTH_MODE"]) == []


# 5 -----------------------------------------------------------------------------------------------------------
LOG_GROUP = Resource(ecs.LOG_GROUP, {"name": "/rampart/production/web", "retentionInDays": 365}, urn="urn:lg")


def test_logging_to_a_stack_log_group_passes():
    assert run("ecs-taskdef-logging", [LOG_GROUP, taskdef()]) == []


def test_logging_to_an_autonamed_stack_group_passes_by_dependency():
    auto = Resource(ecs.LOG_GROUP, {"retentionInDays": 365}, urn="urn:auto")
    logs = {"logDriver": "awslogs", "options": {"awslogs-group": "web-logs-1a2b3c"}}
    td = Resource(TASKDEF, taskdef_props(container(logConfiguration=logs)), urn="urn:td",
                  property_dependencies={"containerDefinitions": ["urn:auto"]})
    assert run("ecs-taskdef-logging", [auto, td]) == []


@pytest.mark.parametrize(
    ("log_configuration", "expected"),
    [
        (None, "container 'web' has no logConfiguration.logDriver"),
        ({"logDriver": "awslogs", "options": {"awslogs-group": "/elsewhere"}},
         "logs to awslogs-group '/elsewhere', which is no LogGroup of this stack"),
        ({"logDriver": "awslogs", "options": {"awslogs-group": "/x", "awslogs-create-group": "true"}},
         "sets awslogs-create-group"),
    ],
)
def test_logging_flips_fail(log_configuration, expected):
    [message] = run("ecs-taskdef-logging", [LOG_GROUP, taskdef(container(logConfiguration=log_configuration))])
    assert expected in message


# 6 -----------------------------------------------------------------------------------------------------------
def test_separate_roles_baseline_passes():
    assert run("ecs-taskdef-separate-roles", taskdef()) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"executionRoleArn": None}, "executionRoleArn is not set"),
        ({"taskRoleArn": None}, "taskRoleArn is not set"),
        ({"taskRoleArn": "arn:aws:iam::123456789012:role/web-execution"}, "are the same role"),
    ],
)
def test_separate_roles_flips_fail(overrides, expected):
    [message] = run("ecs-taskdef-separate-roles", taskdef(**overrides))
    assert expected in message


# 7 -----------------------------------------------------------------------------------------------------------
REPO = Resource(ecs.ECR_REPOSITORY, {"name": "rampart-production-web", "imageTagMutability": "IMMUTABLE"},
                urn="urn:repo")


def test_pinned_image_from_the_stack_repository_passes():
    assert run("ecs-taskdef-image-pinned-digest", [REPO, taskdef()]) == []


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (IMAGE.split("@")[0] + ":latest", "uses :latest"),
        ("nginx:latest", "uses :latest"),
        ("nginx@sha256:" + "a" * 64, "is not from an ECR registry"),
        (IMAGE.split("@")[0] + ":v1.2.3", "is not pinned by digest"),
        (IMAGE.split("@")[0], "is not pinned by digest"),
        (IMAGE.replace("rampart-production-web", "someone-else"),
         "image repository 'someone-else' is no ECR repository of this stack"),
    ],
)
def test_image_flips_fail(image, expected):
    [message] = run("ecs-taskdef-image-pinned-digest", [REPO, taskdef(container(image=image))])
    assert expected in message


def test_an_image_the_run_did_not_know_is_undeterminable_not_a_violation():
    # A null image is one the program computed from an unset config value or a lookup (issue 16).
    with pytest.raises(Undeterminable, match="image"):
        run("ecs-taskdef-image-pinned-digest", [REPO, taskdef(container(image=None))])


def test_foreign_repository_allowed_by_threshold():
    foreign = taskdef(container(image=IMAGE.replace("rampart-production-web", "shared/base")))
    assert run("ecs-taskdef-image-pinned-digest", [REPO, foreign], allowedRepositories=["shared/*"]) == []


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
    [({"launchType": "EC2"}, "launchType is 'EC2'"), ({"launchType": None}, "launchType is None"),
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
    [(None, "'not set'"), ([{"name": "containerInsights", "value": "disabled"}], "'disabled'")],
)
def test_container_insights_flips_fail(settings, expected):
    [message] = run("ecs-cluster-container-insights", Resource(CLUSTER, {"settings": settings} if settings else {}))
    assert message.startswith(f"settings containerInsights is {expected}: expected")


# analyzer path -----------------------------------------------------------------------------------------------
def hits(diags, policy):
    return [d.message.splitlines()[-1] for d in diags if d.policy == policy]


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

