"""Turn rules into pulumi_policy policies: the one place that knows about waivers, thresholds and enforcement.

Waivers live in the pack config of the rule they waive (so the same file works with
`pulumi preview --policy-pack-config`):

    "rds-multi-az": {"waivers": [{"resource": "<URN or name glob>", "reason": "...",
                                  "approvedBy": "...", "expires": "2027-03-31"}]}

A waived finding is not reported by its rule (it must not block), but it must stay visible: it is handed to
the advisory `waived-findings` ledger policy that runs last and reports it with the waiver's reason, approver
and expiry in a fixed format (WAIVED_MESSAGE_FORMAT) that `rampart check` parses back. An expired waiver does
not apply: the finding is reported by its rule, noting the expiry.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import sysconfig
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from guardrails.rule import Context, Finding, Resource, Rule, Undeterminable, findings

WAIVED_LEDGER_POLICY = "waived-findings"
WAIVED_STACK_LEDGER_POLICY = "waived-stack-findings"
# Parsed by rampart/reports (WAIVED_MESSAGE_PATTERN there); a test pins that the two agree.
WAIVED_MESSAGE_FORMAT = "{rule}: {message} [waived: {reason} | approved by {approved_by} | expires {expires}]"

_ENFORCEMENT = {"M": EnforcementLevel.MANDATORY, "MP": EnforcementLevel.MANDATORY, "A": EnforcementLevel.ADVISORY}
_SEVERITY = {
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}

WAIVER_SCHEMA: Mapping[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["resource", "reason", "approvedBy", "expires"],
        "properties": {
            "resource": {"type": "string", "minLength": 1,
                         "description": "URN, or a glob over the resource name or URN"},
            "reason": {"type": "string", "minLength": 20, "description": "Why, in at least a sentence."},
            "approvedBy": {"type": "string", "minLength": 2},
            "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "YYYY-MM-DD (UTC)"},
        },
    },
}


@dataclass(frozen=True)
class Waiver:
    resource: str
    reason: str
    approved_by: str
    expires: dt.date

    def matches(self, urn: str) -> bool:
        name = urn.rsplit("::", 1)[-1]
        return self.resource == urn or fnmatch.fnmatchcase(name, self.resource) or fnmatch.fnmatchcase(
            urn, self.resource
        )

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


def parse_waivers(raw: Any) -> list[Waiver]:
    waivers = []
    for entry in raw or []:
        waivers.append(
            Waiver(
                resource=str(entry["resource"]),
                reason=str(entry["reason"]),
                approved_by=str(entry["approvedBy"]),
                expires=dt.date.fromisoformat(str(entry["expires"])),
            )
        )
    return waivers


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class _WaivedLedger:
    """Waived findings waiting for the ledger policy of the same Analyze / AnalyzeStack call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        with self._lock:
            self._pending.setdefault(key, []).append(message)

    def take(self, key: str) -> list[str]:
        with self._lock:
            return self._pending.pop(key, [])


_LEDGER = _WaivedLedger()
_STACK_KEY = "<stack>"
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[kind] for kind in ("stdlib", "purelib", "platlib")})


class _NotKnownToThisRun(UnknownValueError):
    """A rule's Undeterminable, raised as pulumi_policy's own unknown-value error so the engine reports the policy
    as not runnable during preview (advisory, "can't run policy ... during preview: ..."), exactly as for an
    unknown property read."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.unknown_type_sentinel = ""
        self.props = []
        self.message = message


def _judged(results: Any, default_urn: str) -> list[Finding]:
    try:
        return findings(results, default_urn)
    except Undeterminable as error:
        raise _NotKnownToThisRun(error.message) from None


class PolicyRaised(Exception):
    """A rule that raised, named: the gRPC error's details (what the Pulumi CLI and `rampart check` show) would
    otherwise carry only the exception's message, which names no policy and may quote a secret input."""


