"""A resource's property outputs as the SDK builds its `urn` and `id`: one future each, not four and a task.

The SDK's `rpc.transfer_properties` gives every property of every resource four futures (value, known, secret,
dependencies) and an `Output` whose data is a task that awaits them one by one. A pulumi_aws resource has tens of
properties, so a 2,000-resource stack schedules some 80,000 tasks that only copy four results into one
`_OutputData`. The SDK's own `resource_output` (a resource's `urn` and `id`) already builds an output from a single
future that is resolved with the whole `_OutputData` at once; `transfer_properties_direct` does the same for every
property. What a consumer sees is unchanged: the same `_OutputData` (dependencies: the resource and the
property's own; known and secret as resolved), or the same exception when the registration failed.

The SDK keeps its outstanding outputs in a set, whose iteration order follows memory addresses; `OrderedOutputs`
keeps them in creation order, so the output whose failure is raised first (and the program line a report names)
does not depend on the allocator.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import types
from collections.abc import Iterable, Iterator
from typing import Any

import pulumi
import pulumi._types as pulumi_types
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings

_OutputData = getattr(pulumi.output, "_OutputData", None)
_create_urn = pulumi_resource.create_urn


class OrderedOutputs:
    """The part of `set` the SDK uses for `SETTINGS.outputs` (add, discard, remove, clear, len, iteration), in
    insertion order. Outputs are tracked without the SDK's done-callback that takes each out once resolved
    (`_track_without_callback`): instead, whenever the set has doubled, those resolved without failing are taken out
    at once, so a program that makes many short-lived outputs holds no more of them than the SDK would."""

    __slots__ = ("_items", "_pruned_at")

    def __init__(self, items: Iterable[asyncio.Future] = ()) -> None:
        self._items: dict[asyncio.Future, None] = dict.fromkeys(items)
        self._pruned_at = 1024

    def add(self, item: asyncio.Future) -> None:
        self._items[item] = None
        if len(self._items) >= 2 * self._pruned_at:
            self._items = {future: None for future in self._items if not _resolved_without_failing(future)}
            self._pruned_at = max(1024, len(self._items))

    def discard(self, item: asyncio.Future) -> None:
        self._items.pop(item, None)

    def remove(self, item: asyncio.Future) -> None:
        del self._items[item]  # KeyError when absent, as from a set

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[asyncio.Future]:
        return iter(list(self._items))

    def __contains__(self, item: object) -> bool:
        return item in self._items


def _resolved_without_failing(future: asyncio.Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class PropertyOutputs:
    """The property outputs one run made (`transfer_properties_direct`), and a future for the end of the run to wait
    on them with (`settled`): done when one of them fails (with `PropertyFailed`) or when none is left unresolved.
    The SDK's own wait puts a done-callback on every output, one loop step apiece (18 a resource at 10 services);
    here resolving one costs a count."""

    def __init__(self) -> None:
        self.futures: set[asyncio.Future] = set()
        self.unresolved = 0
        self._waiter: asyncio.Future | None = None

    def made(self, future: asyncio.Future) -> None:
        self.futures.add(future)
        self.unresolved += 1

    def resolved(self, failed: bool) -> None:
        self.unresolved -= 1
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if failed:
                waiter.set_exception(PropertyFailed())
            elif self.unresolved <= 0:
                waiter.set_result(None)

    def settled(self) -> asyncio.Future:
        waiter = asyncio.get_running_loop().create_future()
        if self.unresolved <= 0:
            waiter.set_result(None)
        self._waiter = waiter
        return waiter


class PropertyFailed(Exception):  # noqa: N818 (a signal between this module and the end of the run, never raised)
    """A property output failed: the end of the run stops waiting and raises the output's own failure."""


PROPERTIES = PropertyOutputs()
"""The running recording's (`installed` makes a new one per run)."""


def _resolve_property(resource: Any, data: asyncio.Future, value: Any, is_known: bool, is_secret: bool,
                      dependencies: Any, failed: Exception | None) -> None:
    """The SDK's resolver contract (`rpc.Resolver`): a failure fails the output; otherwise its dependencies are
    the property's own and the resource itself."""
    if failed is not None:
        data.set_exception(failed)
        PROPERTIES.resolved(failed=True)
        return
    resources = set(dependencies) if dependencies else set()
    resources.add(resource)
    data.set_result(_OutputData(resources=resources, value=value, is_known=is_known, is_secret=is_secret))
    PROPERTIES.resolved(failed=False)


