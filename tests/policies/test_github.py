"""GitHub rules (catalogue 78-90): compliant settings pass; each weakened field fails with the rule's message; each
rule once through the real pack. No secret value may appear in a finding."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import github
from guardrails.rule import Context, Resource

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import resource_messages, rule_context, urn

ENV = github.ENVIRONMENT
POLICY = github.DEPLOYMENT_POLICY
RULES = {rule.name: rule for rule in github.POLICIES}
SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def messages(rule_name: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    return resource_messages(RULES[rule_name], type_token, props, **config)


def without(props: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != key}


PRODUCTION: dict[str, Any] = {
    "repository": "shop",
    "environment": "production",
    "reviewers": [{"teams": [9137421.0], "users": [5831744.0]}],
    "preventSelfReview": True,
    "canAdminsBypass": False,
    "waitTimer": 10.0,
    "deploymentBranchPolicy": {"protectedBranches": False, "customBranchPolicies": True},
}
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

ENV_URN = urn(ENV, "production")


def environment(props: dict[str, Any]) -> Resource:
    return Resource(type=ENV, props=props, urn=ENV_URN, name="production")


def branch_policy(pattern: str, linked: bool = True, **props: Any) -> Resource:
    return Resource(type=POLICY, urn=urn(POLICY, f"branch-{pattern}"), name=f"branch-{pattern}",
                    props={"repository": "shop", "environment": "production", "branchPattern": pattern, **props},
                    property_dependencies={"environment": (ENV_URN,)} if linked else {})


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

STRONG = "Zq7#pW2vLm9!xR4tB8nK"
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


# --- gh-branch-merge-gate / gh-branch-integrity / gh-branch-hygiene ---------------------------------------------------

PROTECTION: dict[str, Any] = {
    "repositoryId": "shop",
    "pattern": "main",
    "enforceAdmins": True,
    "allowsForcePushes": False,
    "allowsDeletions": False,
    "requireSignedCommits": True,
    "requiredLinearHistory": True,
    "requireConversationResolution": True,
    "requiredPullRequestReviews": [{"requiredApprovingReviewCount": 2.0, "requireCodeOwnerReviews": True,
                                    "dismissStaleReviews": True}],
    "requiredStatusChecks": [{"strict": True, "contexts": ["rampart check", "pulumi preview (production)"]}],
}
RULESET: dict[str, Any] = {
    "repository": "shop",
    "name": "rampart-main",
    "target": "branch",
    "enforcement": "active",
    "bypassActors": [],
    "rules": {
        "pullRequest": {"requiredApprovingReviewCount": 1.0, "requireCodeOwnerReview": True,
                        "dismissStaleReviewsOnPush": True, "requiredReviewThreadResolution": True},
        "requiredStatusChecks": {"strictRequiredStatusChecksPolicy": True,
                                 "requiredChecks": [{"context": "rampart check"}]},
        "nonFastForward": True,
        "deletion": True,
        "requiredLinearHistory": True,
        "requiredSignatures": True,
    },
}
BRANCH_RULES = ["gh-branch-merge-gate", "gh-branch-integrity", "gh-branch-hygiene"]


def ruleset(**rules: Any) -> dict[str, Any]:
    merged = {k: v for k, v in {**RULESET["rules"], **rules}.items() if v is not None}
    return {**RULESET, "rules": merged}


@pytest.mark.parametrize("rule", BRANCH_RULES)
def test_protected_branches_pass(rule):
    assert messages(rule, github.BRANCH_PROTECTION, PROTECTION) == []
    for type_token in (github.REPO_RULESET, github.ORG_RULESET):
        assert messages(rule, type_token, RULESET) == []
        assert messages(rule, type_token, {**RULESET, "target": "tag", "rules": {}}) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"requiredPullRequestReviews": None}, "requiredPullRequestReviews is not set"),
        ({"requiredPullRequestReviews": [{"requiredApprovingReviewCount": 0.0, "requireCodeOwnerReviews": True,
                                          "dismissStaleReviews": True}]},
         "requiredPullRequestReviews.requiredApprovingReviewCount is 0, expected at least 1"),
        ({"requiredPullRequestReviews": [{"dismissStaleReviews": True}]},
         "requiredPullRequestReviews.requireCodeOwnerReviews is not true"),
        ({"requiredPullRequestReviews": [{"requireCodeOwnerReviews": True}]},
         "requiredPullRequestReviews.dismissStaleReviews is not true"),
        ({"requiredStatusChecks": None}, "requiredStatusChecks is not set; expected required status checks including "
                                         "rampart check"),
        ({"requiredStatusChecks": [{"strict": False, "contexts": ["rampart check"]}]},
         "requiredStatusChecks is not strict"),
        ({"requiredStatusChecks": [{"strict": True, "contexts": ["lint"]}]},
         "requiredStatusChecks does not require rampart check; expected the policy check to gate merges"),
    ],
)
def test_weak_branch_protection_merge_gate_fails(changes, expected):
    props = {k: v for k, v in {**PROTECTION, **changes}.items() if v is not None}
    [message] = messages("gh-branch-merge-gate", github.BRANCH_PROTECTION, props)
    assert message.startswith(expected)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**RULESET, "enforcement": "evaluate"}, "enforcement is evaluate, expected active"),
        (ruleset(pullRequest=None), "rules.pullRequest is not set"),
        (ruleset(pullRequest={"requireCodeOwnerReview": True, "dismissStaleReviewsOnPush": True}),
         "rules.pullRequest.requiredApprovingReviewCount is 0, expected at least 1"),
        (ruleset(pullRequest={"requiredApprovingReviewCount": 1.0, "dismissStaleReviewsOnPush": True}),
         "rules.pullRequest.requireCodeOwnerReview is not true"),
        (ruleset(pullRequest={"requiredApprovingReviewCount": 1.0, "requireCodeOwnerReview": True}),
         "rules.pullRequest.dismissStaleReviewsOnPush is not true"),
        (ruleset(requiredStatusChecks=None), "rules.requiredStatusChecks is not set"),
        (ruleset(requiredStatusChecks={"requiredChecks": [{"context": "rampart check"}]}),
         "rules.requiredStatusChecks is not strict"),
        (ruleset(requiredStatusChecks={"strictRequiredStatusChecksPolicy": True, "requiredChecks": []}),
         "rules.requiredStatusChecks does not require rampart check"),
    ],
)
def test_weak_ruleset_merge_gate_fails(props, expected):
    [message] = messages("gh-branch-merge-gate", github.REPO_RULESET, props)
    assert message.startswith(expected)


def test_required_checks_are_configurable():
    props = ruleset(requiredStatusChecks={"strictRequiredStatusChecksPolicy": True,
                                          "requiredChecks": [{"context": "policy"}]})
    assert messages("gh-branch-merge-gate", github.REPO_RULESET, props, requiredStatusChecks=["policy"]) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"allowsForcePushes": True}, "allowsForcePushes is true; expected false"),
        ({"forcePushBypassers": ["/octocat"]}, "forcePushBypassers is not empty; expected nobody may force push"),
        ({"allowsDeletions": True}, "allowsDeletions is true; expected false"),
        ({"enforceAdmins": False}, "enforceAdmins is not true; expected the rules to bind administrators too"),
        ({"enforceAdmins": None}, "enforceAdmins is not true; expected the rules to bind administrators too"),
    ],
)
def test_branch_protection_integrity_fails(changes, expected):
    props = {k: v for k, v in {**PROTECTION, **changes}.items() if v is not None}
    assert messages("gh-branch-integrity", github.BRANCH_PROTECTION, props) == [expected]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**RULESET, "enforcement": "disabled"}, "enforcement is disabled, expected active"),
        (ruleset(nonFastForward=None), "rules.nonFastForward is not true; expected force pushes blocked"),
        (ruleset(deletion=False), "rules.deletion is not true; expected branch deletion blocked"),
        ({**RULESET, "bypassActors": [{"actorId": 5.0, "actorType": "RepositoryRole", "bypassMode": "always"}]},
         "bypassActors[0] (RepositoryRole) may always bypass"),
    ],
)
def test_ruleset_integrity_fails(props, expected):
    [message] = messages("gh-branch-integrity", github.REPO_RULESET, props)
    assert message.startswith(expected)


def test_pull_request_bypass_is_allowed():
    props = {**RULESET, "bypassActors": [{"actorType": "Integration", "bypassMode": "pull_request"}]}
    assert messages("gh-branch-integrity", github.REPO_RULESET, props) == []


@pytest.mark.parametrize("field", ["requireSignedCommits", "requiredLinearHistory", "requireConversationResolution"])
def test_branch_protection_hygiene_fails(field):
    assert messages("gh-branch-hygiene", github.BRANCH_PROTECTION, without(PROTECTION, field)) == [
        f"{field} is not true; expected true"
    ]


@pytest.mark.parametrize(
    ("props", "field"),
    [
        (ruleset(requiredSignatures=None), "rules.requiredSignatures"),
        (ruleset(requiredLinearHistory=False), "rules.requiredLinearHistory"),
        (ruleset(pullRequest={**RULESET["rules"]["pullRequest"], "requiredReviewThreadResolution": False}),
         "rules.pullRequest.requiredReviewThreadResolution"),
    ],
)
def test_ruleset_hygiene_fails(props, field):
    assert messages("gh-branch-hygiene", github.REPO_RULESET, props) == [f"{field} is not true; expected true"]


# --- gh-actions-pinning-allowlist -------------------------------------------------------------------------------------

ACTIONS: dict[str, Any] = {
    "repository": "shop",
    "enabled": True,
    "allowedActions": "selected",
    "allowedActionsConfig": {"githubOwnedAllowed": True, "verifiedAllowed": False,
                             "patternsAlloweds": ["aws-actions/*", "pulumi/*"]},
    "shaPinningRequired": True,
}


def test_pinned_allowlisted_actions_pass():
    assert messages("gh-actions-pinning-allowlist", github.ACTIONS_REPO_PERMISSIONS, ACTIONS) == []
    local = {**without(ACTIONS, "allowedActionsConfig"), "allowedActions": "local_only"}
    assert messages("gh-actions-pinning-allowlist", github.ACTIONS_REPO_PERMISSIONS, local) == []
    assert messages("gh-actions-pinning-allowlist", github.ACTIONS_REPO_PERMISSIONS, {"enabled": False}) == []
    org = {**without(ACTIONS, "repository"), "enabledRepositories": "selected"}
    assert messages("gh-actions-pinning-allowlist", github.ACTIONS_ORG_PERMISSIONS, org) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**ACTIONS, "shaPinningRequired": False}, "shaPinningRequired is not true"),
        (without(ACTIONS, "shaPinningRequired"), "shaPinningRequired is not true"),
        ({**ACTIONS, "allowedActions": "all"}, "allowedActions is all, expected selected"),
        (without(ACTIONS, "allowedActions"), "allowedActions is all, expected selected"),
        (without(ACTIONS, "allowedActionsConfig"), "allowedActionsConfig is not set"),
        ({**ACTIONS, "allowedActionsConfig": {"githubOwnedAllowed": True, "patternsAlloweds": ["*"]}},
         "allowedActionsConfig.patternsAlloweds contains ['*'], which allows any action"),
    ],
)
def test_unpinned_or_open_actions_fail(props, expected):
    [message] = messages("gh-actions-pinning-allowlist", github.ACTIONS_REPO_PERMISSIONS, props)
    assert message.startswith(expected)


# --- gh-workflow-token-read-only --------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_token", [github.WORKFLOW_REPO_PERMISSIONS, github.WORKFLOW_ORG_PERMISSIONS])
def test_read_only_token_passes_and_write_fails(type_token):
    props = {"repository": "shop", "defaultWorkflowPermissions": "read", "canApprovePullRequestReviews": False}
    assert messages("gh-workflow-token-read-only", type_token, props) == []
    assert messages("gh-workflow-token-read-only", type_token, {**props, "defaultWorkflowPermissions": "write"}) == [
        "defaultWorkflowPermissions is write, expected read"
    ]
    assert messages("gh-workflow-token-read-only", type_token, {**props, "canApprovePullRequestReviews": True}) == [
        "canApprovePullRequestReviews is true; expected false so a workflow cannot approve its own pull request"
    ]
    assert messages("gh-workflow-token-read-only", type_token, {"repository": "shop"}) == [
        "defaultWorkflowPermissions is None, expected read"
    ]


# --- gh-repo-security-settings ----------------------------------------------------------------------------------------

REPO: dict[str, Any] = {
    "name": "shop",
    "visibility": "private",
    "vulnerabilityAlerts": True,
    "securityAndAnalysis": {"secretScanning": {"status": "enabled"},
                            "secretScanningPushProtection": {"status": "enabled"}},
}


def test_secure_repository_passes():
    assert messages("gh-repo-security-settings", github.REPOSITORY, REPO) == []
    assert messages("gh-repo-security-settings", github.REPOSITORY, {**REPO, "visibility": "internal"}) == []
    legacy = {**without(REPO, "visibility"), "private": True}
    assert messages("gh-repo-security-settings", github.REPOSITORY, legacy) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**REPO, "visibility": "public"}, "visibility is public, expected private or internal"),
        (without(REPO, "visibility"), "visibility is unset (public), expected private or internal"),
        ({**REPO, "vulnerabilityAlerts": False}, "vulnerabilityAlerts is not true; expected Dependabot alerts on"),
        ({**REPO, "securityAndAnalysis": {"secretScanningPushProtection": {"status": "enabled"}}},
         "securityAndAnalysis.secretScanning.status is None, expected enabled"),
        ({**REPO, "securityAndAnalysis": {"secretScanning": {"status": "enabled"},
                                          "secretScanningPushProtection": {"status": "disabled"}}},
         "securityAndAnalysis.secretScanningPushProtection.status is disabled, expected enabled"),
    ],
)
def test_insecure_repository_fails(props, expected):
    assert messages("gh-repo-security-settings", github.REPOSITORY, props) == [expected]


# --- gh-workflow-file-lint --------------------------------------------------------------------------------------------

WORKFLOW = f"""
name: deploy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA}
      - uses: ./.github/actions/setup
  deploy:
    runs-on: ubuntu-latest
    environment: production
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: aws-actions/configure-aws-credentials@{SHA}
      - uses: docker://alpine@sha256:{"a" * 64}
  reusable:
    uses: example-org/workflows/.github/workflows/x.yml@{SHA}
