"""IAM rules: no admin grants, no unscoped wildcards, no privilege escalation, a tightly scoped deploy role
trusted only by GitHub OIDC for pinned repositories and environments, no wildcard trust, no IAM users, and CodeBuild
source credentials held by reference (a connection or a Secrets Manager ARN), never as a stored token.

Not waivable, because a waiver would leave the account open rather than a resource less hardened:
iam-no-admin (full account takeover), iam-no-privilege-escalation (admin in two steps), iam-github-oidc-trust
and iam-trust-no-wildcard-principal (anyone outside the account could assume the role), iam-no-users-or-access-keys
(long-lived credentials are what OIDC replaced) and codebuild-source-credential-by-reference (a personal access token
stored with a CodeBuild source credential is the same long-lived key, to the source provider).

The rules live by concern: grants in guardrails.iam_grants, trust and identities in guardrails.iam_trust, and the
defensive policy-document reading both share (with the KMS, ECR and S3 rules) in guardrails.iam_documents. This
module is the group the pack and the rule catalogue read (`POLICIES`, in catalogue order) and keeps the names
other groups import from it.
"""

from __future__ import annotations

from guardrails import iam_grants, iam_trust
from guardrails.iam_documents import (
    ATTACHMENT_TYPES,
    GRANTING_TYPES,
    ROLE,
    ROLE_ATTACHMENTS_EXCLUSIVE,
    ROLE_POLICY,
    allow_statements,
    condition_keys,
    condition_values,
    covers_action,
    describe,
    get_ci,
    grants_action,
    is_allow,
    is_wildcard_resource,
    linked,
    parse_document,
    resources,
    statements,
    strings,
    urn_type,
    wildcard_principal,
)
from guardrails.iam_grants import check_no_admin
from guardrails.iam_trust import IAM_USER_TYPES
from guardrails.rule import Rule

# What the KMS, ECR, S3, Lambda, Secrets and GitHub rules (and the tests) import from guardrails.iam.
__all__ = [
    "ATTACHMENT_TYPES",
    "GRANTING_TYPES",
    "IAM_USER_TYPES",
    "POLICIES",
    "ROLE",
    "ROLE_ATTACHMENTS_EXCLUSIVE",
    "ROLE_POLICY",
    "allow_statements",
    "check_no_admin",
    "condition_keys",
    "condition_values",
    "covers_action",
    "describe",
    "get_ci",
    "grants_action",
    "is_allow",
    "is_wildcard_resource",
    "linked",
    "parse_document",
    "resources",
    "statements",
    "strings",
    "urn_type",
    "wildcard_principal",
]

POLICIES: list[Rule] = [*iam_grants.RULES, *iam_trust.RULES]
