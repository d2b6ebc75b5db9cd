"""The evaluator the IAM contract trusts: each IAM feature the roles rely on, proven on a policy small enough to
read, both ways (what it allows and what it must refuse)."""

from __future__ import annotations

import pytest

from tests.support.iam import Request, evaluate, granted_actions, unused_actions, without_action

ACCOUNT = "123456789012"
REGION = "us-east-1"
ECS = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
RDS = f"arn:aws:rds:{REGION}:{ACCOUNT}"
CLUSTER = f"{ECS}:cluster/shop"
SNAPSHOT = f"{RDS}:snapshot:rampart-shop-db-20260101-000000"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, condition=None, sid="Grant") -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def decide(policies: list[dict], *requests: Request) -> list[str]:
    return [d.decision for d in evaluate(policies, list(requests))]


def test_resource_arn_scoping_and_wildcards():
    policies = [policy(allow("ecs:DescribeServices", f"{ECS}:service/shop/web"),
                       allow("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/web:*", sid="L"))]
    assert decide(
        policies,
        Request("ecs:DescribeServices", f"{ECS}:service/shop/web"),
        Request("ecs:DescribeServices", f"{ECS}:service/shop/api"),
        Request("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/web:log-stream:web/app/1"),
        Request("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/api:log-stream:api/app/1"),
    ) == ["Allowed", "ImplicitlyDenied", "Allowed", "ImplicitlyDenied"]


def test_the_deciding_statement_is_named():
    [decision] = evaluate([policy(allow("ecs:DescribeServices", "*", sid="Read"))],
                          [Request("ecs:DescribeServices", f"{ECS}:service/shop/web")])
    assert decision.allowed and decision.statements == ("policy-1#Read",)


def test_request_tag_condition():
    tagged = {"StringEquals": {"aws:RequestTag/rampart:managed-by": "rampart-snapshot"}}
    policies = [policy(allow("rds:AddTagsToResource", f"{RDS}:snapshot:*", tagged))]
    assert decide(
        policies,
        Request("rds:AddTagsToResource", SNAPSHOT, {"aws:RequestTag/rampart:managed-by": "rampart-snapshot"}),
        Request("rds:AddTagsToResource", SNAPSHOT, {"aws:RequestTag/rampart:managed-by": "someone-else"}),
        Request("rds:AddTagsToResource", SNAPSHOT),
    ) == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]


def test_resource_tag_condition():
    ours = {"StringEquals": {"aws:ResourceTag/rampart:managed-by": "rampart-snapshot"}}
    policies = [policy(allow("rds:DeleteDBSnapshot", f"{RDS}:snapshot:*", ours))]
    assert decide(
        policies,
        Request("rds:DeleteDBSnapshot", SNAPSHOT, {"aws:ResourceTag/rampart:managed-by": "rampart-snapshot"}),
        Request("rds:DeleteDBSnapshot", SNAPSHOT),  # an automated or foreign snapshot: no tag
    ) == ["Allowed", "ImplicitlyDenied"]


def test_arn_equals_on_the_ecs_cluster():
    policies = [policy(allow("ecs:RunTask", f"{ECS}:task-definition/shop-web:*",
                             {"ArnEquals": {"ecs:cluster": CLUSTER}}))]
    revision = f"{ECS}:task-definition/shop-web:7"
    assert decide(
        policies,
        Request("ecs:RunTask", revision, {"ecs:cluster": CLUSTER}),
        Request("ecs:RunTask", revision, {"ecs:cluster": f"{ECS}:cluster/other"}),
        Request("ecs:RunTask", f"{ECS}:task-definition/other:1", {"ecs:cluster": CLUSTER}),
    ) == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]


def test_passed_to_service():
    role = f"arn:aws:iam::{ACCOUNT}:role/shop-web-task"
    to_ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    policies = [policy(allow("iam:PassRole", role, {"StringEquals": to_ecs}))]
    assert decide(
        policies,
        Request("iam:PassRole", role, to_ecs),
        Request("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}),
        Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", to_ecs),
    ) == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]


def test_explicit_deny_beats_allow():
    policies = [policy(allow("rds:*", "*")),
                policy({"Sid": "NoDelete", "Effect": "Deny", "Action": "rds:DeleteDBSnapshot", "Resource": "*"})]
    decisions = evaluate(policies, [Request("rds:DeleteDBSnapshot", SNAPSHOT),
                                    Request("rds:DescribeDBSnapshots", SNAPSHOT)])
    assert [d.decision for d in decisions] == ["ExplicitlyDenied", "Allowed"]
    assert decisions[0].statements == ("policy-2#NoDelete",)


def test_not_action_and_not_resource():
    policies = [policy({"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                       {"Sid": "NotThatBucket", "Effect": "Deny", "Action": "s3:GetObject",
                        "NotResource": "arn:aws:s3:::public/*"})]
    assert decide(
        policies,
        Request("ecs:DescribeServices", f"{ECS}:service/shop/web"),
        Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/x", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        Request("s3:GetObject", "arn:aws:s3:::public/index.html"),
        Request("s3:GetObject", "arn:aws:s3:::private/secret.txt"),
    ) == ["Allowed", "ImplicitlyDenied", "Allowed", "ExplicitlyDenied"]


def test_action_wildcards():
    policies = [policy(allow("ec2:Describe*", "*"))]
    assert decide(policies, Request("ec2:DescribeSubnets", "*"), Request("ec2:DescribeVpcs", "*"),
                  Request("ec2:CreateVpc", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*")) == \
        ["Allowed", "Allowed", "ImplicitlyDenied"]


@pytest.mark.parametrize(("action", "resource"), [
    ("ecs:DescribeServicez", f"{ECS}:service/shop/web"),  # a typo in the action
    ("ecs:RunTask", CLUSTER),  # RunTask is authorised on the task definition, never the cluster
])
def test_an_invalid_request_is_an_error_not_a_deny(action, resource):
    [decision] = evaluate([policy(allow("*", "*"))], [Request(action, resource)])
    assert decision.decision == "Error" and decision.error


def test_granted_unused_and_without_action():
    policies = [policy(allow(["ecs:DescribeServices", "ecs:UpdateService"], "*"), allow("ec2:Describe*", "*", sid="E"))]
    assert granted_actions(policies) == ["ec2:Describe*", "ecs:DescribeServices", "ecs:UpdateService"]
    assert unused_actions(policies, [Request("ecs:describeservices", "*"), Request("ec2:DescribeVpcs", "*")]) == [
        "ecs:UpdateService"]
    stripped = without_action(policies, "ecs:DescribeServices")
    assert granted_actions(stripped) == ["ec2:Describe*", "ecs:UpdateService"]
    assert granted_actions(without_action(stripped, "ec2:Describe*")) == ["ecs:UpdateService"]
