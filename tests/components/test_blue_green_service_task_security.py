"""BlueGreenService on recorded registrations, built from both project stacks' first service: the container's
hardening (read-only root, non-root, secrets by pinned reference, health check, logs), the execution, task and
CodeDeploy roles each holding only what they need, and the image repository (immutable, scanned, encrypted,
protected in production)."""

from __future__ import annotations

import json

from tests.components.blue_green_support import (
    ACCOUNT,
    ATTACHMENT,
    KMS,
    OTHER_SECRET,
    REPO,
    ROLE,
    ROLE_POLICY,
    TASK,
    _service,
    group,
    make_args,
    record,
)


def container(rec) -> dict:
    [definition] = json.loads(rec.one(TASK).plain_inputs()["containerDefinitions"])
    return definition


def policy_of(rec, name: str) -> dict:
    return json.loads(rec.one(ROLE_POLICY, name).plain_inputs()["policy"])


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
