"""What a rule is: a small pure function plus the metadata auditors read.

A rule never touches pulumi_policy directly; `guardrails.adapter` turns rules into Pulumi policies. That keeps
rules testable as plain functions over plain dicts, and one place decides how waivers, thresholds and unknown
values are handled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Enforcement = Literal["M", "MP", "A"]
"""M mandatory everywhere; MP mandatory in production (advisory elsewhere, via the stack's pack config);
A advisory everywhere."""

Severity = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Resource:
    """A resource as a rule sees it: type token, camelCase input properties, options and relationships."""

    type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    protect: bool = False
    ignore_changes: Sequence[str] = ()
    delete_before_replace: bool = False
    parent: str = ""
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.props.get(key, default)
        return default if value is None else value


class Undeterminable(Exception):
    """Raised by a check when a value it needs was not known to this run (an input computed from an unset config
    value, an unanswered lookup, an output only known after apply). The adapter reports the rule as
    undeterminable for the resource, as pulumi_policy does for an unknown read: never a pass, never a violation."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.message = f"{what}, which this run did not know"


@dataclass(frozen=True)
class Finding:
    """One violation. `urn` defaults to the resource under check (resource rules)."""

    message: str
    urn: str = ""


@dataclass(frozen=True)
class Context:
    """What a check may read besides the resource: its rule's config (thresholds), with defaults applied."""

    config: Mapping[str, Any] = field(default_factory=dict)

    def threshold(self, key: str) -> Any:
        return self.config[key]


ResourceCheck = Callable[[Resource, Context], Iterable[Finding | str]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[Finding]]


@dataclass(frozen=True)
class Framework:
    """The control a rule maps to: AWS FSBP id where one exists, else the catalogue's reference."""

    name: str
    """e.g. "AWS Foundational Security Best Practices", "Checkov", "Rampart deployment safety"."""
    reference: str
    """Control id(s), e.g. "ECS.4" or "CKV_AWS_334"."""
    version: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enforcement: Enforcement
    severity: Severity
    framework: Framework
    remediation: str
    url: str
    resource_types: tuple[str, ...] = ()
    """Type tokens a resource rule applies to; empty for stack rules."""
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    waivable: bool = True
    """False for rules no waiver may silence (say why in the rule's module)."""
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    """Defaults of the rule's numeric/string config, overridable per stack in the pack config."""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.check is None) == (self.stack_check is None):
            raise ValueError(f"rule {self.name}: exactly one of check (resource) or stack_check (stack) is required")
        if self.check is not None and not self.resource_types:
            raise ValueError(f"rule {self.name}: a resource rule names the resource_types it applies to")

    @property
    def is_stack_rule(self) -> bool:
        return self.stack_check is not None


def shown(value: Any, *, quoted: bool = True) -> str:
    """A judged value as a message shows it: "not set" when the program left it out (never Python's "None", so
    every rule words a missing field alike: "deletionProtection is not set; expected true"), else the value, quoted
    with repr (the default) or plain."""
    if value is None:
        return "not set"
    return repr(value) if quoted else str(value)


def findings(results: Iterable[Finding | str], default_urn: str) -> list[Finding]:
    """Normalise what a check yields: plain strings are findings on the resource under check."""
    normalised = []
    for result in results:
        if isinstance(result, str):
            normalised.append(Finding(result, default_urn))
        else:
            normalised.append(result if result.urn else Finding(result.message, default_urn))
    return normalised
