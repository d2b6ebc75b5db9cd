"""What stack rules look up in the whole stack, computed once per stack instead of once per rule per resource.

Every stack rule of one AnalyzeStack receives the same tuple of resources (guardrails.adapter converts the stack
once). Rules ask it the same questions many times over (the resources of a type; the alarms a deployment group
rolls back on): answered by scanning the stack each time, that is quadratic in its size (50 services, 1,857
resources: seconds). `for_stack` keeps the answers beside the tuple they came from.

Only tuples are indexed: a tuple of frozen Resources cannot change under the cache, so an answer found by the
identity of the tuple is always the answer for its contents. Anything else (a list a test builds and then
extends) gets a fresh index per call: the same answers, at the old cost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from guardrails.rule import Resource

_KEEP = 4
"""Stacks whose indexes stay cached: one AnalyzeStack uses one; a few more cover tests and a multi-stack check."""


class StackIndex:
    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = resources if isinstance(resources, tuple) else tuple(resources)
        self._by_type: dict[str, list[Resource]] | None = None
        self._of_types: dict[tuple[str, ...], list[Resource]] = {}
        self._memo: dict[Hashable, Any] = {}
        self._per_resource: dict[str, dict[int, tuple[Resource, Any]]] = {}
        self._lock = threading.Lock()

    def of_type(self, types: tuple[str, ...]) -> list[Resource]:
        """The stack's resources of these types, in stack order (a new list: callers may change it)."""
        if self._by_type is None:
            by_type: dict[str, list[Resource]] = {}
            for resource in self.resources:
                by_type.setdefault(resource.type, []).append(resource)
            self._by_type = by_type
        if len(types) == 1:
            return list(self._by_type.get(types[0], ()))
        found = self._of_types.get(types)
        if found is None:
            found = self._of_types[types] = [r for r in self.resources if r.type in types]
        return list(found)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key for this stack. An exception (an unknown value read) is not remembered: the
        next caller raises it again, as it would without the cache."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            return self._memo.setdefault(key, value)

    def of_resource(self, what: str, resource: Resource, compute: Callable[[Resource], Any]) -> Any:
        """`compute(resource)` once per resource for this stack, for a pure function of one resource that rules
        ask of every pair (deployment group x service). Keyed by identity, with the resource kept beside its answer
        so its id cannot pass to another object; an exception is not remembered, as in `memo`. No lock: two racing
        callers compute the same answer."""
        table = self._per_resource.get(what)
        if table is None:
            table = self._per_resource.setdefault(what, {})
        hit = table.get(id(resource))
        if hit is not None and hit[0] is resource:
            return hit[1]
        value = compute(resource)
        table[id(resource)] = (resource, value)
        return value


_CACHE: dict[int, tuple[tuple[Resource, ...], StackIndex]] = {}
_CACHE_LOCK = threading.Lock()


def for_stack(resources: Iterable[Resource]) -> StackIndex:
    """The index of these resources: shared by every caller with the same tuple, fresh for anything else."""
    if not isinstance(resources, tuple):
        return StackIndex(resources)
    with _CACHE_LOCK:
        hit = _CACHE.get(id(resources))
        if hit is not None and hit[0] is resources:
            return hit[1]
        index = StackIndex(resources)
        # Holding the tuple keeps its id from being reused by another object while the entry lives.
        _CACHE[id(resources)] = (resources, index)
        while len(_CACHE) > _KEEP:
            del _CACHE[next(iter(_CACHE))]
        return index
