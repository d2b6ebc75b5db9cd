"""A faithful IAM evaluator for tests: @cloud-copilot/iam-simulate (tools/iam/evaluate.mjs), run by node.

moto's own IAM enforcement judges every resource as `*`, so it cannot tell a scoped policy from a broad one; this
evaluates ARNs, wildcards, conditions, NotAction/NotResource and explicit denies as AWS documents them, and
validates each request's action, resource type and context keys against the Service Authorization Reference data
the library ships (an unknown action or an ARN of the wrong type is an error, never a silent deny).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "iam"
SCRIPT = TOOL / "evaluate.mjs"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


@dataclass(frozen=True)
class Request:
    """One authorisation AWS makes: an action on one resource ARN (or `*`), with its request context."""

    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    origin: str = ""
    """What caused it (e.g. `ecs.RunTask`, or `implicit for ecs.RunTask`), for messages."""
    resource_policy: Mapping[str, Any] | None = field(default=None, compare=False)
    """The resource's own policy where AWS consults one (a KMS key policy): None, identity policies alone."""

    def as_json(self) -> dict[str, Any]:
        found = {"action": self.action, "resource": self.resource, "context": dict(self.context)}
        if self.resource_policy is not None:
            found["resourcePolicy"] = dict(self.resource_policy)
        return found

    def __str__(self) -> str:
        context = f" {dict(self.context)}" if self.context else ""
        origin = f" (from {self.origin})" if self.origin and self.origin != self.action else ""
        return f"{self.action} on {self.resource}{context}{origin}"


@dataclass(frozen=True)
class Decision:
    request: Request
    decision: str
    """Allowed, ImplicitlyDenied, ExplicitlyDenied, or Error (the request itself is invalid)."""
    statements: tuple[str, ...] = ()
    """The statements that decided it (`policy-N#Sid`), when the library says."""
    ignored_context_keys: tuple[str, ...] = ()
    error: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision == "Allowed"

    def __str__(self) -> str:
        why = f" by {', '.join(self.statements)}" if self.statements else ""
        error = f": {self.error}" if self.error else ""
        return f"{self.decision}{why}{error}: {self.request}"


