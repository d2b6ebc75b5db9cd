"""Lambda rules: a function with a clean environment, a supported runtime and a scoped role draws nothing
through the real pack; a credential in its environment, a deprecated runtime or an admin role draws its rule.
Messages never carry the variable's value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails import lambda_
from guardrails.rule import Resource

from tests.support.pack import registration
from tests.support.rules import resource_messages, stack_findings, urn
from tests.support.service_pack import flip, hits, run

RULES = {rule.name: rule for rule in lambda_.POLICIES}
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_URN = urn(ROLE, "fn-role")
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                            "Principal": {"Service": "lambda.amazonaws.com"}}]})
SCOPED = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                                             "Resource": "arn:aws:dynamodb:eu-west-1:1:table/t"}]})
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
SECRET_VALUE = "postgres://app:hunter2hunter2@db.internal:5432/app"

FUNCTION: dict[str, Any] = {
    "runtime": "python3.13", "handler": "app.handler", "role": "arn:aws:iam::1:role/fn-role",
    "environment": {"variables": {"TABLE_NAME": "orders", "DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:x"}},
}
BASELINE = [
    registration(ROLE, {"assumeRolePolicy": TRUST}, name="fn-role"),
    registration(ROLE_POLICY, {"role": "fn-role", "policy": SCOPED}, name="fn-policy",
                 property_dependencies={"role": [ROLE_URN]}),
    registration(ATTACHMENT, {"role": "fn-role", "policyArn":
                              "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
                 name="fn-basic", property_dependencies={"role": [ROLE_URN]}),
    registration(lambda_.FUNCTION, FUNCTION, name="fn", property_dependencies={"role": [ROLE_URN]}),
]

CASES = [
    ("lambda-no-secrets-in-environment", "fn",
     {"environment": {"variables": {"TABLE_NAME": "orders", "JWT_SIGNING_KEY": "s3cr3t-value"}}},
     "environment.variables JWT_SIGNING_KEY looks like a credential"),
    ("lambda-no-secrets-in-environment", "fn",
     {"environment": {"variables": {"DATABASE": SECRET_VALUE}}},
     "environment.variables DATABASE holds a credential-shaped value"),
    ("lambda-supported-runtime", "fn", {"runtime": "python3.9"}, "runtime python3.9 is deprecated"),
    ("lambda-role-not-admin", "fn-policy", {"policy": ADMIN}, "execution role fn-role: fn-policy policy statement 0"),
    ("lambda-role-not-admin", "fn-basic", {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
     "execution role fn-role: fn-basic"),
]


def test_clean_function_draws_no_lambda_finding(policy_pack):
    assert hits(run(policy_pack, BASELINE), list(RULES)) == []


@pytest.mark.parametrize(("rule", "name", "change", "fragment"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_one_flipped_field_draws_its_rule(policy_pack, rule, name, change, fragment):
    changed = flip(BASELINE, name, change)
    [production] = hits(run(policy_pack, changed, "production"), list(RULES))
    assert production.policy == rule and fragment in production.message
    if rule == "lambda-role-not-admin":
        assert "administrator access" in production.message
    assert production.urn.endswith("::fn") and production.enforcement == "mandatory"
    assert "hunter2" not in production.message and "s3cr3t" not in production.message
    [staging] = hits(run(policy_pack, changed, "staging"), rule)
    assert staging.enforcement == ("mandatory" if RULES[rule].enforcement == "M" else "advisory")


def test_container_image_functions_have_no_runtime_to_judge():
    image = {"packageType": "Image", "imageUri": "1.dkr.ecr.eu-west-1.amazonaws.com/x@sha256:ab"}
    assert resource_messages(RULES["lambda-supported-runtime"], lambda_.FUNCTION, image) == []


def test_deprecated_runtime_list_is_configurable_per_stack():
    rule = RULES["lambda-supported-runtime"]
    assert resource_messages(rule, lambda_.FUNCTION, {"runtime": "nodejs18.x"}) != []
    assert resource_messages(rule, lambda_.FUNCTION, {"runtime": "nodejs22.x"}) == []
    assert resource_messages(rule, lambda_.FUNCTION, {"runtime": "nodejs22.x"},
                             deprecatedRuntimes=["nodejs22.x"]) != []


@pytest.mark.parametrize("name", ["TABLE_NAME", "PUBLIC_KEY", "SIGNING_KEY_ARN", "LOG_LEVEL", "CACHE_KEY"])
def test_reference_and_plain_names_pass(name):
    assert resource_messages(RULES["lambda-no-secrets-in-environment"], lambda_.FUNCTION,
                             {"environment": {"variables": {name: "value"}}}) == []


def test_role_written_as_a_literal_arn_is_linked_by_name():
    role = Resource(type=ROLE, props={"name": "fn-role", "assumeRolePolicy": TRUST,
                                      "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
                    urn=ROLE_URN, name="fn-role")

    def function(arn: str) -> Resource:
        return Resource(type=lambda_.FUNCTION, props={**FUNCTION, "role": arn}, urn=urn(lambda_.FUNCTION, "fn"),
                        name="fn")
    rule = RULES["lambda-role-not-admin"]
    assert len(stack_findings(rule, [role, function("arn:aws:iam::111111111111:role/fn-role")])) == 1
    assert stack_findings(rule, [role, function("arn:aws:iam::111111111111:role/other-role")]) == []
