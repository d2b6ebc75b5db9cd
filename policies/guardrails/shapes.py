"""Reading property values whatever shape they arrive in.

The engine sends a single nested block as an object, older programs as a one-element list; pulumi_policy hands
lists and maps over as read-only Sequence / Mapping proxies, never list / dict. Every group reads values through
these instead of `isinstance(x, list)`, which misses the proxies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from guardrails.rule import Resource, Undeterminable
from guardrails.stack_index import for_stack


def as_list(value: Any) -> list[Any]:
    """A scalar, a mapping or a sequence (plain or the policy SDK's proxies) as a plain list."""
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def first_block(value: Any) -> Mapping[str, Any]:
    """A nested block that may arrive as an object or as a one-element list (Terraform's MaxItems=1)."""
    if isinstance(value, Mapping):
        return value
    for item in as_list(value):
        if isinstance(item, Mapping):
            return item
    return {}


def of_type(resources: Iterable[Resource], *types: str) -> list[Resource]:
    """The resources of these types, in stack order. Stack rules ask this of the same stack dozens of times: the
    stack tuple the adapter hands them is indexed by type once (guardrails.stack_index)."""
    if isinstance(resources, tuple):
        return for_stack(resources).of_type(types)
    return [r for r in resources if r.type in types]


def known_items(value: Any, what: str) -> list[Any]:
    """A list input whose every element is known. A program sends a null element only when it computed it from
    something the run did not know (an unset config value, a lookup), so a null is Undeterminable, not absent:
    counting around it would judge a list the program never meant."""
    items = as_list(value)
    if any(item is None for item in items):
        raise Undeterminable(what)
    return items