def _named_on_raise(rule: Rule, run: Any) -> list[Finding]:
    try:
        return run()
    except UnknownValueError:  # an unknown input (or Undeterminable): reported by pulumi_policy as not runnable
        raise
    except Exception as error:
        # The innermost frame of the pack's own code (a rule), relative to the pack directory the engine runs in.
        where = next((f"{os.path.relpath(frame.f_code.co_filename)}:{line}"
                      for frame, line in reversed(list(traceback.walk_tb(error.__traceback__)))
                      if not frame.f_code.co_filename.startswith(_LIBRARY_DIRS)), "an unknown line")
        # Type and line only: the message may quote the resource's (secret) input.
        raise PolicyRaised(f"policy '{rule.name}' raised {type(error).__name__} at {where}") from None


def rule_config(rule: Rule, configured: Mapping[str, Any] | None) -> dict[str, Any]:
    """Thresholds with the rule's defaults applied; numbers from protobuf arrive as floats."""
    merged = dict(rule.thresholds)
    for key, value in (configured or {}).items():
        if key in ("enforcementLevel", "waivers"):
            continue
        default = rule.thresholds.get(key)
        merged[key] = int(value) if isinstance(default, int) and isinstance(value, float) else value
    return merged


def _dispatch(rule: Rule, found: Sequence[Finding], configured: Mapping[str, Any] | None,
              report: ReportViolation, ledger_key: str) -> None:
    waivers = parse_waivers((configured or {}).get("waivers")) if rule.waivable else []
    today = today_utc()
    for finding in found:
        waiver = next((w for w in waivers if w.matches(finding.urn)), None)
        if waiver is None:
            report(finding.message, finding.urn or None)
        elif waiver.expired(today):
            report(f"{finding.message} (waiver expired on {waiver.expires.isoformat()})", finding.urn or None)
        else:
            _LEDGER.add(
                ledger_key,
                finding.urn + "\x00" + WAIVED_MESSAGE_FORMAT.format(
                    rule=rule.name, message=finding.message, reason=waiver.reason,
                    approved_by=waiver.approved_by, expires=waiver.expires.isoformat(),
                ),
            )


def to_resource(args: ResourceValidationArgs) -> Resource:
    opts = args.opts
    return Resource(
        type=args.resource_type,
        props=args.props,
        urn=args.urn,
        name=args.name,
        protect=bool(getattr(opts, "protect", False)),
        ignore_changes=tuple(getattr(opts, "ignore_changes", ()) or ()),
        delete_before_replace=bool(getattr(opts, "delete_before_replace", False)),
        parent=getattr(opts, "parent", "") or "",
    )


# Every stack policy of one AnalyzeStack sees the same PolicyResource objects (guardrails.speedups builds them once
# per request): convert them once, not once per policy. Keyed by those objects, which are new for every request (their
# props may be shared with an earlier request of equal content, guardrails.conversion, so props cannot be the key).
_LAST_STACK: list[Any] = [(), ()]


def _stack_resources(args: StackValidationArgs) -> Sequence[Resource]:
    seen, converted = _LAST_STACK
    if isinstance(seen, tuple) and args.resources is seen:
        # The one tuple guardrails.speedups hands every policy: immutable, and kept alive here so its id is its own.
        return converted
    resources = list(args.resources)
    if len(seen) == len(resources) and all(a is b for a, b in zip(seen, resources, strict=True)):
        return converted
    converted = tuple(_convert_stack_resources(args))
    _LAST_STACK[:] = [args.resources if isinstance(args.resources, tuple) else resources, converted]
    return converted


def _convert_stack_resources(args: StackValidationArgs) -> list[Resource]:
    resources = []
    for r in args.resources:
        opts = r.opts
        parent = r.parent.urn if r.parent is not None else (getattr(opts, "parent", "") or "")
        resources.append(
            Resource(
                type=r.resource_type,
                props=r.props,
                urn=r.urn,
                name=r.name,
                protect=bool(opts.protect),
                ignore_changes=tuple(opts.ignore_changes or ()),
                delete_before_replace=bool(opts.delete_before_replace),
                parent=parent,
                dependencies=tuple([d.urn for d in r.dependencies]),
                property_dependencies={k: tuple([d.urn for d in v]) for k, v in r.property_dependencies.items()},
            )
        )
    return resources


