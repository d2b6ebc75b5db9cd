"""IAM rules (catalogue 70-77): compliant policies and roles pass; each weakened statement fails with the rule's
message; each rule once through the real pack."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from guardrails import iam
from guardrails.rule import Context, Resource

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import resource_messages, rule_context, urn

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


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


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


# --- iam-deploy-role-scoped -------------------------------------------------------------------------------------------

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
         "iam:PassRole condition iam:PassedToService is unset, expected StringEquals ecs-tasks.amazonaws.com"),
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


AUD = "token.actions.githubusercontent.com:aud"
SUB_KEY = "token.actions.githubusercontent.com:sub"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": {SUB_KEY: SUB}}, "StringEquals token.actions.githubusercontent.com:aud is unset"),
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


# --- through the real pack --------------------------------------------------------------------------------------------


def hits(diagnostics, rule):
    return [d for d in diagnostics if d.policy == rule]


WAIVER = {"resource": "*", "reason": "A waiver attempt that the pack must ignore.", "approvedBy": "someone",
          "expires": "2999-01-01"}


def test_resource_rules_through_the_pack(policy_pack):
    good = analyze(policy_pack, ROLE_POLICY, role_policy(statement()))
    for rule in ("iam-no-admin", "iam-no-wildcards-without-exemption", "iam-no-privilege-escalation"):
        assert hits(good, rule) == []
    bad = analyze(policy_pack, ROLE_POLICY, role_policy(statement(Action="*", Resource="*")),
                  config={"iam-no-admin": {"waivers": [WAIVER]}})
    [admin] = hits(bad, "iam-no-admin")
    assert admin.enforcement == "mandatory" and admin.severity == "critical"
    assert len(hits(bad, "iam-no-wildcards-without-exemption")) == 1
    assert len(hits(bad, "iam-no-privilege-escalation")) == 3

    attachment = {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}
    assert hits(analyze(policy_pack, ATTACHMENT, {**attachment, "policyArn": "arn:aws:iam::1:policy/x"}),
                "iam-managed-policy-allowlist") == []
    [managed] = hits(analyze(policy_pack, ATTACHMENT, attachment), "iam-managed-policy-allowlist")
    assert managed.enforcement == "advisory"

    trusted = analyze(policy_pack, ROLE, {"assumeRolePolicy": doc(github_trust())})
    assert hits(trusted, "iam-github-oidc-trust") == [] and hits(trusted, "iam-trust-no-wildcard-principal") == []
    loose = github_trust(StringLike={SUB_KEY: "repo:example-org/*"}, StringEquals={AUD: "sts.amazonaws.com"})
    open_trust = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    bad_role = analyze(policy_pack, ROLE, {"assumeRolePolicy": doc(loose, open_trust)})
    assert len(hits(bad_role, "iam-github-oidc-trust")) == 1
    assert len(hits(bad_role, "iam-trust-no-wildcard-principal")) == 1

    [user] = hits(analyze(policy_pack, "aws:iam/accessKey:AccessKey", {"user": "ci"}), "iam-no-users-or-access-keys")
    assert user.severity == "critical"
    assert hits(analyze(policy_pack, ROLE, {"assumeRolePolicy": doc(ECS_TRUST)}), "iam-no-users-or-access-keys") == []


def test_deploy_role_through_the_pack(policy_pack):
    def registrations(resources: list[Resource]):
        return [registration(r.type, r.props, name=r.name, urn=r.urn,
                             property_dependencies=dict(r.property_dependencies)) for r in resources]

    assert hits(analyze_stack(policy_pack, registrations(deploy_stack())), "iam-deploy-role-scoped") == []
    [finding] = hits(analyze_stack(policy_pack, registrations(deploy_stack({"maxSessionDuration": 7200.0}))),
                     "iam-deploy-role-scoped")
    assert finding.urn == DEPLOY_URN and finding.message.endswith("maxSessionDuration is 7200s, expected at most 3600s")
