"""IAM rules: no admin grants, no unscoped wildcards, no privilege escalation, a tightly scoped deploy role
trusted only by GitHub OIDC for pinned repositories and environments, no wildcard trust, no IAM users.

Policy documents arrive as JSON strings (or, from the object form of the SDK, as dicts); `Statement` may be one
statement or a list, `Action`/`Resource` a string or a list. The helpers here parse them defensively and are
shared with the KMS and ECR rules, which judge key and repository policies the same way.

Not waivable, because a waiver would leave the account open rather than a resource less hardened:
iam-no-admin (full account takeover), iam-no-privilege-escalation (admin in two steps), iam-github-oidc-trust
and iam-trust-no-wildcard-principal (anyone outside the account could assume the role), iam-no-users-or-access-keys
(long-lived credentials are what OIDC replaced).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.managed_policies import managed_document
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import as_list

FSBP = "AWS Foundational Security Best Practices"
SH_IAM_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html"

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
ROLE_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
USER_ATTACHMENTS_EXCLUSIVE = "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive"
GROUP_ATTACHMENTS_EXCLUSIVE = "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive"
SSO_MANAGED_ATTACHMENT = "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"

POLICY_DOCUMENT_TYPES = (ROLE, ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY)
ATTACHMENT_TYPES = (
    ROLE_POLICY_ATTACHMENT,
    POLICY_ATTACHMENT,
    USER_POLICY_ATTACHMENT,
    GROUP_POLICY_ATTACHMENT,
    ROLE_ATTACHMENTS_EXCLUSIVE,
    USER_ATTACHMENTS_EXCLUSIVE,
    GROUP_ATTACHMENTS_EXCLUSIVE,
    SSO_MANAGED_ATTACHMENT,
)
GRANTING_TYPES = POLICY_DOCUMENT_TYPES + ATTACHMENT_TYPES
"""Everything that grants permissions: documents written inline, and attachments of (AWS-managed) policies."""
GITHUB_ISSUER = "token.actions.githubusercontent.com"


# --- policy documents -------------------------------------------------------------------------------------------


def get_ci(mapping: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """Policy JSON keys are PascalCase; the SDK's object form may send them camelCase."""
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for candidate in mapping:
        if isinstance(candidate, str) and candidate.lower() == lowered:
            return mapping[candidate]
    return default


def parse_document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from a JSON string or an object; None when it is absent or not a document."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if document is None:
        return []
    return [s for s in as_list(get_ci(document, "Statement")) if isinstance(s, Mapping)]


def strings(value: Any) -> list[str]:
    return [str(v) for v in as_list(value) if v is not None]


def is_allow(statement: Mapping[str, Any]) -> bool:
    return str(get_ci(statement, "Effect", "")).lower() == "allow"


def describe(label: str, index: int, statement: Mapping[str, Any]) -> str:
    sid = get_ci(statement, "Sid")
    return f"{label} statement {index}" + (f" ({sid})" if sid else "")


def iam_match(pattern: str, value: str) -> bool:
    """IAM wildcard matching (`*` any run, `?` one character), case-insensitive as IAM actions are."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, flags=re.IGNORECASE) is not None


def grants_action(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement's Action (or NotAction) covers the concrete `action`."""
    if get_ci(statement, "Action") is not None:
        return any(iam_match(p, action) for p in strings(get_ci(statement, "Action")))
    not_actions = get_ci(statement, "NotAction")
    if not_actions is not None:
        return not any(iam_match(p, action) for p in strings(not_actions))
    return False


def actions(statement: Mapping[str, Any]) -> list[str]:
    return strings(get_ci(statement, "Action"))


_RESOURCE_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
# Services whose ARN resource part starts with a name the customer chose (a bucket), not a resource type.
_NAMED_FIRST = frozenset({"s3", "s3-object-lambda"})


