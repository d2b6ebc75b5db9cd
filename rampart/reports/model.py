"""The result of `rampart check`, independent of how it is printed.

Diagnostics from the pack become findings with one of three states: `violation` (a rule failed), `waived` (a
rule failed but an unexpired waiver covers it: reported by the pack's ledger policy in a fixed format) and
`undeterminable` (a value the rule needs is unknown until apply: never a pass, never a violation).

A rule reports one diagnostic per failing property, so one misconfigured database yields a dozen diagnostics of
the same rule. A finding is one rule on one resource in one state: its `details` keep every failing property, in
the order the rule reported them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rampart.engine.pack_info import Diagnostic, PackInfo, PolicyMetadata

FindingState = Literal["violation", "waived", "undeterminable"]

WAIVED_LEDGER_POLICIES = frozenset({"waived-findings", "waived-stack-findings"})
# Mirrors policies/guardrails/adapter.py WAIVED_MESSAGE_FORMAT; tests pin that the two agree.
WAIVED_MESSAGE_PATTERN = re.compile(
    r"^(?P<rule>[A-Za-z0-9_.-]+): (?P<message>.*) \[waived: (?P<reason>.*) \| approved by (?P<approved_by>.*)"
    r" \| expires (?P<expires>\d{4}-\d{2}-\d{2})\]$",
    re.DOTALL,
)
# pulumi_policy's wording when a rule reads a value unknown at preview.
UNDETERMINABLE_PATTERN = re.compile(r"^can't run policy '(?P<rule>[^']+)'.* during preview: (?P<reason>.*)$", re.DOTALL)
_UNKNOWN_TYPE_CLAIM = re.compile(r"^string value at ")
"""pulumi_policy calls every unknown a "string value": an unknown travels as a string sentinel whatever its type."""


@dataclass(frozen=True)
class Waiver:
    reason: str
    approved_by: str
    expires: str


@dataclass(frozen=True)
class SourceLocation:
    """Where a resource was declared: a path relative to the source root (the repository root, else the program
    directory), with `/` separators as SARIF and GitHub code scanning expect."""

    file: str
    line: int


@dataclass(frozen=True)
class Finding:
    policy: str
    urn: str
    message: str
    enforcement: str
    severity: str
    state: FindingState
    framework: str = ""
    control: str = ""
    remediation: str = ""
    url: str = ""
    waiver: Waiver | None = None
    source: SourceLocation | None = None
    details: tuple[str, ...] = ()
    """Every failing property the rule reported on this resource; `message` joins them."""

    @property
    def failures(self) -> tuple[str, ...]:
        return self.details or (self.message,)

    @property
    def blocking(self) -> bool:
        return self.state == "violation" and self.enforcement == "mandatory"

    @property
    def resource_name(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"

    @property
    def resource_type(self) -> str:
        parts = self.urn.split("::")
        return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


@dataclass(frozen=True)
class ResourceSummary:
    urn: str
    type: str
    name: str
    parent: str
    protect: bool
    ignore_changes: tuple[str, ...]
    inputs: Mapping[str, Any]
    """Redacted (reports/redaction.py): secrets as "[secret]", credentials written in plain text as a marker."""
    source: SourceLocation | None = None


@dataclass(frozen=True)
class RecoveryPath:
    path: str
    objective: str
    target_minutes: float | None
    worst_case_minutes: float | None
    basis: str = ""

    @property
    def met(self) -> bool | None:
        if self.target_minutes is None:
            return None
        return self.worst_case_minutes is not None and self.worst_case_minutes <= self.target_minutes


@dataclass(frozen=True)
class Recovery:
    rto_minutes: float | None = None
    rpo_minutes: float | None = None
    worst_case_detection_seconds: float | None = None
    worst_case_rollback_minutes: float | None = None
    worst_case_rpo_minutes: float | None = None
    worst_case_deploy_seconds: float | None = None
    """One healthy deployment until traffic has fully shifted (infra/timing.py), and to Succeeded with the bake."""
    worst_case_deploy_with_bake_seconds: float | None = None
    worst_case_manual_rollback_seconds: float | None = None
    """The emergency rollback workflow, from its one approval until the service is verified on blue."""
    paths: tuple[RecoveryPath, ...] = ()
    """Each recovery path's target and worst case (infra/recovery.py recovery_paths)."""

    @property
    def rto_met(self) -> bool | None:
        if self.rto_minutes is None or self.worst_case_rollback_minutes is None:
            return None
        return self.worst_case_rollback_minutes <= self.rto_minutes

    @property
    def rpo_met(self) -> bool | None:
        if self.rpo_minutes is None or self.worst_case_rpo_minutes is None:
            return None
        return self.worst_case_rpo_minutes <= self.rpo_minutes


