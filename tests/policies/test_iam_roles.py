"""IAM role rules: the deploy role scoped to what a deployment needs, GitHub OIDC trust pinned to a repository and
an environment, no wildcard principal in a trust policy, and no IAM users or access keys. Compliant roles pass; each
weakened statement fails with the rule's message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from guardrails import iam
from guardrails.rule import Context, Resource

from tests.policies.iam_support import (
    ACCOUNT,
    ATTACHMENT,
    AUD,
    DEPLOY_STATEMENTS,
    DEPLOY_URN,
    ECS_TRUST,
    OIDC,
    PASS_ROLE,
    ROLE,
    ROLE_POLICY,
    RULES,
    SUB,
    SUB_KEY,
    TASK_ROLE,
    deploy_stack,
    doc,
    github_trust,
    messages,
    statement,
)
from tests.support.rules import rule_context, urn


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


# --- iam-deploy-role-scoped -------------------------------------------------------------------------------------------


def stack_messages(rule_name: str, resources: list[Resource], **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.stack_check is not None
    return [f.message for f in rule.stack_check(resources, context(rule_name, **config))]


def test_scoped_deploy_role_passes_and_other_roles_are_not_deploy_roles():
    assert stack_messages("iam-deploy-role-scoped", deploy_stack()) == []


def test_pull_request_preview_role_is_not_a_deploy_role():
    preview = github_trust(StringEquals={AUD: "sts.amazonaws.com",
                                         SUB_KEY: ["repo:example-org/shop:pull_request",
                                                   "repo:example-org@1/shop@2:pull_request"]})
    resources = deploy_stack({"assumeRolePolicy": doc(preview), "maxSessionDuration": 43200.0})
    assert stack_messages("iam-deploy-role-scoped", resources) == []
    mixed = github_trust(StringEquals={AUD: "sts.amazonaws.com",
                                       SUB_KEY: ["repo:example-org/shop:pull_request", SUB]})
    resources = deploy_stack({"assumeRolePolicy": doc(mixed), "maxSessionDuration": 43200.0})
    assert len(stack_messages("iam-deploy-role-scoped", resources)) == 1


class UnknownRole(Mapping[str, Any]):
    """Props whose `role` is unknown at preview: reading it would make the stack rule undeterminable."""

    def __init__(self, props: dict[str, Any]) -> None:
        self._props = props

    def __getitem__(self, key: str) -> Any:
        if key == "role":
            raise AssertionError("role read although it depends on another resource")
        return self._props[key]

    def __iter__(self):
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)


def test_policies_of_other_roles_are_matched_by_dependency_without_reading_role():
    other_role = urn(ROLE, "task")
    foreign = Resource(type=ROLE_POLICY, urn=urn(ROLE_POLICY, "task-policy"), name="task-policy",
                       props=UnknownRole({"role": None, "policy": doc(statement(Action="s3:*", Resource="*"))}),
                       property_dependencies={"role": (other_role,)})
    assert stack_messages("iam-deploy-role-scoped", deploy_stack(extra=(foreign,))) == []


def test_long_sessions_fail():
    assert stack_messages("iam-deploy-role-scoped", deploy_stack({"maxSessionDuration": 43200.0})) == [
        "deploy role deploy: maxSessionDuration is 43200s, expected at most 3600s"
    ]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (statement(Sid="Pass", Action="iam:PassRole", Resource=[TASK_ROLE]),
         "iam:PassRole condition iam:PassedToService is not set, expected StringEquals ecs-tasks.amazonaws.com"),
        (statement(Sid="Pass", Action="iam:PassRole", Resource=[TASK_ROLE],
                   Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
         "iam:PassedToService is ['lambda.amazonaws.com']"),
        ({**PASS_ROLE, "Sid": "Pass", "Resource": f"arn:aws:iam::{ACCOUNT}:role/shop-*"},
         f"iam:PassRole on arn:aws:iam::{ACCOUNT}:role/shop-*; expected the task and execution role ARNs"),
        (statement(Sid="Pass", Resource="*"), "Resource \"*\" for ecs:UpdateService"),
        (statement(Sid="Pass", Action="ecs:*"), "Action ecs:* is a service-wide wildcard"),
    ],
)
def test_unscoped_deploy_policy_fails(bad, expected):
    [message] = stack_messages("iam-deploy-role-scoped", deploy_stack(None, *DEPLOY_STATEMENTS, bad))
    assert message.startswith("deploy role deploy: RolePolicy deploy-policy.policy statement 3 (Pass): ")
    assert expected in message


def test_aws_managed_policy_on_deploy_role_fails():
    attachment = Resource(type=ATTACHMENT, urn=urn(ATTACHMENT, "att"), name="att",
                          props={"role": "shop-deploy", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"},
                          property_dependencies={"role": (DEPLOY_URN,)})
    [message] = stack_messages("iam-deploy-role-scoped", deploy_stack(extra=(attachment,)))
    assert message.startswith("deploy role deploy: RolePolicyAttachment att.policyArn attaches AWS-managed "
                              "PowerUserAccess")


def test_inline_policy_of_deploy_role_is_judged():
    inline = {"inlinePolicies": [{"name": "x", "policy": doc(statement(Sid="Pass", Action="ecs:*"))}]}
    [message] = stack_messages("iam-deploy-role-scoped", deploy_stack(inline))
    assert "inlinePolicies[0].policy statement 0 (Pass): Action ecs:* is a service-wide wildcard" in message


# --- iam-github-oidc-trust --------------------------------------------------------------------------------------------


def test_pinned_github_trust_passes():
    assert messages("iam-github-oidc-trust", ROLE, {"assumeRolePolicy": doc(github_trust())}) == []
    pr = github_trust(StringEquals={"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                    "token.actions.githubusercontent.com:sub": "repo:example-org/shop:pull_request"})
    assert messages("iam-github-oidc-trust", ROLE, {"assumeRolePolicy": doc(pr)}) == []
    assert messages("iam-github-oidc-trust", ROLE, {"assumeRolePolicy": doc(pr)},
                    allowedSubjectKinds=["environment"]) != []


def test_non_github_roles_are_not_judged():
    assert messages("iam-github-oidc-trust", ROLE, {"assumeRolePolicy": doc(ECS_TRUST)}) == []


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": {SUB_KEY: SUB}}, "StringEquals token.actions.githubusercontent.com:aud is not set"),
        ({"StringEquals": {AUD: "other", SUB_KEY: SUB}}, "aud is ['other'], expected sts.amazonaws.com"),
        ({"StringEquals": {AUD: "sts.amazonaws.com"}}, "no token.actions.githubusercontent.com:sub condition"),
        ({"StringEquals": {AUD: "sts.amazonaws.com"}, "StringLike": {SUB_KEY: "repo:example-org/*"}},
         "sub 'repo:example-org/*' contains a wildcard"),
        ({"StringEquals": {AUD: "sts.amazonaws.com", SUB_KEY: "repo:example-org/shop:ref:refs/heads/main"}},
         "is not pinned to an environment"),
        ({"StringEquals": {AUD: "sts.amazonaws.com", SUB_KEY: "repo:example-org/shop:environment:"}},
         "is not pinned to an environment"),
        ({"StringEquals": {AUD: "sts.amazonaws.com", SUB_KEY: "example-org/shop"}},
         "is not repo:OWNER/REPO:environment:NAME"),
    ],
)
def test_loose_github_trust_fails(condition, expected):
    [message] = messages("iam-github-oidc-trust", ROLE, {"assumeRolePolicy": doc(github_trust(**condition))})
    assert message.startswith("assumeRolePolicy statement 0 (GithubActionsOidc): ") and expected in message


def test_repository_allowlist():
    props = {"assumeRolePolicy": doc(github_trust())}
    assert messages("iam-github-oidc-trust", ROLE, props, allowedRepositories=["example-org/shop"]) == []
    found = messages("iam-github-oidc-trust", ROLE, props, allowedRepositories=["example-org/other"])
    assert len(found) == 2 and "names repository example-org/shop" in found[0]


def test_github_oidc_provider_audience():
    provider = {"url": "https://token.actions.githubusercontent.com", "clientIdLists": ["sts.amazonaws.com"]}
    assert messages("iam-github-oidc-trust", OIDC, provider) == []
    assert messages("iam-github-oidc-trust", OIDC, {**provider, "clientIdLists": ["sts.amazonaws.com", "x"]}) == [
        "clientIdLists is ['sts.amazonaws.com', 'x'], expected exactly ['sts.amazonaws.com']"
    ]
    assert messages("iam-github-oidc-trust", OIDC, {"url": "https://oidc.eks.example", "clientIdLists": ["x"]}) == []


# --- iam-trust-no-wildcard-principal ----------------------------------------------------------------------------------


def test_named_trust_passes():
    assert messages("iam-trust-no-wildcard-principal", ROLE, {"assumeRolePolicy": doc(ECS_TRUST)}) == []


@pytest.mark.parametrize("principal", [{"Principal": "*"}, {"Principal": {"AWS": "*"}},
                                       {"Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]}},
                                       {"NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}])
def test_wildcard_trust_fails(principal):
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", **principal}
    assert messages("iam-trust-no-wildcard-principal", ROLE, {"assumeRolePolicy": doc(trust)}) == [
        "assumeRolePolicy statement 0: Principal \"*\" (or NotPrincipal) lets any AWS account assume the role; "
        "expected named principals"
    ]


# --- iam-no-users-or-access-keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_token", iam.IAM_USER_TYPES)
def test_users_and_keys_fail(type_token):
    [message] = messages("iam-no-users-or-access-keys", type_token, {"user": "ci"})
    assert message.endswith("is a long-lived IAM user credential; expected roles assumed through OIDC")