def wildcard_service(resource: str) -> str | None:
    """The service every resource of which `resource` matches ("*" for every service), or None when it names
    something narrower. Judged by what the pattern matches, not by how it is written: `arn:aws:logs:*:*:*`,
    `arn:aws:s3:::*`, `arn:aws:dynamodb:*:*:table/*` and `log-group:*:log-stream:*` are all of their service;
    `table/orders/index/*` and `arn:aws:s3:::my-bucket/*` are not. Region and account are not read: a pattern
    over every resource of this account is every resource a stack's workload can reach."""
    if resource == "*":
        return "*"
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        return None
    service, segments = parts[2].lower(), re.split(r"[:/]", parts[5])
    if segments[-1] != "*" or (service in _NAMED_FIRST and segments[0] != "*"):
        return None
    if len(segments) > 1 and segments[1] != "*":
        return None  # `type/<name>/...`: one named resource and what is under it
    if not all(s == "*" or _RESOURCE_TYPE.match(s) for s in segments):
        return None
    return service


def is_wildcard_resource(resource: str) -> bool:
    """`*`, or an ARN matching every resource of its service (`role/*`, `secret:*`, `arn:aws:logs:*:*:*`)."""
    return wildcard_service(resource) is not None


def covers_action(resource: str, action: str) -> bool:
    """Whether `resource` matches every resource `action` (or action pattern) can act on."""
    service = wildcard_service(resource)
    if service is None:
        return False
    action_service = action.split(":", 1)[0].lower() if ":" in action else "*"
    return "*" in (service, action_service) or service in _RESOURCE_SERVICES.get(action_service, (action_service,))


# Actions of these services act on resources of other services too (sts:AssumeRole on an IAM role ARN).
_RESOURCE_SERVICES = {"sts": ("sts", "iam")}


def resources(statement: Mapping[str, Any]) -> list[str]:
    """The statement's resources; a NotResource counts as `*` (it grants everything not listed)."""
    if get_ci(statement, "Resource") is None and get_ci(statement, "NotResource") is not None:
        return ["*"]
    return strings(get_ci(statement, "Resource"))


def condition_values(statement: Mapping[str, Any], key: str, operators: Sequence[str] | None = None) -> list[str]:
    """Values of condition `key` under the given operators (any operator when None), case-insensitive keys."""
    found: list[str] = []
    condition = get_ci(statement, "Condition")
    if not isinstance(condition, Mapping):
        return found
    for operator, entries in condition.items():
        if operators is not None and str(operator).lower() not in {o.lower() for o in operators}:
            continue
        if isinstance(entries, Mapping):
            for name, value in entries.items():
                if str(name).lower() == key.lower():
                    found.extend(strings(value))
    return found


def condition_keys(statement: Mapping[str, Any]) -> list[str]:
    condition = get_ci(statement, "Condition")
    if not isinstance(condition, Mapping):
        return []
    return [str(name) for entries in condition.values() if isinstance(entries, Mapping) for name in entries]


def wildcard_principal(statement: Mapping[str, Any]) -> bool:
    """Principal `*` / {"AWS": "*"} (any member), or a NotPrincipal (everyone but the listed)."""
    if get_ci(statement, "NotPrincipal") is not None:
        return True
    principal = get_ci(statement, "Principal")
    if isinstance(principal, Mapping):
        return any(v == "*" for values in principal.values() for v in strings(values))
    return "*" in strings(principal)


def principal_values(statement: Mapping[str, Any], kind: str) -> list[str]:
    principal = get_ci(statement, "Principal")
    if isinstance(principal, Mapping):
        return strings(get_ci(principal, kind))
    return []


