"""GitHub repository and organization settings: which actions may run and how they are pinned, the default
workflow token, the repository's security settings, and each workflow file's hardening. Compliant settings pass;
each weakened field fails with the rule's message."""

from __future__ import annotations

import pytest
from guardrails import github

from tests.policies.github_support import ACTIONS, REPO, SHA, WORKFLOW, messages, without, workflow_file

# --- gh-actions-pinning-allowlist -------------------------------------------------------------------------------------


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
        "defaultWorkflowPermissions is not set, expected read"
    ]


# --- gh-repo-security-settings ----------------------------------------------------------------------------------------


def test_secure_repository_passes():
    assert messages("gh-repo-security-settings", github.REPOSITORY, REPO) == []
    assert messages("gh-repo-security-settings", github.REPOSITORY, {**REPO, "visibility": "internal"}) == []
    legacy = {**without(REPO, "visibility"), "private": True}
    assert messages("gh-repo-security-settings", github.REPOSITORY, legacy) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**REPO, "visibility": "public"}, "visibility is public, expected private or internal"),
        (without(REPO, "visibility"), "visibility is not set (public), expected private or internal"),
        ({**REPO, "vulnerabilityAlerts": False}, "vulnerabilityAlerts is not true; expected Dependabot alerts on"),
        ({**REPO, "securityAndAnalysis": {"secretScanningPushProtection": {"status": "enabled"}}},
         "securityAndAnalysis.secretScanning.status is not set, expected enabled"),
        ({**REPO, "securityAndAnalysis": {"secretScanning": {"status": "enabled"},
                                          "secretScanningPushProtection": {"status": "disabled"}}},
         "securityAndAnalysis.secretScanningPushProtection.status is disabled, expected enabled"),
    ],
)
def test_insecure_repository_fails(props, expected):
    assert messages("gh-repo-security-settings", github.REPOSITORY, props) == [expected]


# --- gh-workflow-file-lint --------------------------------------------------------------------------------------------


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
