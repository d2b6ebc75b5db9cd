"""Reading IAM policy documents: the type tokens of everything that grants permissions, defensive parsing, IAM
wildcard matching, and the permission documents a resource carries (written inline, or the published grants of
the AWS-managed policies it attaches).

Policy documents arrive as JSON strings (or, from the object form of the SDK, as dicts); `Statement` may be one
statement or a list, `Action`/`Resource` a string or a list. Shared by the IAM rules (guardrails.iam_grants,
guardrails.iam_trust) and by the KMS, ECR, S3, Lambda and Secrets rules, which judge key, repository and bucket
policies the same way (they import these names through guardrails.iam).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.managed_policies import managed_document
from guardrails.rule import Resource
from guardrails.shapes import as_list

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


# The rules ask the same few patterns (the unscopable allowlist, the escalation actions) of the same few actions
# tens of thousands of times per stack: the answers are pure functions of their strings, so each is worked out once.
_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), flags=re.IGNORECASE)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def iam_match(pattern: str, value: str) -> bool:
    """IAM wildcard matching (`*` any run, `?` one character), case-insensitive as IAM actions are.

    The answer is the regular expression's (`.` matches no newline; re's case folding), but compiling one per
    pattern costs half a millisecond, paid on every `rampart check`: ASCII text without a newline, where folding
    is `lower()`, is matched directly."""
    if pattern.isascii() and value.isascii() and "\n" not in value:
        return _ascii_match(pattern.lower(), value.lower())
    return _wildcard_regex(pattern).fullmatch(value) is not None


def _ascii_match(pattern: str, value: str) -> bool:
    if "?" not in pattern:
        head, star, tail = pattern.partition("*")
        if not star:
            return pattern == value
        if "*" not in tail:  # `service:Prefix*` and the like
            return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)
    # The greedy glob walk: on a mismatch, let the last `*` take one more character and retry from there.
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, v, p + 1
        elif p < len(pattern) and pattern[p] in ("?", value[v]):
            p, v = p + 1, v + 1
        elif star >= 0:
            mark += 1
            p, v = star + 1, mark
        else:
            return False
    return all(c == "*" for c in pattern[p:])


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


@functools.lru_cache(maxsize=_CACHE_SIZE)
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


@functools.lru_cache(maxsize=_CACHE_SIZE)
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
    return _unscopable(action, tuple(allowlist))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _unscopable(action: str, allowlist: tuple[str, ...]) -> bool:
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