def transfer_properties_direct(res: Any, props: Any, custom: bool) -> dict[str, Any]:
    """`rpc.transfer_properties`, with each property's output made from one future (as `resource_output`).

    Each is tracked as the SDK tracks outputs (in `SETTINGS.outputs`, for the end of the run to wait on and raise
    from) but without the done-callback that removes it once resolved: that callback is one scheduled loop step
    per property, and `sdk_speedups._wait_for_rpcs_linear` passes over a done output at no cost."""
    resolvers: dict[str, Any] = {}
    new_output = pulumi.Output.__new__
    tracked = pulumi_settings.SETTINGS.outputs
    made = PROPERTIES.made
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue  # the SDK resolves these itself, as in its own transfer_properties
        data: asyncio.Future = asyncio.Future()
        resolvers[name] = functools.partial(_resolve_property, res, data)
        output = new_output(pulumi.Output)
        output._data = data
        tracked.add(data)
        made(data)
        res.__dict__[name] = output
    return resolvers


def resource_output_direct(res: Any) -> tuple[Any, Any]:
    """The SDK's `resource.resource_output` (a resource's `urn` and `id`), its future counted among the run's
    property outputs (`PROPERTIES`) so that the end of the run waits on it without a loop step of its own."""
    data: asyncio.Future = asyncio.Future()
    PROPERTIES.made(data)

    def resolve(value: Any, known: bool, secret: bool, exn: Exception | None) -> None:
        _resolve_property(res, data, value, known, secret, None, exn)

    return resolve, pulumi.Output._from_data(data)


def _resolved(value: str) -> Any:
    data: asyncio.Future = asyncio.Future()
    data.set_result(_OutputData(resources=set(), value=value, is_known=True, is_secret=False))
    return pulumi.Output._from_data(data)


def create_urn_direct(name: Any, type_: Any, parent: Any = None, project: str | None = None,
                      stack: str | None = None) -> Any:
    """`resource.create_urn`; when every argument is a plain string (as `register_resource` calls it for every
    resource) the URN is made at once, by the SDK's own formula, instead of through three outputs and an apply."""
    if type(name) is str and type(type_) is str and (parent is None or type(parent) is str):
        if parent is not None:
            prefix = parent[0:parent.rfind("::")] + "$"
        else:
            stack = pulumi_settings.get_stack() if stack is None else stack
            project = pulumi_settings.get_project() if project is None else project
            prefix = "urn:pulumi:" + stack + "::" + project + "::"
        return _resolved(prefix + type_ + "::" + name)
    return _create_urn(name, type_, parent, project, stack)


def _memoised_resource_types(resource_types: Any) -> Any:
    """`_types.resource_types` once per class. The SDK caches the getter half of it but re-evaluates the class's
    own annotations on every registration (a component's annotated outputs: `get_type_hints` each time). Its one
    caller (`rpc.resolve_outputs`) only reads the mapping, which is read-only here to keep it that way."""

    @functools.cache
    def memoised(resource_cls: type) -> Any:
        return types.MappingProxyType(resource_types(resource_cls))

    return memoised


def _track_without_callback(self: Any) -> None:
    """`Output._track`: the output's data kept in `SETTINGS.outputs` for the end of the run to wait on and raise from,
    as the SDK keeps it, without the done-callback that takes it out once resolved (one loop step per output, a fifth
    of a run's steps). A done output is passed over at no cost there (`sdk_speedups._wait_for_rpcs_linear`)."""
    with pulumi_settings.SETTINGS.lock:
        pulumi_settings.SETTINGS.outputs.add(self._data)


def supported() -> bool:
    """Only an SDK whose outputs hold one `_OutputData` future (3.2xx and later) gets the direct path."""
    return _OutputData is not None and hasattr(pulumi.Output, "_from_data") and hasattr(
        pulumi_rpc, "transfer_properties")


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """For one recorded run: direct property outputs (where the SDK supports them) and ordered output tracking."""
    global PROPERTIES  # noqa: PLW0603 (one per recorded run: this run's property outputs)
    pulumi_settings.SETTINGS.outputs = OrderedOutputs(pulumi_settings.SETTINGS.outputs)
    PROPERTIES = PropertyOutputs()
    original = pulumi_rpc.transfer_properties
    resource_output = pulumi_resource.resource_output
    if supported():
        pulumi_rpc.transfer_properties = transfer_properties_direct
        pulumi_resource.create_urn = create_urn_direct
        pulumi_resource.resource_output = resource_output_direct
    resource_types = pulumi_types.resource_types
    pulumi_types.resource_types = _memoised_resource_types(resource_types)
    track = pulumi.Output.__dict__.get("_track")
    if track is not None:
        pulumi.Output._track = _track_without_callback
    try:
        yield
    finally:
        if track is not None:
            pulumi.Output._track = track
        pulumi_rpc.transfer_properties = original
        pulumi_resource.create_urn = _create_urn
        pulumi_resource.resource_output = resource_output
        pulumi_types.resource_types = resource_types
