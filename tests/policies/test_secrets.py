"""Secrets and stored-state rules (catalogue 65-69): compliant resources pass; each weakened field fails with the
rule's message; each rule once through the real pack. No secret value may appear in a finding."""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails import secrets
from guardrails.rule import Context, Resource, findings

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import rule_context, urn

SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
KEY = "aws:kms/key:Key"
RANDOM = "random:index/randomPassword:RandomPassword"
REPOSITORY = "aws:ecr/repository:Repository"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b1f6a3e-1111-2222-3333-444455556666"
RULES = {rule.name: rule for rule in secrets.POLICIES}


KEY_URN = urn(KEY, "key")
SECRET_URN = urn(SECRET, "api-token")
SECRET_PROPS: dict[str, Any] = {
    "name": "shop/api-token",
    "description": "Token the web service presents to the payment provider",
    "kmsKeyId": KEY_ARN,
    "recoveryWindowInDays": 30.0,
}


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def messages(rule_name: str, type_token: str, props: dict[str, Any], protect: bool = True, **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.check is not None
    resource = Resource(type=type_token, props=props, urn=urn(type_token, "x"), name="x", protect=protect)
    return [f.message for f in findings(rule.check(resource, context(rule_name, **config)), resource.urn)]


def stack_messages(rule_name: str, resources: list[Resource], **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.stack_check is not None
    return [f.message for f in rule.stack_check(resources, context(rule_name, **config))]


def key() -> Resource:
    return Resource(type=KEY, props={"enableKeyRotation": True}, urn=KEY_URN, name="key")


def secret(props: dict[str, Any] | None = None, key_dependency: bool = True) -> Resource:
    deps = {"kmsKeyId": (KEY_URN,)} if key_dependency else {}
    return Resource(type=SECRET, props=props if props is not None else SECRET_PROPS, urn=SECRET_URN,
                    name="api-token", property_dependencies=deps, dependencies=tuple(deps.get("kmsKeyId", ())))


def rotation(rules: dict[str, Any] | None = None, linked: bool = True, **props: Any) -> Resource:
    return Resource(
        type=ROTATION,
        urn=urn(ROTATION, "api-token-rotation"),
        name="api-token-rotation",
        props={"secretId": "arn:aws:secretsmanager:eu-west-1:1:secret:x", "rotationLambdaArn": "arn:aws:lambda:x",
               "rotationRules": rules if rules is not None else {"automaticallyAfterDays": 30.0}, **props},
        property_dependencies={"secretId": (SECRET_URN,)} if linked else {},
    )


# --- secret-cmk -----------------------------------------------------------------------------------------------------


def test_secret_with_stack_key_passes():
    assert stack_messages("secret-cmk", [key(), secret()]) == []


@pytest.mark.parametrize(
    ("kms_key_id", "key_dependency", "expected"),
    [
        (None, False, "kmsKeyId is not set, so the AWS-managed key is used; expected this stack's KMS key"),
        ("alias/aws/secretsmanager", False, "kmsKeyId is the AWS-managed key alias/aws/secretsmanager"),
        (KEY_ARN, False, "kmsKeyId does not reference a KMS key of this stack; expected the stack CMK's arn"),
    ],
)
def test_secret_without_stack_key_fails(kms_key_id, key_dependency, expected):
    props = {k: v for k, v in {**SECRET_PROPS, "kmsKeyId": kms_key_id}.items() if v is not None}
    [message] = stack_messages("secret-cmk", [key(), secret(props, key_dependency)])
    assert message.startswith(expected)


# --- secret-rotation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rules",
    [{"automaticallyAfterDays": 90.0}, {"scheduleExpression": "rate(30 days)"},
     {"scheduleExpression": "rate(12 hours)"}, {"scheduleExpression": "cron(0 4 1 * ? *)"}],
)
def test_rotating_secret_passes(rules):
    assert stack_messages("secret-rotation", [secret(), rotation(rules)]) == []


def test_rotation_linked_by_name_passes():
    by_name = rotation(linked=False, secretId="shop/api-token")
    assert stack_messages("secret-rotation", [secret(), by_name]) == []


def test_secret_without_rotation_fails():
    [message] = stack_messages("secret-rotation", [secret(), rotation(linked=False)])
    assert message.startswith("secret api-token has no SecretRotation; expected rotation at most every 90 days")


@pytest.mark.parametrize(
    ("rules", "extra", "expected"),
    [
        ({"automaticallyAfterDays": 120.0}, {}, "rotates every 120 days, expected at most 90"),
        ({"scheduleExpression": "rate(180 days)"}, {}, "rotates every 180 days, expected at most 90"),
        ({"scheduleExpression": "cron(0 4 1 1 ? *)"}, {}, "rotationRules has no automaticallyAfterDays or a readable"),
        ({}, {}, "rotationRules has no automaticallyAfterDays"),
        ({"automaticallyAfterDays": 30.0}, {"rotationEnabled": False}, "rotationEnabled is false, expected true"),
    ],
)
def test_weak_rotation_fails(rules, extra, expected):
    [message] = stack_messages("secret-rotation", [secret(), rotation(rules, **extra)])
    assert message.startswith("SecretRotation api-token-rotation: ") and expected in message


def test_rotation_bound_is_configurable():
    resources = [secret(), rotation({"automaticallyAfterDays": 60.0})]
    assert stack_messages("secret-rotation", resources) == []
    assert stack_messages("secret-rotation", resources, maxRotationDays=30) != []


# --- secret-value-not-literal ---------------------------------------------------------------------------------------

STRONG = "Zq7#pW2vLm9!xR4tB8nK"


def version(field: str, value: Any, generated: bool = False) -> Resource:
    deps = {field: (urn(RANDOM, "pw"),)} if generated else {}
    return Resource(type=VERSION, urn=urn(VERSION, "v"), name="v", props={"secretId": "x", field: value},
                    property_dependencies=deps)


@pytest.mark.parametrize(
    "resource",
    [
        version("secretString", STRONG),
        version("secretString", json.dumps({"username": "app_user_orders", "password": STRONG})),
        version("secretString", "changeme", generated=True),
        Resource(type=VERSION, urn=urn(VERSION, "v"), props={"secretId": "x"}),
    ],
)
def test_config_or_generated_values_pass(resource):
    assert stack_messages("secret-value-not-literal", [resource]) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("secretString", "changeme"),
        ("secretString", "hunter2"),
        ("secretString", "aaaaaaaaaaaaaaaaaaaa"),
        ("secretString", json.dumps({"username": "app", "password": "passw0rd"})),
        ("secretBinary", "c2hvcnQ="),
        ("secretStringWo", "TODO"),
    ],
)
def test_literal_values_fail_without_echoing_them(field, value):
    [message] = stack_messages("secret-value-not-literal", [version(field, value)])
    assert message.startswith(f"{field} looks like a literal typed into the program")
    assert value not in message and "passw0rd" not in message