"""


def workflow_file(content: str, path: str = ".github/workflows/deploy.yml") -> dict[str, Any]:
    return {"repository": "shop", "file": path, "content": content}


def test_hardened_workflow_passes():
    assert messages("gh-workflow-file-lint", github.REPOSITORY_FILE, workflow_file(WORKFLOW)) == []
    read_all = WORKFLOW.replace("permissions:\n  contents: read\njobs", "permissions: read-all\njobs")
    assert messages("gh-workflow-file-lint", github.REPOSITORY_FILE, workflow_file(read_all)) == []


def test_other_files_are_not_judged():
    assert messages("gh-workflow-file-lint", github.REPOSITORY_FILE, workflow_file("x: [", "README.md")) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("permissions:\n  contents: read\njobs", "jobs",
         "top-level permissions are not read-only; expected permissions: contents: read"),
        ("permissions:\n  contents: read\njobs", "permissions: write-all\njobs", "top-level permissions are not"),
        ("permissions:\n  contents: read\njobs", "permissions:\n  contents: read\n  id-token: write\njobs",
         "top-level id-token: write gives every job an OIDC token"),
        ("    environment: production\n", "", "job deploy gets id-token: write without an environment"),
        (f"actions/checkout@{SHA}", "actions/checkout@v4",
         "job check uses actions/checkout@v4, expected a full commit"),
        (f"x.yml@{SHA}", "x.yml@main", "job reusable uses example-org/workflows/.github/workflows/x.yml@main"),
        ("  push:\n    branches: [main]", "  pull_request_target:", "job check checks out code in a "
                                                                     "pull_request_target workflow"),
        ("name: deploy", "name: [", "content is not valid YAML"),
    ],
)
def test_unsafe_workflow_fails(old, new, expected):
    content = WORKFLOW.replace(old, new)
    assert content != WORKFLOW
    [message] = messages("gh-workflow-file-lint", github.REPOSITORY_FILE, workflow_file(content))
    assert message.startswith(f".github/workflows/deploy.yml: {expected}")


# --- through the real pack --------------------------------------------------------------------------------------------


def hits(diagnostics, rule):
    return [d for d in diagnostics if d.policy == rule]


@pytest.mark.parametrize(
    ("type_token", "good", "bad", "rules"),
    [
        (ENV, PRODUCTION, {**PRODUCTION, "reviewers": [], "canAdminsBypass": True, "waitTimer": 0.0},
         ["gh-env-approval-gate", "gh-env-no-admin-bypass", "gh-env-wait-timer"]),
        (github.ENV_SECRET, {"repository": "shop", "environment": "production", "secretName": "DSN", "value": STRONG},
         {"repository": "shop", "environment": "production", "secretName": "AWS_ACCESS_KEY_ID", "value": STRONG},
         ["gh-deploy-secrets-hygiene"]),
        (github.REPO_CLAIM_TEMPLATE, {"repository": "shop", "useDefault": True},
         {"repository": "shop", "useDefault": False, "includeClaimKeys": ["repo"]}, ["gh-oidc-subject-claim"]),
        (github.REPO_RULESET, RULESET, {**RULESET, "enforcement": "evaluate", "rules": {}}, BRANCH_RULES),
        (github.ACTIONS_REPO_PERMISSIONS, ACTIONS, {**ACTIONS, "shaPinningRequired": False},
         ["gh-actions-pinning-allowlist"]),
        (github.WORKFLOW_REPO_PERMISSIONS, {"repository": "shop", "defaultWorkflowPermissions": "read"},
         {"repository": "shop", "defaultWorkflowPermissions": "write"}, ["gh-workflow-token-read-only"]),
        (github.REPOSITORY, REPO, {**REPO, "visibility": "public"}, ["gh-repo-security-settings"]),
        (github.REPOSITORY_FILE, workflow_file(WORKFLOW), workflow_file(WORKFLOW.replace(f"@{SHA}", "@v1")),
         ["gh-workflow-file-lint"]),
    ],
)
def test_resource_rules_through_the_pack(policy_pack, type_token, good, bad, rules):
    passed = analyze(policy_pack, type_token, good)
    failed = analyze(policy_pack, type_token, bad)
    for rule in rules:
        assert hits(passed, rule) == [], rule
        found = hits(failed, rule)
        assert found, rule
        expected = {"M": "mandatory", "MP": "mandatory", "A": "advisory"}[RULES[rule].enforcement]
        assert all(d.enforcement == expected for d in found)
    assert all(STRONG not in d.message for d in failed)


def test_secret_hygiene_cannot_be_waived(policy_pack):
    waiver = {"resource": "*", "reason": "A waiver attempt that the pack must ignore.", "approvedBy": "someone",
              "expires": "2999-01-01"}
    props = {"repository": "shop", "secretName": "AWS_ACCESS_KEY_ID", "value": STRONG}
    diagnostics = analyze(policy_pack, github.REPO_SECRET, props,
                          config={"gh-deploy-secrets-hygiene": {"waivers": [waiver]}})
    assert len(hits(diagnostics, "gh-deploy-secrets-hygiene")) == 2


def test_deployment_branch_policy_through_the_pack(policy_pack):
    env = registration(ENV, PRODUCTION, name="production", urn=ENV_URN)
    main = registration(POLICY, branch_policy("main").props, name="main",
                        property_dependencies={"environment": [ENV_URN]})
    any_branch = registration(POLICY, branch_policy("*").props, name="any",
                              property_dependencies={"environment": [ENV_URN]})
    assert hits(analyze_stack(policy_pack, [env, main]), "gh-env-deployment-branch-policy") == []
    [finding] = hits(analyze_stack(policy_pack, [env, main, any_branch]), "gh-env-deployment-branch-policy")
    assert finding.urn.endswith("::any") and "pattern '*' lets any branch deploy" in finding.message