def permission_documents(resource: Resource) -> list[tuple[str, Mapping[str, Any] | None]]:
    """The permission policies a resource carries, labelled by the input they came from (not trust policies):
    documents written inline, and the pinned grants of the AWS-managed policies it attaches."""
    if resource.type == ROLE:
        documents: list[tuple[str, Mapping[str, Any] | None]] = []
        for index, inline in enumerate(as_list(resource.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy") is not None:
                documents.append((f"inlinePolicies[{index}].policy", parse_document(inline.get("policy"))))
        return documents + managed_documents(resource)
    if resource.type in (ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY) and resource.get("policy") is not None:
        return [("policy", parse_document(resource.get("policy")))]
    if resource.type in ATTACHMENT_TYPES:
        return managed_documents(resource)
    return []


def managed_documents(resource: Resource) -> list[tuple[str, Mapping[str, Any] | None]]:
    """What the AWS-managed policies a resource attaches grant (guardrails.managed_policies), by meaning."""
    documents: list[tuple[str, Mapping[str, Any] | None]] = []
    for field, arn in attached_policy_arns(resource):
        name = aws_managed_name(arn)
        document = managed_document(name) if name else None
        if document is not None:
            documents.append((f"{field} {name} (AWS-managed, as published)", document))
    return documents


def allow_statements(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(description, statement) for every Allow statement of the resource's permission policies."""
    for label, document in permission_documents(resource):
        for index, statement in enumerate(statements(document)):
            if is_allow(statement):
                yield describe(label, index, statement), statement


def attached_policy_arns(resource: Resource) -> list[tuple[str, str]]:
    """(input name, ARN) of managed policies a resource attaches."""
    if resource.type == ROLE:
        return [("managedPolicyArns", arn) for arn in strings(resource.get("managedPolicyArns"))]
    if resource.type in (ROLE_ATTACHMENTS_EXCLUSIVE, USER_ATTACHMENTS_EXCLUSIVE, GROUP_ATTACHMENTS_EXCLUSIVE):
        return [("policyArns", arn) for arn in strings(resource.get("policyArns"))]
    if resource.type == SSO_MANAGED_ATTACHMENT:
        arn = resource.get("managedPolicyArn")
        return [("managedPolicyArn", str(arn))] if arn is not None else []
    if resource.type in ATTACHMENT_TYPES and resource.get("policyArn") is not None:
        return [("policyArn", str(resource.get("policyArn")))]
    return []


_AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(.+)$")


def aws_managed_name(arn: str) -> str | None:
    """`service-role/AmazonECSTaskExecutionRolePolicy` for an AWS-managed policy ARN, else None."""
    match = _AWS_MANAGED.match(arn)
    return match.group(1) if match else None


def unscopable(action: str, allowlist: Sequence[str]) -> bool:
    """An action (or action pattern) that IAM only grants on `*`, per the configured allowlist."""
    return any(iam_match(allowed, action) for allowed in allowlist)


def urn_type(urn: str) -> str:
    """The type token inside a URN (`urn:pulumi:stack::project::parent$type::name`)."""
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) >= 4 else ""


def linked(resource: Resource, field: str, target: Resource) -> bool:
    """`resource.<field>` refers to `target`: by property dependency, or by the target's literal name.

    A field that depends on other resources is not read: its value may be unknown at preview, and reading an
    unknown makes the whole stack rule undeterminable."""
    dependencies = resource.property_dependencies.get(field, ())
    if dependencies:
        return target.urn in dependencies
    value = resource.get(field)
    return value is not None and target.get("name") is not None and value == target.get("name")


# --- rules ------------------------------------------------------------------------------------------------------



def check_no_admin(resource: Resource, context: Context) -> Iterator[str]:
    # AWS-managed policies are judged by their published grants (permission_documents): AdministratorAccess is
    # Action "*", PowerUserAccess a NotAction on "*".
    for where, statement in allow_statements(resource):
        if not any(wildcard_service(r) == "*" for r in resources(statement)):
            continue
        if any(a in ("*", "*:*") for a in actions(statement)):
            yield f"{where}: Action \"*\" on Resource \"*\" grants full administrator access; expected named actions"
        elif get_ci(statement, "NotAction") is not None:
            yield f"{where}: NotAction on Resource \"*\" grants every other action; expected named actions"


DEFAULT_UNSCOPABLE_ACTIONS = (
    "ecr:GetAuthorizationToken",
    "sts:GetCallerIdentity",
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
    "cloudwatch:DescribeAlarmsForMetric",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:DescribeLogGroups",
    "ec2:Describe*",
    "elasticloadbalancing:Describe*",
    "application-autoscaling:Describe*",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListClusters",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "secretsmanager:ListSecrets",
    "kms:ListKeys",
    "kms:ListAliases",
    "iam:ListRoles",
    "tag:GetResources",
    "rds:DescribeDBEngineVersions",
    # No resource-level permissions (Service Authorization Reference; awsdocs/aws-codedeploy-user-guide#18).
    "codedeploy:ContinueDeployment",
    "codedeploy:StopDeployment",
)


def _service_wide(action: str) -> bool:
    return action in ("*", "*:*") or (action.endswith(":*") and action.count(":") == 1)


# Describe*/List* over one resource type (`alarm:*`, `snapshot:*`): listing is over whatever exists of that type
# by nature, and the pattern already keeps it to that type; on "*" it is judged as before.
_LISTING = re.compile(r"^[A-Za-z0-9-]+:(Describe|List)[A-Za-z0-9]*$")


def _every(resource: str) -> str:
    """`arn:aws:rds:...:snapshot:*` -> "every rds snapshot"; `arn:aws:logs:*:*:*` -> "every logs resource"."""
    kind = re.split(r"[:/]", resource.split(":", 5)[5])[0]
    return f"every {wildcard_service(resource)} {kind if kind != '*' else 'resource'}"


def _tag_scoped(statement: Mapping[str, Any]) -> bool:
    """A typed pattern narrowed by the resources' (or the request's) tags: only tagged resources are granted."""
    return any(k.lower().startswith(("aws:resourcetag/", "aws:requesttag/")) for k in condition_keys(statement))


def wildcard_findings(where: str, statement: Mapping[str, Any], allowlist: Sequence[str]) -> Iterator[str]:
    """Service-wide action wildcards, and `*` resources for actions that support resource-level scoping."""
    if get_ci(statement, "NotAction") is not None:
        yield f"{where}: NotAction allows every action not listed; expected Action with named actions"
    for action in actions(statement):
        if _service_wide(action):
            yield f"{where}: Action {action} is a service-wide wildcard; expected named actions"
    wide = [r for r in resources(statement) if r == "*" or (is_wildcard_resource(r) and not _tag_scoped(statement))]
    scopable = [a for a in actions(statement) if not _service_wide(a) and not unscopable(a, allowlist)
                and any(covers_action(r, a) and (r == "*" or not _LISTING.match(a)) for r in wide)]
    if scopable:
        shown = ", ".join("\"*\"" if r == "*" else f"{r} ({_every(r)})"
                          for r in wide if any(covers_action(r, a) for a in scopable))
        yield (
            f"{where}: Resource {shown} for {', '.join(scopable)}, which support resource-level permissions; "
            "expected the ARNs of this stack's resources"
        )


def check_no_wildcards(resource: Resource, context: Context) -> Iterator[str]:
    allowlist = strings(context.threshold("unscopableActions"))
    for where, statement in allow_statements(resource):
        yield from wildcard_findings(where, statement, allowlist)


def check_managed_policy_allowlist(resource: Resource, context: Context) -> Iterator[str]:
    allowed = set(strings(context.threshold("allowedManagedPolicies")))
    for field, arn in attached_policy_arns(resource):
        name = aws_managed_name(arn)
        if name is not None and name not in allowed:
            yield f"{field}: AWS-managed policy {name} is not in the allowlist ({', '.join(sorted(allowed))})"


POLICY_EDITING_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:AddUserToGroup",
)
CREDENTIAL_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "sts:GetFederationToken",
    "sts:AssumeRole",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ec2:GetPasswordData",
    "redshift:GetClusterCredentials",
    "rds-db:Connect",
    "sso:GetRoleCredentials",
)


