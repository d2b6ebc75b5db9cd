"""IAM policy rules: how documents are read, no administrator access, no wildcards without an exemption, the
AWS-managed policy allowlist, and no privilege escalation. Compliant statements pass; each weakened statement fails
with the rule's message."""

from __future__ import annotations

import pytest
from guardrails import iam

from tests.policies.iam_support import (
    ACCOUNT,
    ATTACHMENT,
    ECS_TRUST,
    POLICY,
    ROLE,
    ROLE_POLICY,
    TASK_ROLE,
    USER_POLICY,
    doc,
    messages,
    role_policy,
    statement,
)

# --- policy document parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
        {"Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]},
        {"version": "2012-10-17", "statement": [{"effect": "Allow", "action": "*", "resource": "*"}]},
    ],
)
def test_documents_parse_as_string_or_object_with_single_or_listed_statements(document):
    assert len(messages("iam-no-admin", POLICY, {"policy": document})) == 1


def test_unparsable_and_missing_documents_are_not_read():
    assert iam.parse_document("{nope") is None and iam.statements(None) == []


# --- iam-no-admin -----------------------------------------------------------------------------------------------------


def test_scoped_policy_is_not_admin():
    assert messages("iam-no-admin", ROLE_POLICY, role_policy(statement())) == []
    assert messages("iam-no-admin", ROLE_POLICY, role_policy(statement(Action="*", Effect="Deny", Resource="*"))) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"Action": "*", "Resource": "*"}, "Action \"*\" on Resource \"*\" grants full administrator access"),
        ({"Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}, "Action \"*\" on Resource \"*\""),
        ({"Action": None, "NotAction": "iam:*", "Resource": "*"}, "NotAction on Resource \"*\" grants every other"),
    ],
)
@pytest.mark.parametrize("type_token", [ROLE_POLICY, POLICY, USER_POLICY])
def test_admin_statement_fails(fields, expected, type_token):
    [message] = messages("iam-no-admin", type_token, role_policy(statement(**fields)))
    assert message.startswith(f"policy statement 0 (S): {expected}")


def test_admin_in_role_inline_policy_fails():
    props = {"assumeRolePolicy": doc(ECS_TRUST),
             "inlinePolicies": [{"name": "ok", "policy": doc(statement())},
                                {"name": "admin", "policy": doc(statement(Action="*", Resource="*"))}]}
    [message] = messages("iam-no-admin", ROLE, props)
    assert message.startswith("inlinePolicies[1].policy statement 0 (S): Action \"*\"")


@pytest.mark.parametrize(
    ("type_token", "props", "field"),
    [
        (ATTACHMENT, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, "policyArn"),
        (ROLE, {"assumeRolePolicy": doc(ECS_TRUST),
                "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}, "managedPolicyArns"),
    ],
)
def test_administrator_access_attachment_fails(type_token, props, field):
    # Judged by what AdministratorAccess grants (guardrails.managed_policies), not by its name.
    assert messages("iam-no-admin", type_token, props) == [
        f"{field} AdministratorAccess (AWS-managed, as published) statement 0: Action \"*\" on Resource \"*\" "
        "grants full administrator access; expected named actions"
    ]


# --- iam-no-wildcards-without-exemption -------------------------------------------------------------------------------


def test_named_actions_and_resources_pass():
    unscopable = statement(Action=["ecr:GetAuthorizationToken", "ec2:DescribeSubnets"], Resource="*")
    assert messages("iam-no-wildcards-without-exemption", ROLE_POLICY, role_policy(statement(), unscopable)) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"Action": "s3:*"}, "policy statement 0 (S): Action s3:* is a service-wide wildcard; expected named actions"),
        ({"Resource": "*"}, "policy statement 0 (S): Resource \"*\" for ecs:UpdateService, which support "
                            "resource-level permissions; expected the ARNs of this stack's resources"),
        ({"Action": None, "NotAction": "iam:*"},
         "policy statement 0 (S): NotAction allows every action not listed; expected Action with named actions"),
    ],
)
def test_wildcards_fail(fields, expected):
    assert messages("iam-no-wildcards-without-exemption", ROLE_POLICY, role_policy(statement(**fields))) == [expected]


def test_unscopable_actions_are_configurable():
    props = role_policy(statement(Resource="*"))
    assert messages("iam-no-wildcards-without-exemption", ROLE_POLICY, props) != []
    assert messages("iam-no-wildcards-without-exemption", ROLE_POLICY, props,
                    unscopableActions=["ecs:UpdateService"]) == []


