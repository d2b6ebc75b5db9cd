"""GitHub rules (pulumi_github 6.x): production deployment environments gated by reviewers and branch policy,
Actions secrets scoped to environments and free of long-lived AWS keys, OIDC subject claims that keep repository and
environment, merge gates and branch integrity, SHA-pinned allowed actions, read-only workflow tokens, repository
security settings, and the workflow files the stack itself manages.

No public scanner checks GitHub deployment environments; these rules follow GitHub's own documentation. "Production"
environments are those whose name matches `productionEnvironments` in the rule's config.

gh-deploy-secrets-hygiene is not waivable: a plain AWS access key in Actions is a long-lived credential to the
account, exactly what OIDC replaced. Secret values are never echoed in a message.

The rules live by concern: deployment environments in guardrails.github_environments, Actions secrets, variables
and OIDC subject claims in guardrails.github_secrets, branch protection and rulesets in guardrails.github_branches,
Actions permissions in guardrails.github_actions, and repository settings and workflow files in
guardrails.github_repository. This module is the group the pack and the rule catalogue read (`POLICIES`, in
catalogue order) and keeps the type tokens the tests import from it.
"""

from __future__ import annotations

from guardrails import github_actions, github_branches, github_environments, github_repository, github_secrets
from guardrails.github_actions import (
    ACTIONS_ORG_PERMISSIONS,
    ACTIONS_REPO_PERMISSIONS,
    WORKFLOW_ORG_PERMISSIONS,
    WORKFLOW_REPO_PERMISSIONS,
)
from guardrails.github_branches import BRANCH_PROTECTION, ORG_RULESET, REPO_RULESET
from guardrails.github_environments import DEPLOYMENT_POLICY, ENVIRONMENT
from guardrails.github_repository import REPOSITORY, REPOSITORY_FILE
from guardrails.github_secrets import (
    ENV_SECRET,
    ENV_VARIABLE,
    ORG_CLAIM_TEMPLATE,
    ORG_SECRET,
    REPO_CLAIM_TEMPLATE,
    REPO_SECRET,
    REPO_VARIABLE,
)
from guardrails.rule import Rule

__all__ = [
    "ACTIONS_ORG_PERMISSIONS",
    "ACTIONS_REPO_PERMISSIONS",
    "BRANCH_PROTECTION",
    "DEPLOYMENT_POLICY",
    "ENVIRONMENT",
    "ENV_SECRET",
    "ENV_VARIABLE",
    "ORG_CLAIM_TEMPLATE",
    "ORG_RULESET",
    "ORG_SECRET",
    "POLICIES",
    "REPOSITORY",
    "REPOSITORY_FILE",
    "REPO_CLAIM_TEMPLATE",
    "REPO_RULESET",
    "REPO_SECRET",
    "REPO_VARIABLE",
    "WORKFLOW_ORG_PERMISSIONS",
    "WORKFLOW_REPO_PERMISSIONS",
]

POLICIES: list[Rule] = [
    *github_environments.RULES,
    *github_secrets.RULES,
    *github_branches.RULES,
    *github_actions.RULES,
    *github_repository.RULES,
]