def check_no_privilege_escalation(resource: Resource, context: Context) -> Iterator[str]:
    for where, statement in allow_statements(resource):
        wildcard = [r for r in resources(statement) if is_wildcard_resource(r)]
        if not wildcard:
            continue
        on = ", ".join(wildcard)

        def granted(action: str, _statement: Mapping[str, Any] = statement, _wide: list[str] = wildcard) -> bool:
            return grants_action(_statement, action) and any(covers_action(r, action) for r in _wide)

        if granted("iam:PassRole") and not condition_values(statement, "iam:PassedToService"):
            yield (
                f"{where}: iam:PassRole on {on} without an iam:PassedToService condition lets the holder hand any "
                "role to any service; expected named role ARNs and iam:PassedToService"
            )
        editing = [a for a in POLICY_EDITING_ACTIONS if granted(a)]
        if editing:
            yield f"{where}: {', '.join(editing)} on {on} lets the holder rewrite permissions; expected none"
        credentials = [a for a in CREDENTIAL_ACTIONS if granted(a)]
        if credentials:
            yield f"{where}: {', '.join(credentials)} on {on} exposes credentials; expected named resource ARNs"


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
                            f"{where}: iam:PassRole condition iam:PassedToService is {passed_to or 'unset'}, "
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
            yield f"{where}: StringEquals {GITHUB_ISSUER}:aud is {audiences or 'unset'}, expected sts.amazonaws.com"
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