class EvaluatorUnavailable(RuntimeError):
    pass


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise EvaluatorUnavailable("node is not on PATH: the IAM evaluator runs under node >= 20")
    if not (TOOL / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise EvaluatorUnavailable(f"{TOOL}/node_modules missing: run `make setup` (npm ci --prefix tools/iam)")
    return node


def evaluate(policies: Sequence[Mapping[str, Any]], requests: Sequence[Request], *,
             account_id: str = "123456789012") -> list[Decision]:
    """Decide every request against the identity policies, in one node process."""
    if not requests:
        return []
    document = {"identityPolicies": list(policies), "requests": [r.as_json() for r in requests],
                "accountId": account_id}
    answers = _run(document)
    return [_decision(request, a) for request, a in zip(requests, answers, strict=True)]


def _run(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    done = subprocess.run([_node(), str(SCRIPT)], input=json.dumps(document), capture_output=True, text=True,
                          check=False, timeout=600)
    if done.returncode != 0:
        raise EvaluatorUnavailable(f"evaluate.mjs exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)["decisions"]


def _decision(request: Request, answer: Mapping[str, Any]) -> Decision:
    return Decision(request, answer["decision"], tuple(answer.get("statements") or ()),
                    tuple(answer.get("ignoredContextKeys") or ()), answer.get("error") or "")


# --- the role as the stack registers it ---------------------------------------------------------------------


def role_policies(recording: Any, role_name_suffix: str) -> list[dict[str, Any]]:
    """The inline policy documents (RolePolicy inputs) of the one role whose name ends with the suffix.

    Managed-policy attachments cannot be evaluated offline (their documents live in AWS): a role that has any
    fails loudly here rather than being judged on half its permissions."""
    roles = [r for r in recording.by_type(ROLE) if str(r.plain_inputs().get("name", "")).endswith(role_name_suffix)]
    if len(roles) != 1:
        names = sorted(str(r.plain_inputs().get("name")) for r in recording.by_type(ROLE))
        raise LookupError(f"expected one role named *{role_name_suffix}, found {len(roles)} among {names}")
    name = str(roles[0].plain_inputs()["name"])
    attached = [r for r in recording.by_type(ATTACHMENT) if r.plain_inputs().get("role") == name]
    if attached:
        arns = [r.plain_inputs().get("policyArn") for r in attached]
        raise LookupError(f"role {name} has managed policies {arns}: the offline evaluator cannot judge them")
    documents = [r.plain_inputs()["policy"] for r in recording.by_type(ROLE_POLICY)
                 if r.plain_inputs().get("role") == name]
    if not documents:
        raise LookupError(f"role {name} has no inline policy in the recording")
    return [json.loads(d) if isinstance(d, str) else dict(d) for d in documents]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def allow_statements(policies: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(s) for p in policies for s in _as_list(p.get("Statement", [])) if s.get("Effect") == "Allow"]


def granted_actions(policies: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every action pattern an Allow statement names (NotAction grants are reported as `NotAction:<pattern>`)."""
    found: list[str] = []
    for statement in allow_statements(policies):
        if "NotAction" in statement:
            found += [f"NotAction:{a}" for a in _as_list(statement["NotAction"])]
        found += [str(a) for a in _as_list(statement.get("Action", []))]
    return sorted(set(found), key=str.lower)


def unused_actions(policies: Iterable[Mapping[str, Any]], requests: Iterable[Request]) -> list[str]:
    """Granted action patterns that no request exercises (IAM action names match case-insensitively)."""
    used = {r.action.lower() for r in requests}
    return [pattern for pattern in granted_actions(policies)
            if not any(fnmatch.fnmatchcase(action, pattern.lower()) for action in used)]


def without_action(policies: Sequence[Mapping[str, Any]], action: str) -> list[dict[str, Any]]:
    """The policies with `action` taken out of every Allow statement (a statement left empty is dropped)."""
    stripped: list[dict[str, Any]] = []
    for policy in policies:
        statements = []
        for statement in _as_list(policy.get("Statement", [])):
            statement = dict(statement)
            if statement.get("Effect") == "Allow" and "Action" in statement:
                kept = [a for a in _as_list(statement["Action"]) if str(a).lower() != action.lower()]
                if not kept:
                    continue
                statement["Action"] = kept
            statements.append(statement)
        stripped.append({**policy, "Statement": statements})
    return stripped


def denied(policies: Sequence[Mapping[str, Any]], requests: Sequence[Request]) -> list[Decision]:
    return [d for d in evaluate(policies, dedupe(requests)) if not d.allowed]


def denied_without_each(policies: Sequence[Mapping[str, Any]], requests: Sequence[Request],
                        actions: Iterable[str], *, own_requests_only: bool = False,
                        account_id: str = "123456789012") -> dict[str, list[Decision]]:
    """For each action, the requests the policies deny once that action is taken out of them (`without_action`):
    the mutation half of a contract, decided in one evaluator process instead of one per action.
    `own_requests_only`: each variant is asked only the requests for the action it lost."""
    actions = list(actions)
    requests = dedupe(requests)
    cases = [(i, r) for i, action in enumerate(actions) for r in requests
             if not own_requests_only or r.action == action]
    found: dict[str, list[Decision]] = {action: [] for action in actions}
    if not cases:
        return found
    document = {"identityPolicies": list(policies), "policySets": [without_action(policies, a) for a in actions],
                "requests": [{**r.as_json(), "policySet": i} for i, r in cases], "accountId": account_id}
    for (i, request), answer in zip(cases, _run(document), strict=True):
        decision = _decision(request, answer)
        if not decision.allowed:
            found[actions[i]].append(decision)
    return found


def assert_role_allows(policies: Sequence[Mapping[str, Any]], requests: Sequence[Request], role: str = "role") -> None:
    """Every request is allowed; the failure lists each one that is not, with its decision."""
    refused = denied(policies, requests)
    assert not refused, f"{role} does not allow {len(refused)} call(s):\n" + "\n".join(f"  {d}" for d in refused)


def dedupe(requests: Iterable[Request]) -> list[Request]:
    """One request per (action, resource, context): a poll loop asks the same thing many times."""
    seen: dict[tuple[str, str, str], Request] = {}
    for request in requests:
        key = (request.action, request.resource, json.dumps(dict(request.context), sort_keys=True))
        seen.setdefault(key, request)
    return list(seen.values())
