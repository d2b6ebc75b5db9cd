"""GitHub deployment environments: approval gates, admin bypass, wait timers and deployment branches of a gated
production environment (any staging environment passes), the secrets and variables its jobs read, and the OIDC
subject claim they are trusted by. Compliant settings pass; each weakened field fails with the rule's message; no
secret value may appear in a finding."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import github
from guardrails.rule import Context, Resource

from tests.policies.github_support import ENV, ENV_URN, PRODUCTION, RULES, STRONG, branch_policy, messages, without
from tests.support.rules import rule_context


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


STAGING = {"repository": "shop", "environment": "staging", "reviewers": [], "preventSelfReview": False,
           "canAdminsBypass": True, "waitTimer": 0.0}


# --- gh-env-approval-gate / gh-env-no-admin-bypass / gh-env-wait-timer ----------------------------------------------


@pytest.mark.parametrize("rule", ["gh-env-approval-gate", "gh-env-no-admin-bypass", "gh-env-wait-timer"])
def test_gated_production_and_any_staging_environment_pass(rule):
    assert messages(rule, ENV, PRODUCTION) == []
    assert messages(rule, ENV, STAGING) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"reviewers": []}, "reviewers is empty; expected at least one user or team id"),
        ({"reviewers": [{"users": [], "teams": []}]}, "reviewers is empty"),
        ({"preventSelfReview": False}, "preventSelfReview is not true; expected true"),
        ({"preventSelfReview": None}, "preventSelfReview is not true; expected true"),
    ],
)
def test_ungated_production_fails(changes, expected):
    props = {k: v for k, v in {**PRODUCTION, **changes}.items() if v is not None}
    [message] = messages("gh-env-approval-gate", ENV, props)
    assert message.startswith(expected)


def test_production_names_are_configurable():
    props = {**STAGING, "environment": "prod-eu"}
    assert messages("gh-env-approval-gate", ENV, props) == []
    assert len(messages("gh-env-approval-gate", ENV, props, productionEnvironments=["prod-*"])) == 2


@pytest.mark.parametrize("value", [True, None])
def test_admin_bypass_fails(value):
    props = {k: v for k, v in {**PRODUCTION, "canAdminsBypass": value}.items() if v is not None}
    assert messages("gh-env-no-admin-bypass", ENV, props) == [
        "canAdminsBypass is not false (the provider default is true); expected false"
    ]


@pytest.mark.parametrize("wait", [None, 0.0, 4.0])
def test_short_wait_timer_fails(wait):
    props = {k: v for k, v in {**PRODUCTION, "waitTimer": wait}.items() if v is not None}
    assert messages("gh-env-wait-timer", ENV, props) == [f"waitTimer is {wait or 0:g} minutes, expected at least 5"]
    assert messages("gh-env-wait-timer", ENV, props, minWaitMinutes=0) == []


# --- gh-env-deployment-branch-policy ----------------------------------------------------------------------------------


def environment(props: dict[str, Any]) -> Resource:
    return Resource(type=ENV, props=props, urn=ENV_URN, name="production")


def branch_messages(resources: list[Resource], **config: Any) -> list[str]:
    rule = RULES["gh-env-deployment-branch-policy"]
    assert rule.stack_check is not None
    return [f.message for f in rule.stack_check(resources, context(rule.name, **config))]


def test_named_deployment_branches_pass():
    assert branch_messages([environment(PRODUCTION), branch_policy("main")]) == []
    assert branch_messages([environment(PRODUCTION), branch_policy("main", linked=False)]) == []
    protected = {**PRODUCTION, "deploymentBranchPolicy": {"protectedBranches": True, "customBranchPolicies": False}}
    assert branch_messages([environment(protected)]) == []
    assert branch_messages([environment(without(STAGING, "deploymentBranchPolicy"))]) == []


@pytest.mark.parametrize(
    ("props", "policies", "expected"),
    [
        (without(PRODUCTION, "deploymentBranchPolicy"), [], "deploymentBranchPolicy is not set, so any branch can"),
        ({**PRODUCTION, "deploymentBranchPolicy": {"protectedBranches": False, "customBranchPolicies": False}}, [],
         "deploymentBranchPolicy has protectedBranches=False and customBranchPolicies=False; expected exactly one"),
        (PRODUCTION, [], "customBranchPolicies is true but no RepositoryEnvironmentDeploymentPolicy names a branch"),
        (PRODUCTION, [branch_policy("main", linked=False, environment="staging")],
         "customBranchPolicies is true but no RepositoryEnvironmentDeploymentPolicy"),
        (PRODUCTION, [branch_policy("*")], "RepositoryEnvironmentDeploymentPolicy branch-*: pattern '*' lets any"),
        (PRODUCTION, [branch_policy("main"), branch_policy("**")], "pattern '**' lets any branch deploy"),
        (PRODUCTION, [branch_policy("?**")], "pattern '?**' lets any branch deploy"),
    ],
)
def test_open_deployment_branches_fail(props, policies, expected):
    [message] = branch_messages([environment(props), *policies])
    assert message.startswith(expected) or expected in message


# --- gh-deploy-secrets-hygiene ----------------------------------------------------------------------------------------

FAKE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"


def test_environment_secret_and_plain_variables_pass():
    secret = {"repository": "shop", "environment": "production", "secretName": "SENTRY_DSN", "value": STRONG}
    assert messages("gh-deploy-secrets-hygiene", github.ENV_SECRET, secret) == []
    assert messages("gh-deploy-secrets-hygiene", github.ENV_SECRET, without(secret, "value")) == []
    variable = {"repository": "shop", "variableName": "RAMPART_DEPLOY_ROLE_ARN",
                "value": "arn:aws:iam::111111111111:role/shop-deploy"}
    for type_token in (github.REPO_VARIABLE, github.ENV_VARIABLE):
        assert messages("gh-deploy-secrets-hygiene", type_token, variable) == []


def test_a_variable_naming_where_a_secret_lives_is_not_a_credential():
    # Judged by what the value is: an ARN points at a secret in Secrets Manager, whatever the variable is called.
    variable = {"repository": "shop", "variableName": "RAMPART_GITHUB_APP_SECRET_ARN",
                "value": "arn:aws:secretsmanager:us-east-1:111111111111:secret:rampart/github-app-Xy12Ab"}
    for type_token in (github.REPO_VARIABLE, github.ENV_VARIABLE):
        assert messages("gh-deploy-secrets-hygiene", type_token, variable) == []
    # The same name holding anything that is not a reference is still a credential in plain text.
    literal = {**variable, "value": STRONG}
    assert messages("gh-deploy-secrets-hygiene", github.ENV_VARIABLE, literal)


@pytest.mark.parametrize(
    ("type_token", "props", "expected"),
    [
        (github.REPO_SECRET, {"secretName": "SENTRY_DSN", "value": STRONG},
         "secret SENTRY_DSN is repository-wide, so every workflow can read it; expected an ActionsEnvironmentSecret"),
        (github.ORG_SECRET, {"secretName": "SENTRY_DSN", "visibility": "all"},
         "secret SENTRY_DSN is organization-wide"),
        (github.ENV_SECRET, {"secretName": "AWS_SECRET_ACCESS_KEY", "encryptedValue": "c2VjcmV0"},
         "AWS_SECRET_ACCESS_KEY holds an AWS access key; expected no AWS keys in GitHub"),
        (github.ENV_SECRET, {"secretName": "DEPLOY_ID", "value": FAKE_KEY_ID},
         "value of DEPLOY_ID contains an AWS access key id"),
        (github.ENV_SECRET, {"secretName": "API_TOKEN", "plaintextValue": "changeme"},
         "plaintextValue of API_TOKEN looks like a literal typed into the program"),
        (github.ENV_VARIABLE, {"variableName": "API_TOKEN", "value": STRONG},
         "variable API_TOKEN looks like a credential stored in plain text"),
        (github.REPO_VARIABLE, {"variableName": "SIGNING", "value": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"},
         "variable SIGNING looks like a credential stored in plain text"),
    ],
)
def test_unsafe_secrets_fail_without_echoing_values(type_token, props, expected):
    found = messages("gh-deploy-secrets-hygiene", type_token, {"repository": "shop", **props})
    assert found and found[0].startswith(expected)
    for value in (STRONG, FAKE_KEY_ID, "changeme", "MIIE", "c2VjcmV0"):
        assert all(value not in message for message in found)


# --- gh-oidc-subject-claim --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_token", "props"),
    [
        (github.REPO_CLAIM_TEMPLATE, {"repository": "shop", "useDefault": True}),
        (github.REPO_CLAIM_TEMPLATE, {"repository": "shop", "useDefault": False,
                                      "includeClaimKeys": ["repo", "context", "job_workflow_ref"]}),
        (github.ORG_CLAIM_TEMPLATE, {"includeClaimKeys": ["repository_id", "environment"]}),
    ],
)
def test_claims_keeping_repo_and_environment_pass(type_token, props):
    assert messages("gh-oidc-subject-claim", type_token, props) == []


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["repository_owner", "context"], ["includeClaimKeys ['context', 'repository_owner'] drops the repository"]),
        (["repo", "job_workflow_ref"], ["includeClaimKeys ['job_workflow_ref', 'repo'] drops the environment"]),
        ([], ["includeClaimKeys [] drops the repository", "includeClaimKeys [] drops the environment"]),
    ],
)
def test_claims_dropping_repo_or_environment_fail(keys, expected):
    found = messages("gh-oidc-subject-claim", github.REPO_CLAIM_TEMPLATE,
                     {"repository": "shop", "useDefault": False, "includeClaimKeys": keys})
    assert [m.split(";")[0] for m in found] == expected