IAM_USER_TYPES = (
    "aws:iam/user:User",
    "aws:iam/accessKey:AccessKey",
    "aws:iam/userLoginProfile:UserLoginProfile",
    "aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
    "aws:iam/signingCertificate:SigningCertificate",
    "aws:iam/sshKey:SshKey",
)

POLICIES: list[Rule] = [
    Rule(
        name="iam-no-admin",
        description="No IAM policy grants every action on every resource, and AdministratorAccess is never attached.",
        enforcement="M",
        severity="critical",
        framework=Framework(FSBP, "IAM.1"),
        remediation="Replace Action \"*\" / Resource \"*\" (or NotAction) in the `policy` / `inline_policies` "
        "document with the named actions and resource ARNs the workload needs; remove AdministratorAccess from "
        "`policy_arn` / `managed_policy_arns`.",
        url=f"{SH_IAM_URL}#iam-1",
        resource_types=GRANTING_TYPES,
        check=check_no_admin,
        waivable=False,
    ),
    Rule(
        name="iam-no-wildcards-without-exemption",
        description="No service-wide action wildcards and no Resource \"*\" for actions that can be scoped.",
        enforcement="MP",
        severity="high",
        framework=Framework(FSBP, "IAM.21"),
        remediation="List the actions by name in the `policy` document and name the resource ARNs (pass the "
        "resources' `.arn` outputs); actions that only accept \"*\" belong in the `unscopableActions` config; "
        "otherwise waive the finding with a reason.",
        url=f"{SH_IAM_URL}#iam-21",
        resource_types=GRANTING_TYPES,
        check=check_no_wildcards,
        thresholds={"unscopableActions": list(DEFAULT_UNSCOPABLE_ACTIONS)},
    ),
    Rule(
        name="iam-managed-policy-allowlist",
        description="AWS-managed policies are attached only from an explicit allowlist.",
        enforcement="A",
        severity="medium",
        framework=Framework("cdk-nag AwsSolutions", "IAM4"),
        remediation="Replace the AWS-managed `policy_arn` with an inline or customer-managed policy scoped to the "
        "stack's resources, or add it to `allowedManagedPolicies` with a reason.",
        url="https://github.com/cdklabs/cdk-nag/blob/main/RULES.md",
        resource_types=(ROLE,) + ATTACHMENT_TYPES,
        check=check_managed_policy_allowlist,
        thresholds={
            "allowedManagedPolicies": [
                "service-role/AmazonECSTaskExecutionRolePolicy",
                "AWSCodeDeployRoleForECS",
                "service-role/AmazonRDSEnhancedMonitoringRole",
                "service-role/AWSBackupServiceRolePolicyForBackup",
                "service-role/AWSBackupServiceRolePolicyForRestores",
            ]
        },
    ),
    Rule(
        name="iam-no-privilege-escalation",
        description="No unconstrained iam:PassRole, policy editing or credential-exposing actions on wildcard "
        "resources.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_AWS_286, CKV_AWS_287, CKV_AWS_289, CKV_AWS_110, CKV_AWS_107, "
                            "CKV_AWS_109"),
        remediation="In the `policy` document, name the role ARNs for iam:PassRole and add a Condition on "
        "iam:PassedToService; drop iam:Put*/Attach*/CreatePolicyVersion; scope credential actions "
        "(secretsmanager:GetSecretValue, sts:AssumeRole, ...) to named ARNs.",
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
        resource_types=GRANTING_TYPES,
        check=check_no_privilege_escalation,
        waivable=False,
    ),
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
]
