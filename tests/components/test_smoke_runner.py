"""SmokeRunner: the curl task the smoke gate runs inside the VPC, hardened and with nothing but its log group."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components.smoke_runner import SMOKE_IMAGE, SmokeRunner, SmokeRunnerArgs
from tests.support.stacks import record_program

COMPONENT = "rampart:index:SmokeRunner"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0d6f1c0f-5e2b-4d55-9a9e-1d2f0c4b8a71"


def args(**overrides) -> SmokeRunnerArgs:
    base = SmokeRunnerArgs(name_prefix="rampart-staging", account_id="123456789012", region="us-east-1",
                           vpc_id="vpc-0123", kms_key_arn=KEY, log_retention_days=90, test_listener_port=8443)
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="module")
def rec():
    return record_program(lambda: SmokeRunner("smoke", args()))


def container(rec) -> dict:
    definitions = rec.one(TASK).plain_inputs()["containerDefinitions"]
    (only,) = json.loads(definitions) if isinstance(definitions, str) else definitions
    return only


def test_children_are_parented_and_named_after_the_component(rec):
    component = rec.one(COMPONENT)
    children = [r for r in rec.registrations if r.urn != component.urn and r.type != "pulumi:pulumi:Stack"]
    assert len(children) >= 7
    for child in children:
        assert child.parent == component.urn and child.name.startswith("smoke-"), child.name


def test_task_definition_is_a_small_fargate_task_of_the_stack_family(rec):
    task = rec.one(TASK).plain_inputs()
    assert task["family"] == "rampart-staging-smoke"
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("256", "512")


def test_container_is_pinned_read_only_non_root_and_logs_to_its_group(rec):
    smoke = container(rec)
    assert smoke["image"] == SMOKE_IMAGE and "@sha256:" in smoke["image"]
    assert smoke["readonlyRootFilesystem"] is True and smoke["privileged"] is False
    assert smoke["user"].split(":")[0] not in ("0", "root")
    assert smoke["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    options = smoke["logConfiguration"]["options"]
    assert smoke["logConfiguration"]["logDriver"] == "awslogs"
    assert options["awslogs-group"] == rec.one(LOG_GROUP).plain_inputs()["name"] == "/ecs/rampart-staging-smoke"
    assert options["awslogs-stream-prefix"] == "smoke" and options["awslogs-region"] == "us-east-1"
    assert "awslogs-create-group" not in options


def test_log_group_is_encrypted_and_bounded(rec):
    group = rec.one(LOG_GROUP).plain_inputs()
    assert group["kmsKeyId"] == KEY and group["retentionInDays"] == 90


def test_execution_role_may_only_write_its_log_group_and_the_task_role_nothing(rec):
    (policy,) = rec.by_type(POLICY)
    document = json.loads(policy.plain_inputs()["policy"])
    (statement,) = document["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"].endswith(":log-stream:*") and statement["Resource"] != "*"
    roles = {r.name: r for r in rec.by_type(ROLE)}
    assert set(roles) == {"smoke-execution-role", "smoke-task-role"}
    assert policy.plain_inputs()["role"] == roles["smoke-execution-role"].id
    task = rec.one(TASK).plain_inputs()
    assert task["executionRoleArn"] != task["taskRoleArn"]
    for role in roles.values():
        trust = json.loads(role.plain_inputs()["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_security_group_admits_nothing_and_goes_out_only_to_the_listener_and_https(rec):
    assert rec.by_type(INGRESS) == []
    ports = sorted((r.plain_inputs()["fromPort"], r.plain_inputs()["toPort"]) for r in rec.by_type(EGRESS))
    assert ports == [(443, 443), (8443, 8443)]
    assert all(r.plain_inputs()["ipProtocol"] == "tcp" and r.plain_inputs().get("description")
               for r in rec.by_type(EGRESS))


def test_fixed_names_are_deleted_before_replacement(rec):
    assert rec.one(LOG_GROUP).delete_before_replace
    assert rec.one(POLICY).delete_before_replace


@pytest.mark.parametrize(("overrides", "field"), [
    ({"image": "curlimages/curl:8.11.1"}, "image"),
    ({"image": "curlimages/curl:latest"}, "image"),
    ({"name_prefix": "Bad Prefix"}, "name_prefix"),
    ({"test_listener_port": 0}, "test_listener_port"),
    ({"test_listener_port": True}, "test_listener_port"),
    ({"log_retention_days": 0}, "log_retention_days"),
])
def test_invalid_args_are_rejected(overrides, field):
    with pytest.raises(ValueError, match=rf"^SmokeRunnerArgs\.{field}: expected"):
        SmokeRunner("smoke", args(**overrides))
