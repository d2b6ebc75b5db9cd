"""IAM trust rules: the deploy role GitHub Actions assumes is tightly scoped and trusted only through GitHub OIDC
for pinned repositories and environments; no role trusts a wildcard principal; no IAM users.

Not waivable, because anyone outside the account could assume the role or hold a long-lived key:
iam-github-oidc-trust, iam-trust-no-wildcard-principal and iam-no-users-or-access-keys (long-lived credentials
are what OIDC replaced); and codebuild-source-credential-by-reference, the same for the source provider: a personal
access token or password stored with a CodeBuild source credential sits in the program and the Pulumi state, and
works until someone revokes it by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from guardrails.iam_documents import (
    GITHUB_ISSUER,
    OIDC_PROVIDER,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    attached_policy_arns,
    aws_managed_name,
    condition_keys,
    condition_values,
    describe,
    grants_action,
    is_allow,
    linked,
    parse_document,
    permission_documents,
    principal_values,
    resources,
    statements,
    strings,
    wildcard_principal,
)
from guardrails.iam_grants import DEFAULT_UNSCOPABLE_ACTIONS, wildcard_findings
from guardrails.rule import Context, Finding, Framework, Resource, Rule


def trusts_github_oidc(statement: Mapping[str, Any]) -> bool:
    if not grants_action(statement, "sts:AssumeRoleWithWebIdentity"):
        return False
    federated = principal_values(statement, "Federated")
    keys = condition_keys(statement)
    return any(GITHUB_ISSUER in f for f in federated) or any(k.lower().startswith(GITHUB_ISSUER + ":") for k in keys)


def trust_statements(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    document = parse_document(resource.get("assumeRolePolicy"))
    return [
        (describe("assumeRolePolicy", index, statement), statement)
        for index, statement in enumerate(statements(document))
        if is_allow(statement)
    ]


def github_subjects(statement: Mapping[str, Any]) -> list[str]:
    return condition_values(statement, f"{GITHUB_ISSUER}:sub")


def is_github_deploy_role(resource: Resource) -> bool:
    """A role GitHub Actions can assume, other than a pull-request preview role (every subject `:pull_request`),
    which cannot deploy: its own scoping is iam-no-wildcards' and iam-managed-policy-allowlist's business."""
    if resource.type != ROLE:
        return False
    for _, statement in trust_statements(resource):
        if trusts_github_oidc(statement):
            subjects = github_subjects(statement)
            if not subjects or not all(s.endswith(":pull_request") for s in subjects):
                return True
    return False


def _deploy_role_documents(role: Resource, stack: Sequence[Resource]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for label, document in permission_documents(role):
        yield label, document or {}
    for other in stack:
        if other.type == ROLE_POLICY and linked(other, "role", role):
            yield f"RolePolicy {other.name}.policy", parse_document(other.get("policy")) or {}


def _deploy_role_attachments(role: Resource, stack: Sequence[Resource]) -> Iterator[tuple[str, str]]:
    for field, arn in attached_policy_arns(role):
        yield f"role.{field}", arn
    for other in stack:
        if other.type == ROLE_POLICY_ATTACHMENT and linked(other, "role", role):
            yield f"RolePolicyAttachment {other.name}.policyArn", str(other.get("policyArn", ""))


def check_deploy_role_scoped(resources_: Sequence[Resource], context: Context) -> Iterator[Finding]:
    allowlist = strings(context.threshold("unscopableActions"))
    max_session = context.threshold("maxSessionSeconds")
    for role in resources_:
        if not is_github_deploy_role(role):
            continue
        session = role.get("maxSessionDuration", 3600)
        if float(session) > max_session:
            yield Finding(
                f"deploy role {role.name}: maxSessionDuration is {int(float(session))}s, expected at most "
                f"{max_session}s",
                role.urn,
            )
        for label, arn in _deploy_role_attachments(role, resources_):
            managed = aws_managed_name(arn)
            if managed is not None:
                yield Finding(
                    f"deploy role {role.name}: {label} attaches AWS-managed {managed}, which is not scoped to this "
                    "app; expected an inline policy naming this stack's resources",
                    role.urn,
                )
        for label, document in _deploy_role_documents(role, resources_):
            for index, statement in enumerate(statements(document)):
                if not is_allow(statement):
                    continue
                where = f"deploy role {role.name}: {describe(label, index, statement)}"
                for message in wildcard_findings(where, statement, allowlist):
                    yield Finding(message, role.urn)
                if grants_action(statement, "iam:PassRole"):
                    passed_to = condition_values(statement, "iam:PassedToService", ("StringEquals", "StringLike"))
                    if passed_to != ["ecs-tasks.amazonaws.com"]:
                        yield Finding(
                            f"{where}: iam:PassRole condition iam:PassedToService is {passed_to or 'not set'}, "
                            "expected StringEquals ecs-tasks.amazonaws.com",
                            role.urn,
                        )
                    wildcard = [r for r in resources(statement) if "*" in r]
                    if wildcard:
                        yield Finding(
                            f"{where}: iam:PassRole on {', '.join(wildcard)}; expected the task and execution role "
                            "ARNs",
                            role.urn,
                        )


_SUBJECT = re.compile(r"^repo:([^/:@]+)(?:@\d+)?/([^/:@]+)(?:@\d+)?:(.+)$")


def _subject_findings(where: str, subject: str, kinds: Sequence[str], repositories: Sequence[str]) -> Iterator[str]:
    if "*" in subject or "?" in subject:
        yield f"{where}: sub {subject!r} contains a wildcard; expected repo:OWNER/REPO:environment:NAME"
        return
    match = _SUBJECT.match(subject)
    if match is None:
        yield f"{where}: sub {subject!r} is not repo:OWNER/REPO:environment:NAME"
        return
    owner, repo, rest = match.groups()
    kind = rest.split(":", 1)[0]
    if kind not in kinds or (kind == "environment" and not rest.partition(":")[2]):
        yield f"{where}: sub {subject!r} is not pinned to an environment; expected one of {', '.join(kinds)}"
    allowed = {r.lower() for r in repositories}
    if allowed and f"{owner}/{repo}".lower() not in allowed:
        yield f"{where}: sub {subject!r} names repository {owner}/{repo}, expected one of {', '.join(repositories)}"


def check_github_oidc_trust(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == OIDC_PROVIDER:
        url = str(resource.get("url", ""))
        if url.removeprefix("https://").rstrip("/") != GITHUB_ISSUER:
            return
        audiences = strings(resource.get("clientIdLists"))
        if audiences != ["sts.amazonaws.com"]:
            yield f"clientIdLists is {audiences}, expected exactly ['sts.amazonaws.com']"
        return
    kinds = strings(context.threshold("allowedSubjectKinds"))
    repositories = strings(context.threshold("allowedRepositories"))
    for where, statement in trust_statements(resource):
        if not trusts_github_oidc(statement):
            continue
        audiences = condition_values(statement, f"{GITHUB_ISSUER}:aud", ("StringEquals",))
        if audiences != ["sts.amazonaws.com"]:
            yield f"{where}: StringEquals {GITHUB_ISSUER}:aud is {audiences or 'not set'}, expected sts.amazonaws.com"
        loose = condition_values(statement, f"{GITHUB_ISSUER}:sub", ("StringLike", "ForAnyValue:StringLike"))
        subjects = condition_values(statement, f"{GITHUB_ISSUER}:sub", ("StringEquals",)) + loose
        if not subjects:
            yield f"{where}: no {GITHUB_ISSUER}:sub condition, so any repository could assume the role; expected " \
                "StringEquals repo:OWNER/REPO:environment:NAME"
        for subject in subjects:
            yield from _subject_findings(where, subject, kinds, repositories)


def check_trust_no_wildcard_principal(resource: Resource, context: Context) -> Iterator[str]:
    for where, statement in trust_statements(resource):
        if wildcard_principal(statement):
            yield f"{where}: Principal \"*\" (or NotPrincipal) lets any AWS account assume the role; expected " \
                "named principals"


def check_no_users_or_access_keys(resource: Resource, context: Context) -> Iterator[str]:
    kind = resource.type.rsplit(":", 1)[-1]
    yield f"{kind} {resource.name or ''} is a long-lived IAM user credential; expected roles assumed through OIDC"


SOURCE_CREDENTIAL = "aws:codebuild/sourceCredential:SourceCredential"
_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/\S+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$")
_STORED = {"PERSONAL_ACCESS_TOKEN": "token", "BASIC_AUTH": "password", "OAUTH": "OAuth token"}
_BY_REFERENCE = "expected CODECONNECTIONS (token = a connection ARN) or SECRETS_MANAGER (token = a Secrets Manager " \
    "secret ARN)"


def check_source_credential_by_reference(resource: Resource, context: Context) -> Iterator[str]:
    """The auth type says what the token is. A connection's token is its ARN (an unknown one, `connection.arn` on
    a first preview, passes: nothing else fits there); a literal in its place fails. A personal access token or
    password fails whatever its value: marked secret or not (the pack sees secrets unwrapped), it is long-lived and
    stored with the credential. Secrets Manager needs the token to be a secret's ARN; an unknown one is
    undeterminable. The token itself is never echoed."""
    auth_type = resource.get("authType")
    if auth_type == "CODECONNECTIONS":
        try:
            token = resource.get("token")
        except UnknownValueError:  # `token=connection.arn` on a first preview: a connection's ARN by construction
            return
        if not _CONNECTION_ARN.match(str(token or "")):
            yield f"authType CODECONNECTIONS with a token that is not a connection ARN; {_BY_REFERENCE}"
        return
    if auth_type == "SECRETS_MANAGER":
        if not _SECRET_ARN.match(str(resource.get("token", ""))):
            yield f"authType SECRETS_MANAGER with a token that is not a Secrets Manager secret ARN; {_BY_REFERENCE}"
        return
    if auth_type is None:
        yield f"authType is not set; {_BY_REFERENCE}"
        return
    stored = _STORED.get(str(auth_type), "credential")
    try:
        server = resource.get("serverType") or "source provider"
    except UnknownValueError:  # only named in the message: the violation is certain without it
        server = "source provider"
    yield f"authType {auth_type} stores a long-lived {server} {stored} with the credential (and in the Pulumi " \
        f"state); {_BY_REFERENCE}"


IAM_USER_TYPES = (
    "aws:iam/user:User",
    "aws:iam/accessKey:AccessKey",
    "aws:iam/userLoginProfile:UserLoginProfile",
    "aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
    "aws:iam/signingCertificate:SigningCertificate",
    "aws:iam/sshKey:SshKey",
)


RULES: list[Rule] = [
    Rule(
        name="iam-deploy-role-scoped",
        description="The GitHub deploy role passes only ECS task roles, names this app's resources and keeps "
        "sessions to an hour.",
        enforcement="M",
        severity="high",
        framework=Framework("Checkov", "CKV_AWS_286"),
        remediation="On the role trusted by GitHub OIDC set `max_session_duration` ≤ 3600; in its policies scope "
        "iam:PassRole to the task/execution role ARNs with Condition StringEquals iam:PassedToService = "
        "ecs-tasks.amazonaws.com, name resource ARNs instead of \"*\", and attach no AWS-managed policies.",
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
        stack_check=check_deploy_role_scoped,
        thresholds={"maxSessionSeconds": 3600, "unscopableActions": list(DEFAULT_UNSCOPABLE_ACTIONS)},
    ),
    Rule(
        name="iam-github-oidc-trust",
        description="GitHub OIDC roles trust the GitHub issuer for audience sts.amazonaws.com and a subject pinned "
        "to a repository and environment.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_AWS_393, CKV_AWS_358"),
        remediation="In `assume_role_policy` use Condition StringEquals "
        "\"token.actions.githubusercontent.com:aud\": \"sts.amazonaws.com\" and "
        "\"token.actions.githubusercontent.com:sub\": \"repo:OWNER/REPO:environment:NAME\" (both subject forms, no "
        "wildcards); on the OpenIdConnectProvider set `client_id_lists=[\"sts.amazonaws.com\"]`.",
        url="https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
        "configuring-openid-connect-in-amazon-web-services",
        resource_types=(ROLE, OIDC_PROVIDER),
        check=check_github_oidc_trust,
        waivable=False,
        # pull_request: the read-only preview role (forks get no token); deploy roles pin an environment.
        thresholds={"allowedSubjectKinds": ["environment", "pull_request"], "allowedRepositories": []},
    ),
    Rule(
        name="iam-trust-no-wildcard-principal",
        description="No role trust policy allows a wildcard principal.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_AWS_60, CKV_AWS_61"),
        remediation="Name the principals in `assume_role_policy` (service principals, account or role ARNs, the "
        "OIDC provider ARN) instead of \"*\" or NotPrincipal.",
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        resource_types=(ROLE,),
        check=check_trust_no_wildcard_principal,
        waivable=False,
    ),
    Rule(
        name="iam-no-users-or-access-keys",
        description="No IAM users, access keys or login profiles: CI and people use roles.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_AWS_273"),
        remediation="Remove the aws.iam.User / AccessKey / UserLoginProfile; let CI assume a role through GitHub "
        "OIDC and people through IAM Identity Center.",
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-workloads-use-roles",
        resource_types=IAM_USER_TYPES,
        check=check_no_users_or_access_keys,
        waivable=False,
    ),
    Rule(
        name="codebuild-source-credential-by-reference",
        description="CodeBuild reaches GitHub, GitLab or Bitbucket through a CodeConnections connection or a "
        "Secrets Manager secret named by ARN, never a personal access token or password stored with the "
        "credential.",
        enforcement="M",
        severity="critical",
        framework=Framework("Rampart deployment safety", "SEC-2"),
        remediation="Create an aws.codestarconnections.Connection (authorise it once in the console) and set "
        "`auth_type=\"CODECONNECTIONS\"`, `token=connection.arn` on the aws.codebuild.SourceCredential; or keep "
        "the token in an aws.secretsmanager.Secret under the stack CMK and set `auth_type=\"SECRETS_MANAGER\"`, "
        "`token=secret.arn`. Then revoke the personal access token.",
        url="https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ImportSourceCredentials.html",
        resource_types=(SOURCE_CREDENTIAL,),
        check=check_source_credential_by_reference,
        waivable=False,
    ),
]