@pytest.mark.parametrize(("resource", "every"), [
    ("arn:aws:logs:*:*:*", True), ("arn:aws:s3:::*", True), ("arn:aws:s3:::*/*", True),
    ("arn:aws:dynamodb:*:*:table/*", True), ("arn:aws:logs:eu-west-1:1:log-group:*:log-stream:*", True),
    ("arn:aws:s3:::orders/*", False), ("arn:aws:dynamodb:*:*:table/orders/index/*", False),
    ("arn:aws:logs:eu-west-1:1:log-group:/app/web:*", False), ("arn:aws:iam::1:role/app-*", False),
])
def test_a_resource_arn_is_judged_by_what_it_matches(resource, every):
    assert iam.is_wildcard_resource(resource) is every


def test_a_typed_wildcard_narrowed_by_tags_or_only_listed_is_scoped():
    snapshots = f"arn:aws:rds:eu-west-1:{ACCOUNT}:snapshot:*"
    tagged = statement(Action=["rds:DeleteDBSnapshot"], Resource=snapshots,
                       Condition={"StringEquals": {"aws:ResourceTag/rampart:owner": "deploy"}})
    untagged = statement(Action=["rds:DeleteDBSnapshot"], Resource=snapshots)
    listing = statement(Action=["rds:DescribeDBSnapshots"], Resource=snapshots)
    assert messages("iam-no-wildcards-without-exemption", ROLE_POLICY, role_policy(tagged, listing)) == []
    [message] = messages("iam-no-wildcards-without-exemption", ROLE_POLICY, role_policy(untagged))
    assert f"Resource {snapshots} (every rds snapshot) for rds:DeleteDBSnapshot" in message
    # On "*", listing is judged as before.
    assert messages("iam-no-wildcards-without-exemption", ROLE_POLICY,
                    role_policy(statement(Action=["rds:DescribeDBSnapshots"], Resource="*"))) != []


# --- iam-managed-policy-allowlist -------------------------------------------------------------------------------------


def test_allowlisted_and_customer_managed_policies_pass():
    for arn in ("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                f"arn:aws:iam::{ACCOUNT}:policy/shop-deploy"):
        assert messages("iam-managed-policy-allowlist", ATTACHMENT, {"role": "r", "policyArn": arn}) == []


def test_other_aws_managed_policy_fails():
    [message] = messages("iam-managed-policy-allowlist", ATTACHMENT,
                         {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"})
    assert message.startswith("policyArn: AWS-managed policy AmazonS3FullAccess is not in the allowlist")


# --- iam-no-privilege-escalation --------------------------------------------------------------------------------------


def test_pass_role_scoped_with_condition_passes():
    passing = statement(Action="iam:PassRole", Resource=[TASK_ROLE],
                        Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
    read = statement(Action="secretsmanager:GetSecretValue",
                     Resource=f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:shop/db-AbCdEf")
    assert messages("iam-no-privilege-escalation", ROLE_POLICY, role_policy(passing, read)) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"Action": "iam:PassRole", "Resource": "*"}, "iam:PassRole on * without an iam:PassedToService condition"),
        ({"Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
         f"iam:PassRole on arn:aws:iam::{ACCOUNT}:role/* without an iam:PassedToService condition"),
        ({"Action": "iam:PutRolePolicy", "Resource": "*"}, "iam:PutRolePolicy on * lets the holder rewrite"),
        ({"Action": "iam:CreatePolicyVersion", "Resource": "*"}, "iam:CreatePolicyVersion on * lets the holder"),
        ({"Action": "iam:CreateAccessKey", "Resource": "*"}, "iam:CreateAccessKey on * exposes credentials"),
        ({"Action": "secretsmanager:GetSecretValue", "Resource": "*"}, "secretsmanager:GetSecretValue on * exposes"),
        ({"Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/*"}, "sts:AssumeRole on arn:aws:iam::*:role/*"),
    ],
)
def test_escalation_fails(fields, expected):
    found = messages("iam-no-privilege-escalation", ROLE_POLICY, role_policy(statement(**fields)))
    assert len(found) == 1 and found[0].startswith(f"policy statement 0 (S): {expected}")


def test_iam_star_reports_every_escalation_path():
    found = messages("iam-no-privilege-escalation", ROLE_POLICY, role_policy(statement(Action="iam:*", Resource="*")))
    assert len(found) == 3 and "iam:PassRole" in found[0] and "iam:AttachRolePolicy" in found[1]