# --- stateful-resource-protection -----------------------------------------------------------------------------------

PROTECT_MESSAGE = ("resource option protect is not set; expected protect=True so a stray `pulumi destroy` or replace "
                   "cannot delete the data")


@pytest.mark.parametrize(
    ("type_token", "props"),
    [(INSTANCE, {"engine": "postgres"}), (CLUSTER, {"engine": "aurora-postgresql"}), (KEY, {}),
     (KEY, {"deletionWindowInDays": 30.0}), (SECRET, SECRET_PROPS), (SECRET, {}), (REPOSITORY, {"forceDelete": False})],
)
def test_protected_stateful_resources_pass(type_token, props):
    assert messages("stateful-resource-protection", type_token, props) == []


@pytest.mark.parametrize("type_token", secrets.STATEFUL_TYPES)
def test_unprotected_stateful_resources_fail(type_token):
    assert messages("stateful-resource-protection", type_token, {}, protect=False) == [PROTECT_MESSAGE]


@pytest.mark.parametrize(
    ("type_token", "props", "expected"),
    [
        (KEY, {"deletionWindowInDays": 7.0}, "deletionWindowInDays is 7, expected at least 30"),
        (SECRET, {"recoveryWindowInDays": 0.0}, "recoveryWindowInDays is 0, expected at least 7"),
        (REPOSITORY, {"forceDelete": True}, "forceDelete is true, which deletes every image with the repository; "
                                            "expected false"),
    ],
)
def test_short_recovery_windows_fail(type_token, props, expected):
    assert messages("stateful-resource-protection", type_token, props) == [expected]


