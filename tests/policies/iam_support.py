"""What the IAM rule tests share (tests/policies/test_iam_*.py): policy documents and statements, a GitHub OIDC
trust pinned to an environment, one rule's messages for a resource, and a stack with a scoped deploy role."""

from __future__ import annotations

import json
from typing import Any

from guardrails import iam
from guardrails.rule import Resource

from tests.support.rules import resource_messages, urn

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
RULES = {rule.name: rule for rule in iam.POLICIES}
ACCOUNT = "111111111111"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/shop-web-task"
SUB = "repo:example-org/shop:environment:production"
SUB_IDS = "repo:example-org@104233113/shop@871244590:environment:production"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def messages(rule_name: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    return resource_messages(RULES[rule_name], type_token, props, **config)


def statement(**fields: Any) -> dict[str, Any]:
    base = {"Sid": "S", "Effect": "Allow", "Action": ["ecs:UpdateService"],
            "Resource": [f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/shop/web"]}
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


def role_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"role": "shop-deploy", "policy": doc(*statements)}


def github_trust(**condition: Any) -> dict[str, Any]:
    default = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                "token.actions.githubusercontent.com:sub": [SUB, SUB_IDS]}}
    return {"Sid": "GithubActionsOidc", "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition or default}


ECS_TRUST = {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
AUD = "token.actions.githubusercontent.com:aud"
SUB_KEY = "token.actions.githubusercontent.com:sub"

# iam-deploy-role-scoped: the deploy role GitHub assumes, its policy, and a task role it is not.
DEPLOY_URN = urn(ROLE, "deploy")
PASS_ROLE = statement(Sid="PassTaskRoles", Action="iam:PassRole", Resource=[TASK_ROLE],
                      Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
DEPLOY_STATEMENTS = (statement(), PASS_ROLE, statement(Sid="Token", Action="ecr:GetAuthorizationToken", Resource="*"))


def deploy_stack(role_props: dict[str, Any] | None = None, *statements: dict[str, Any],
                 extra: tuple[Resource, ...] = ()) -> list[Resource]:
    role = Resource(type=ROLE, urn=DEPLOY_URN, name="deploy", props={
        "assumeRolePolicy": doc(github_trust()), "maxSessionDuration": 3600.0, **(role_props or {})})
    policy = Resource(type=ROLE_POLICY, urn=urn(ROLE_POLICY, "deploy-policy"), name="deploy-policy",
                      props=role_policy(*(statements or DEPLOY_STATEMENTS)),
                      property_dependencies={"role": (DEPLOY_URN,)})
    task = Resource(type=ROLE, urn=urn(ROLE, "task"), name="task",
                    props={"assumeRolePolicy": doc(ECS_TRUST), "inlinePolicies": [
                        {"name": "all", "policy": doc(statement(Action="s3:*", Resource="*"))}]})
    return [role, policy, task, *extra]