@dataclass(frozen=True)
class OpaqueSummary:
    """A resource whose inside the engine cannot see (a remote component, a stack reference): its outputs are
    unknown and what it creates is not checked."""

    urn: str
    type: str
    name: str
    kind: str


MODE_DESCRIPTIONS = {
    "first-preview": "first preview of a new stack: values a provider computes at create time are unknown",
    "assume-existing": "preview of an already-deployed stack (--assume-existing): every output known",
}


@dataclass
class StackResult:
    stack: str
    project: str = ""
    stack_file: str = ""
    resources: list[ResourceSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    recovery: Recovery = field(default_factory=Recovery)
    error: str | None = None
    policy_config_file: str = ""
    seconds: float = 0.0
    mode: str = "first-preview"
    stack_config_note: str = ""
    """Which stack config the program ran with (the stack file, or none and why)."""
    policy_config_note: str = ""
    """Which pack config applied (the file, or which default and why)."""
    not_checked_inside: list[OpaqueSummary] = field(default_factory=list)
    cache_note: str = ""
    """Set when the result was reused from rampart's stack cache instead of run: from when, and why it could be."""

    def context_lines(self) -> list[str]:
        """What this result rests on, in the words every report uses."""
        lines = [f"Preview: {MODE_DESCRIPTIONS.get(self.mode, self.mode)}"]
        lines += [note for note in (self.stack_config_note, self.policy_config_note, self.cache_note) if note]
        if self.not_checked_inside:
            inside = "; ".join(f"{o.kind} {o.type} '{o.name}'" for o in self.not_checked_inside)
            lines.append(f"Not checked inside: {len(self.not_checked_inside)} ({inside}): outputs unknown")
        return lines

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    def count(self, state: FindingState, enforcement: str | None = None) -> int:
        return sum(
            1 for f in self.findings if f.state == state and (enforcement is None or f.enforcement == enforcement)
        )


@dataclass
class CheckReport:
    pack: PackInfo | None
    stacks: list[StackResult]
    source_root: str = ""
    """Absolute path that `SourceLocation.file` is relative to; empty when unknown."""
    program_path: str = ""
    """The program directory relative to `source_root` ("" when they are the same)."""

    @property
    def exit_code(self) -> int:
        if any(s.error for s in self.stacks):
            return 2
        return 1 if any(s.blocking for s in self.stacks) else 0


def _metadata(pack: PackInfo, policy: str) -> PolicyMetadata | None:
    return pack.policies.get(policy)


def _one(d: Diagnostic, pack: PackInfo, levels: Mapping[str, str] | None) -> Finding | None:
    policy, message, state, waiver, enforcement = d.policy, d.message, "violation", None, d.enforcement
    meta = _metadata(pack, policy)
    if meta and message.startswith(meta.description + "\n"):
        message = message[len(meta.description) + 1:]
    if policy in WAIVED_LEDGER_POLICIES:
        match = WAIVED_MESSAGE_PATTERN.match(message)
        if match is None:
            return None
        policy, message = match["rule"], match["message"]
        waiver = Waiver(match["reason"], match["approved_by"], match["expires"])
        state = "waived"
        meta = _metadata(pack, policy)
        enforcement = meta.enforcement if meta else "advisory"
    else:
        undeterminable = UNDETERMINABLE_PATTERN.match(message)
        if undeterminable:
            state = "undeterminable"
            message = f"undeterminable until apply: {_UNKNOWN_TYPE_CLAIM.sub('value at ', undeterminable['reason'])}"
            enforcement = (levels or {}).get(policy) or (meta.enforcement if meta else enforcement)
    return Finding(
        policy=policy,
        urn=d.urn,
        message=message.strip(),
        enforcement=enforcement,
        severity=meta.severity if meta else d.severity,
        state=state,  # type: ignore[arg-type]
        framework=meta.framework_name if meta else "",
        control=meta.framework_reference if meta else "",
        remediation=meta.remediation if meta else "",
        url=meta.url if meta else "",
        waiver=waiver,
    )


DETAIL_SEPARATOR = "; "


def group(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per rule, resource, state and waiver, its details every distinct failing property in the order
    the rule reported them (a property reported twice, by Analyze and AnalyzeStack, counts once)."""
    grouped: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.policy, finding.urn, finding.state, finding.enforcement, finding.waiver)
        grouped.setdefault(key, []).append(finding)
    result = []
    for members in grouped.values():
        details = tuple(dict.fromkeys(detail for member in members for detail in member.failures))
        result.append(replace(members[0], message=DETAIL_SEPARATOR.join(details), details=details))
    return result


def classify(diagnostics: Sequence[Diagnostic], pack: PackInfo,
             levels: Mapping[str, str] | None = None) -> list[Finding]:
    """Diagnostics -> findings (one per rule per resource and state) with rule metadata and waiver details.

    `levels`: each policy's effective enforcement for the stack. pulumi_policy reports a rule it could not run
    as advisory; the finding carries the rule's own level instead, so a reader sees that a mandatory rule went
    unjudged. It still never blocks (`Finding.blocking`), as the CLI's preview does not fail on it."""
    found = group([f for f in (_one(d, pack, levels) for d in diagnostics) if f is not None])
    severity_rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    state_rank = {"violation": 0, "undeterminable": 1, "waived": 2}
    found.sort(key=lambda f: (state_rank[f.state], f.enforcement != "mandatory",
                              severity_rank.get(f.severity, 4), f.policy, f.urn))
    return found


def recovery_from_outputs(outputs: Mapping[str, Any]) -> Recovery:
    recovery = outputs.get("recovery")
    if not isinstance(recovery, Mapping):
        return Recovery()

    def number(key: str) -> float | None:
        value = recovery.get(key)
        return float(value) if isinstance(value, int | float) else None

    detection = number("worstCaseDetectionSeconds")
    # Rollback after detection is a reroute to blue, kept alive by the termination wait: about a minute.
    rollback = None if detection is None else round(detection / 60 + 1, 1)
    return Recovery(
        rto_minutes=number("rtoMinutes"),
        rpo_minutes=number("rpoMinutes"),
        worst_case_detection_seconds=detection,
        worst_case_rollback_minutes=rollback,
        worst_case_rpo_minutes=number("worstCaseRpoMinutes"),
        worst_case_deploy_seconds=number("worstCaseDeploySeconds"),
        worst_case_deploy_with_bake_seconds=number("worstCaseDeployWithBakeSeconds"),
        worst_case_manual_rollback_seconds=number("worstCaseManualRollbackSeconds"),
        paths=tuple(_recovery_path(p) for p in recovery.get("paths") or () if isinstance(p, Mapping)),
    )


def _recovery_path(raw: Mapping[str, Any]) -> RecoveryPath:
    def minutes(key: str) -> float | None:
        value = raw.get(key)
        return float(value) if isinstance(value, int | float) else None

    return RecoveryPath(path=str(raw.get("path", "?")), objective=str(raw.get("objective", "?")),
                        target_minutes=minutes("targetMinutes"), worst_case_minutes=minutes("worstCaseMinutes"),
                        basis=str(raw.get("basis", "")))
