"""GitHub Actions secret and variable rules: secrets scoped to environments, never literals typed into the program
nor long-lived AWS keys, no credentials in plain-text variables; customised OIDC subject claims keep the
repository and the environment the AWS role trust pins.

gh-deploy-secrets-hygiene is not waivable: a plain AWS access key in Actions is a long-lived credential to the
account, exactly what OIDC replaced. Secret values are never echoed in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from guardrails.credentials import is_credential_name, is_credential_value, is_reference_value
from guardrails.github_environments import gh_rule
from guardrails.iam_documents import strings
from guardrails.rule import Context, Framework, Resource, Rule
from guardrails.secrets import looks_hand_written

REPO_SECRET = "github:index/actionsSecret:ActionsSecret"  # noqa: S105 - a type token
ENV_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"  # noqa: S105 - a type token
ORG_SECRET = "github:index/actionsOrganizationSecret:ActionsOrganizationSecret"  # noqa: S105 - a type token
REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable"
ENV_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
REPO_CLAIM_TEMPLATE = (
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
    "ActionsRepositoryOidcSubjectClaimCustomizationTemplate"
)
ORG_CLAIM_TEMPLATE = (
    "github:index/actionsOrganizationOidcSubjectClaimCustomizationTemplate:"
    "ActionsOrganizationOidcSubjectClaimCustomizationTemplate"
)

# --- Actions secrets and variables --------------------------------------------------------------------------------

_AWS_KEY_NAME = re.compile(r"AWS_(SECRET_)?ACCESS_KEY(_ID)?|AWS_SESSION_TOKEN", re.IGNORECASE)
_AWS_KEY_VALUE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
SECRET_VALUE_FIELDS = ("plaintextValue", "value")


def check_deploy_secrets_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    is_secret = resource.type in (REPO_SECRET, ENV_SECRET, ORG_SECRET)
    name = str(resource.get("secretName" if is_secret else "variableName", ""))
    if resource.type in (REPO_SECRET, ORG_SECRET):
        scope = "repository" if resource.type == REPO_SECRET else "organization"
        yield f"secret {name} is {scope}-wide, so every workflow can read it; expected an ActionsEnvironmentSecret"
    if _AWS_KEY_NAME.search(name):
        yield f"{name} holds an AWS access key; expected no AWS keys in GitHub: deploy through the OIDC role"
    values = [(f, resource.get(f)) for f in (SECRET_VALUE_FIELDS if is_secret else ("value",))]
    for field, value in values:
        if not isinstance(value, str):
            continue
        if _AWS_KEY_VALUE.search(value):
            yield f"{field} of {name} contains an AWS access key id; expected no AWS keys: use the OIDC role"
        elif is_secret and looks_hand_written(value, context.threshold("minSecretLength")):
            yield f"{field} of {name} looks like a literal typed into the program; expected a value from " \
                "`pulumi config set --secret`"
        elif not is_secret and (is_credential_value(value) or (is_credential_name(name, reference_exempts=False)
                                                               and not is_reference_value(value))):
            yield f"variable {name} looks like a credential stored in plain text; expected an " \
                "ActionsEnvironmentSecret"


def check_oidc_subject_claim(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == REPO_CLAIM_TEMPLATE and resource.get("useDefault") is True:
        return
    keys = set(strings(resource.get("includeClaimKeys")))
    if not keys & {"repo", "repository", "repository_id"}:
        yield f"includeClaimKeys {sorted(keys)} drops the repository; expected repo (or repository_id) in the subject"
    if not keys & {"environment", "context"}:
        yield f"includeClaimKeys {sorted(keys)} drops the environment; expected context or environment"


RULES: list[Rule] = [
    Rule(
        name="gh-deploy-secrets-hygiene",
        description="Actions secrets are environment-scoped, not literals, and never AWS access keys.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_GIT_4"),
        remediation="Use github.ActionsEnvironmentSecret with the value from `config.require_secret(...)`; remove "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and let the workflow assume the OIDC role; keep credentials out "
        "of Actions variables.",
        url="https://docs.github.com/en/actions/security-for-github-actions/security-guides/"
        "using-secrets-in-github-actions",
        resource_types=(REPO_SECRET, ENV_SECRET, ORG_SECRET, REPO_VARIABLE, ENV_VARIABLE, ORG_VARIABLE),
        check=check_deploy_secrets_hygiene,
        waivable=False,
        thresholds={"minSecretLength": 12},
    ),
    Rule(
        name="gh-oidc-subject-claim",
        description="Customised OIDC subject claims keep the repository and the environment.",
        enforcement="A",
        severity="medium",
        framework=gh_rule(5),
        remediation="Set `use_default=True`, or include \"repo\" (or \"repository_id\") and \"context\" in "
        "`include_claim_keys`, and update the role trust's sub condition to match.",
        url="https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
        "about-security-hardening-with-openid-connect#customizing-the-subject-claims-for-an-organization-or-"
        "repository",
        resource_types=(REPO_CLAIM_TEMPLATE, ORG_CLAIM_TEMPLATE),
        check=check_oidc_subject_claim,
    ),
]
