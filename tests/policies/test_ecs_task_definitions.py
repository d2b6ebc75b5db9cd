"""ECS task definition rules (1-7): host privileges, read-only root filesystem, non-root user, secrets by
reference only, logging to a log group of the stack, separate task and execution roles, and images pinned by
digest from a repository of the stack. A compliant baseline passes; each flipped field fails with the rule's
message."""

from __future__ import annotations

import pytest
from guardrails import ecs
from guardrails.rule import Resource, Undeterminable

from tests.policies.ecs_support import IMAGE, TASKDEF, container, run, taskdef, taskdef_props


# 1 -----------------------------------------------------------------------------------------------------------
def test_host_privileges_baseline_passes():
    assert run("ecs-taskdef-no-host-privileges", taskdef()) == []
    assert run("ecs-taskdef-no-host-privileges", taskdef(pidMode="task", ipcMode="none")) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (taskdef(networkMode="bridge"), "networkMode is 'bridge': expected 'awsvpc'"),
        (taskdef(networkMode="host"), "networkMode is 'host': expected 'awsvpc'"),
        (taskdef(networkMode=None), "networkMode is not set: expected 'awsvpc'"),
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


@pytest.mark.parametrize(("value", "shown"), [(False, "False"), (None, "not set"), ("true", "'true'")])
def test_readonly_rootfs_flips_fail(value, shown):
    [message] = run("ecs-taskdef-readonly-rootfs",
                    taskdef(container(), container(name="sidecar", readonlyRootFilesystem=value)))
    assert message == f"container 'sidecar' readonlyRootFilesystem is {shown}: expected true"


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