def test_recovery_windows_are_configurable():
    assert messages("stateful-resource-protection", SECRET, {"recoveryWindowInDays": 7.0},
                    minSecretRecoveryWindowDays=14) == ["recoveryWindowInDays is 7, expected at least 14"]


# --- descriptions ---------------------------------------------------------------------------------------------------

DESCRIBED_SG = {"description": "Web service tasks", "vpcId": "vpc-1",
                "ingress": [{"description": "From the load balancer", "fromPort": 8080.0, "toPort": 8080.0,
                             "protocol": "tcp", "securityGroups": ["sg-alb"]}],
                "egress": [{"description": "To the database", "fromPort": 5432.0, "toPort": 5432.0, "protocol": "tcp",
                            "securityGroups": ["sg-db"]}]}


@pytest.mark.parametrize("type_token", [SG, SG_RULE, INGRESS, EGRESS, KEY, SECRET])
def test_described_resources_pass(type_token):
    props = DESCRIBED_SG if type_token == SG else {"description": "What it is for"}
    assert messages("descriptions", type_token, props) == []


@pytest.mark.parametrize("description", [None, "", "  ", "Managed by Pulumi"])
@pytest.mark.parametrize("type_token", [SG, SG_RULE, INGRESS, EGRESS, KEY, SECRET])
def test_missing_description_fails(description, type_token):
    props = {} if description is None else {"description": description}
    assert messages("descriptions", type_token, props) == [
        "description is not set (or is the provider default); expected what the resource is for"
    ]


def test_inline_sg_rules_need_descriptions():
    props = {**DESCRIBED_SG, "egress": [{"fromPort": 0.0, "toPort": 0.0, "protocol": "-1"}]}
    assert messages("descriptions", SG, props) == ["egress[0].description is not set; expected why the rule exists"]


# --- through the real pack ------------------------------------------------------------------------------------------


def hits(diagnostics, rule):
    return [d for d in diagnostics if d.policy == rule]


def test_resource_rules_through_the_pack(policy_pack):
    good = analyze(policy_pack, SECRET, SECRET_PROPS, protect=True)
    assert hits(good, "stateful-resource-protection") == [] and hits(good, "descriptions") == []
    bad = analyze(policy_pack, SECRET, {"recoveryWindowInDays": 0.0}, protect=False)
    protect, window = hits(bad, "stateful-resource-protection")
    [description] = hits(bad, "descriptions")
    assert protect.enforcement == "mandatory" and description.enforcement == "advisory"
    assert protect.message.endswith(PROTECT_MESSAGE)
    assert window.message.endswith("\nrecoveryWindowInDays is 0, expected at least 7")


def test_stack_rules_through_the_pack(policy_pack):
    key_reg = registration(KEY, {"enableKeyRotation": True}, name="key", urn=KEY_URN)
    secret_reg = registration(SECRET, SECRET_PROPS, name="api-token", urn=SECRET_URN, dependencies=[KEY_URN],
                              property_dependencies={"kmsKeyId": [KEY_URN]})
    rotation_reg = registration(ROTATION, rotation().props, name="rot",
                                property_dependencies={"secretId": [SECRET_URN]})
    version_reg = registration(VERSION, {"secretId": "x", "secretString": STRONG}, name="v")
    good = analyze_stack(policy_pack, [key_reg, secret_reg, rotation_reg, version_reg])
    for rule in ("secret-cmk", "secret-rotation", "secret-value-not-literal"):
        assert hits(good, rule) == []

    plain_secret = registration(SECRET, {**SECRET_PROPS, "kmsKeyId": None}, name="api-token", urn=SECRET_URN)
    literal = registration(VERSION, {"secretId": "x", "secretString": "changeme"}, name="v")
    bad = analyze_stack(policy_pack, [key_reg, plain_secret, literal])
    [cmk] = hits(bad, "secret-cmk")
    [rotate] = hits(bad, "secret-rotation")
    [value] = hits(bad, "secret-value-not-literal")
    assert cmk.urn == SECRET_URN and rotate.urn == SECRET_URN and value.enforcement == "advisory"
    assert "changeme" not in value.message
