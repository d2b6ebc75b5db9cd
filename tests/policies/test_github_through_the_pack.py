"""The GitHub rules through the real pack: each rule passes its compliant baseline and fails a weakened one with
its enforcement; secret hygiene cannot be waived; the deployment branch policy is judged across the stack. No
secret value may appear in a finding."""

from __future__ import annotations

import pytest
from guardrails import github

from tests.policies.github_support import (
    ACTIONS,
    BRANCH_RULES,
    ENV,
    ENV_URN,
    POLICY,
    PRODUCTION,
    REPO,
    RULES,
    RULESET,
    SHA,
    STRONG,
    WORKFLOW,
    branch_policy,
    workflow_file,
)
from tests.support.pack import analyze, analyze_stack, registration

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
