"""What the GitHub rule tests share (tests/policies/test_github_*.py): the rules by name, one rule's messages for
one resource, and the compliant baselines both the per-rule tests and the through-the-pack tests start from."""

from __future__ import annotations

from typing import Any

from guardrails import github
from guardrails.rule import Resource

from tests.support.rules import resource_messages, urn

ENV = github.ENVIRONMENT
POLICY = github.DEPLOYMENT_POLICY
RULES = {rule.name: rule for rule in github.POLICIES}
SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"


def messages(rule_name: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    return resource_messages(RULES[rule_name], type_token, props, **config)


def without(props: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != key}


# gh-env-*: a gated production environment, and a branch policy linked to it.
PRODUCTION: dict[str, Any] = {
    "repository": "shop",
    "environment": "production",
    "reviewers": [{"teams": [9137421.0], "users": [5831744.0]}],
    "preventSelfReview": True,
    "canAdminsBypass": False,
    "waitTimer": 10.0,
    "deploymentBranchPolicy": {"protectedBranches": False, "customBranchPolicies": True},
}
ENV_URN = urn(ENV, "production")


def branch_policy(pattern: str, linked: bool = True, **props: Any) -> Resource:
    return Resource(type=POLICY, urn=urn(POLICY, f"branch-{pattern}"), name=f"branch-{pattern}",
                    props={"repository": "shop", "environment": "production", "branchPattern": pattern, **props},
                    property_dependencies={"environment": (ENV_URN,)} if linked else {})


# gh-deploy-secrets-hygiene: a value no rule may echo.
STRONG = "Zq7#pW2vLm9!xR4tB8nK"

# gh-branch-*: a ruleset protecting main.
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

# gh-actions-pinning-allowlist, gh-repo-security-settings, gh-workflow-file-lint.
ACTIONS: dict[str, Any] = {
    "repository": "shop",
    "enabled": True,
    "allowedActions": "selected",
    "allowedActionsConfig": {"githubOwnedAllowed": True, "verifiedAllowed": False,
                             "patternsAlloweds": ["aws-actions/*", "pulumi/*"]},
    "shaPinningRequired": True,
}

REPO: dict[str, Any] = {
    "name": "shop",
    "visibility": "private",
    "vulnerabilityAlerts": True,
    "securityAndAnalysis": {"secretScanning": {"status": "enabled"},
                            "secretScanningPushProtection": {"status": "enabled"}},
}

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
