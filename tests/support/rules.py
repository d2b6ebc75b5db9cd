"""Calling one rule's pure check the way the adapter does, for the fast per-rule tests under tests/policies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guardrails.rule import Context, Finding, Resource, Rule, findings

DROP = object()
"""`changed(base, key=DROP)` removes the key: the flipped field is missing rather than false."""


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:test::rampart::{type_token}::{name}"


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    props = dict(base)
    for key, value in changes.items():
        if value is DROP:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def rule_context(rule: Rule, **config: Any) -> Context:
    """The rule's thresholds as the adapter passes them: defaults, overridden by the given config."""
    return Context(config={**rule.thresholds, **config})


def resource_messages(rule: Rule, type_token: str, props: dict[str, Any], name: str = "x", **config: Any) -> list[str]:
    assert rule.check is not None
    resource = Resource(type=type_token, props=props, urn=urn(type_token, name), name=name)
    return [f.message for f in findings(rule.check(resource, rule_context(rule, **config)), resource.urn)]


def stack_findings(rule: Rule, resources: Sequence[Resource], **config: Any) -> list[Finding]:
    assert rule.stack_check is not None
    return findings(rule.stack_check(resources, rule_context(rule, **config)), "")