def _config_schema(rule: Rule) -> PolicyConfigSchema | None:
    properties: dict[str, Any] = {}
    for key, default in rule.thresholds.items():
        if isinstance(default, bool):
            properties[key] = {"type": "boolean", "default": default}
        elif isinstance(default, int | float):
            properties[key] = {"type": "number", "default": default}
        elif isinstance(default, list | tuple):
            properties[key] = {"type": "array", "default": list(default)}
        else:
            properties[key] = {"type": "string", "default": default}
    if rule.waivable:
        properties["waivers"] = dict(WAIVER_SCHEMA)
    return PolicyConfigSchema(properties=properties) if properties else None


def to_policy(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    common = dict(
        name=rule.name,
        description=rule.description,
        enforcement_level=_ENFORCEMENT[rule.enforcement],
        config_schema=_config_schema(rule),
        severity=_SEVERITY[rule.severity],
        framework=PolicyComplianceFramework(
            name=rule.framework.name, reference=rule.framework.reference, version=rule.framework.version or None
        ),
        tags=[f"enforcement:{rule.enforcement}", *(("unwaivable",) if not rule.waivable else ()), *rule.tags],
        remediation_steps=rule.remediation,
        url=rule.url,
    )
    if rule.is_stack_rule:
        stack_check = rule.stack_check
        assert stack_check is not None

        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
            configured = args.get_config()
            context = Context(config=rule_config(rule, configured))
            found = _named_on_raise(rule, lambda: _judged(stack_check(_stack_resources(args), context), ""))
            _dispatch(rule, found, configured, report, _STACK_KEY)

        return StackValidationPolicy(validate=validate_stack, **common)

    check = rule.check
    assert check is not None
    types = frozenset(rule.resource_types)

    def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in types:
            return
        configured = args.get_config()
        context = Context(config=rule_config(rule, configured))
        found = _named_on_raise(rule, lambda: _judged(check(to_resource(args), context), args.urn))
        _dispatch(rule, found, configured, report, args.urn)

    policy = ResourceValidationPolicy(validate=validate_resource, **common)
    # Read by guardrails.speedups to skip this policy for other resource types (validate would return at once).
    policy.rampart_resource_types = types
    return policy


def _report_ledger(key: str, report: ReportViolation) -> None:
    for entry in _LEDGER.take(key):
        urn, _, message = entry.partition("\x00")
        report(message, urn or None)


def ledger_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """The two advisory policies that report waived findings; they must come last in the pack."""

    def resource_ledger(args: ResourceValidationArgs, report: ReportViolation) -> None:
        _report_ledger(args.urn, report)

    def stack_ledger(args: StackValidationArgs, report: ReportViolation) -> None:
        _report_ledger(_STACK_KEY, report)

    shared = dict(
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.LOW,
        framework=PolicyComplianceFramework(name="Rampart audit", reference="waivers"),
        remediation_steps="Review the waiver before it expires: fix the finding or renew the waiver with a reason.",
        url="https://github.com/example-org/rampart/blob/main/docs/policies.md#waivers",
        tags=["audit"],
    )
    return [
        ResourceValidationPolicy(
            name=WAIVED_LEDGER_POLICY,
            description="Findings silenced by an unexpired waiver, with its reason, approver and expiry.",
            validate=resource_ledger,
            **shared,
        ),
        StackValidationPolicy(
            name=WAIVED_STACK_LEDGER_POLICY,
            description="Stack-level findings silenced by an unexpired waiver, with its reason and expiry.",
            validate=stack_ledger,
            **shared,
        ),
    ]


def build_policies(rules: Sequence[Rule]) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    names = [rule.name for rule in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate rule names: {', '.join(duplicates)}")
    return [to_policy(rule) for rule in rules] + ledger_policies()
