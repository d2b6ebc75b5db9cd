"""Reading the shapes the engine sends: single nested blocks as objects (older programs: one-element lists),
lists and maps as the policy SDK's read-only Sequence / Mapping proxies, not list / dict; and a resource's
physical name. Shared by the alarm, ECS and CodeDeploy rules (re-exported by guardrails.alarms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guardrails.rule import Resource


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def block(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if _is_list(value) and value and isinstance(value[0], Mapping):
        return value[0]
    return {}


def blocks(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if _is_list(value):
        return [v for v in value if isinstance(v, Mapping)]
    return []


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if _is_list(value):
        return [v for v in value if isinstance(v, str)]
    return []


def number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def physical_name(resource: Resource) -> str:
    """The `name` input, else the logical name (what an autonamed resource's name starts with)."""
    name = resource.get("name")
    return name if isinstance(name, str) and name else resource.name
