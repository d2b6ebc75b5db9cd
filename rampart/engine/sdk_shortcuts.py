"""Per-resource SDK steps that a recording answers at once, each exactly as the SDK's own function would (tests/engine/
test_sdk_speedups.py compares every one with the SDK's): installed by `installed()` for one recorded run only.

- `contains_unknowns` of a plain scalar (every `_OutputData` asks it of its value);
- `translate_output_properties` of a value whose type asks for nothing (every output property of a registration);
- `pulumi.log.debug` (the recording's engine drops debug lines; the SDK makes three a registration);
- `ResourceOptions._copy` (two per resource) made directly where `copy.copy` takes the generic path;
- the mocks' `_ensure_event_loop` (once a registration) answered with the running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copyreg
import functools
import typing
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi.log as pulumi_log
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc as pulumi_rpc

from rampart.engine.sdk_speedups import _SCALAR_TYPES


def _scalars_hold_no_unknowns(contains_unknowns: Any) -> Any:
    """The SDK's `rpc.contains_unknowns`, which every `_OutputData` asks of its value (a recursive walk with a set
    of seen ids, even for a string): a value of exactly a plain scalar type holds none; anything else (a container,
    an `Unknown`, a subclass) is the SDK's own walk."""

    def scalars_hold_no_unknowns(value: Any) -> bool:
        if type(value) in _SCALAR_TYPES:
            return False
        return contains_unknowns(value)

    return scalars_hold_no_unknowns


_AS_THEY_ARE = {kind: (kind, kind | None, typing.Any) for kind in (str, bool, float)}


def _plain_outputs_as_they_are(translate_output_properties: Any) -> Any:
    """The SDK's `rpc.translate_output_properties`, which every output property of every registration goes through
    (a secret check, the type unwrapped, enum and int checks): a None, or a string, bool or float whose type is its
    own (or none, or Any), comes back as it is there too. Anything else is the SDK's own."""

    def translate(output: Any, output_transformer: Any, typ: Any = None, *args: Any, **kwargs: Any) -> Any:
        if output is None:
            return None
        kinds = _AS_THEY_ARE.get(type(output))
        if kinds is not None and (typ is None or typ is kinds[0] or typ is kinds[2] or typ == kinds[1]):
            return output
        return translate_output_properties(output, output_transformer, typ, *args, **kwargs)

    return translate


def _debug_line_not_made(debug: Any) -> Any:
    """`pulumi.log.debug` while a recording runs: its engine drops debug lines (recorder.RecordingEngine), so a line
    the SDK could make is not made (the SDK logs three a registration; one naming a resource is a task that waits on
    its URN). A call the SDK's `LogRequest` would refuse (a message that is not a string) is the SDK's, and fails."""

    def quiet_debug(msg: Any, resource: Any = None, stream_id: Any = None, ephemeral: Any = None) -> None:
        if type(msg) is not str or not (stream_id is None or type(stream_id) is int) or not (
                ephemeral is None or type(ephemeral) is bool):
            debug(msg, resource, stream_id, ephemeral)

    return quiet_debug


def _copies_plainly(cls: type) -> bool:
    """True when `copy.copy` of an instance of exactly `cls` takes the generic reduce path to a new instance with
    the same `__dict__`: no slots, no copy or pickling hooks of its own, no `__new__` of its own."""
    return (all("__slots__" not in vars(base) for base in cls.__mro__[:-1]) and cls not in copyreg.dispatch_table
            and not hasattr(cls, "__copy__") and not hasattr(cls, "__setstate__")
            and all(getattr(cls, name) is getattr(object, name, None)
                    for name in ("__reduce_ex__", "__reduce__", "__new__", "__getstate__")
                    if hasattr(cls, name)))


def _plain_copy(instance: Any) -> Any:
    """`copy.copy(instance)` for a class `_copies_plainly` holds for: what its reduce path makes, made directly."""
    new = object.__new__(type(instance))
    new.__dict__.update(instance.__dict__)
    return new


def _plain_copying(copy_method: Any, cls: type) -> Any:
    """The SDK's `_copy` (copy.copy(self); every resource merges its options with two), for exactly `cls`."""

    def _copy(self: Any) -> Any:
        return _plain_copy(self) if type(self) is cls else copy_method(self)

    return _copy


def _running_loop_or(ensure_event_loop: Any) -> Any:
    """pulumi.runtime.mocks' `_ensure_event_loop`, which every mock registration calls: the monitor's calls run on
    the recording loop's own thread (sdk_inline), whose running loop is the answer; elsewhere the SDK's own."""

    def running_loop_or_ensured() -> Any:
        loop = asyncio.events._get_running_loop()
        return loop if loop is not None else ensure_event_loop()

    return running_loop_or_ensured


@contextlib.contextmanager
def _replaced(owner: Any, name: str, wrap: Any) -> Iterator[None]:
    """`owner.name` is `wrap(owner.name)` for the run, and the original again after it; an SDK without the name is
    left alone."""
    original = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if original is None:
        yield
        return
    setattr(owner, name, wrap(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(_replaced(pulumi_rpc, "contains_unknowns", _scalars_hold_no_unknowns))
        stack.enter_context(_replaced(pulumi_rpc, "translate_output_properties", _plain_outputs_as_they_are))
        stack.enter_context(_replaced(pulumi_log, "debug", _debug_line_not_made))
        stack.enter_context(_replaced(pulumi_mocks, "_ensure_event_loop", _running_loop_or))
        for cls in (pulumi.ResourceOptions, getattr(pulumi, "ResourceHookBinding", None)):
            if cls is not None and _copies_plainly(cls):
                stack.enter_context(_replaced(cls, "_copy", functools.partial(_plain_copying, cls=cls)))
        yield
