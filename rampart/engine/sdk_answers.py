"""A provider's plain answer to a registration reaches the SDK's resolver without a protobuf round trip.

The mock monitor turns the fake provider's answer (plain Python values) into a Struct, and the SDK's
`resolve_outputs` turns that Struct straight back into Python with `rpc.deserialize_properties`: a Struct
built, then read value by value through protobuf's Python layer (about 0.3 ms for a 30-property answer). Here the
Struct made from a plain answer is remembered with the answer (`remember`), the monitor's response carries that
very Struct (`AnsweredResponse`), and `deserialize_properties` of it is computed from the answer by the SDK's own
rules for plain values (`deserialize_plain`): every number a float (a Struct holds doubles), a value that comes
to None left out of its map, the unknown sentinel an `Unknown` in a preview. An answer holding any special
signature (a secret, an asset, a resource reference) is not remembered: the SDK reads it as always.

Any other Struct (a program's inputs, as the mock monitor reads them for the fake provider) is read through
protobuf's own accessors rather than the Struct's Python mapping layer, by the same rules and in the same key
order (about 2x faster); a map holding a special signature goes to the SDK's own function.

One difference, on purpose, for remembered answers: a map's keys come in the answer's order, not in the order of
the Struct's hash table (under the real engine that order is whatever the engine sent, so no program can rely
on it).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings

_SIGNATURE_KEY = pulumi_rpc._special_sig_key
_UNKNOWN = pulumi_rpc.UNKNOWN


class _Remembered(threading.local):
    def __init__(self) -> None:
        self.by_struct: dict[int, tuple[Any, dict]] = {}
        self.last: Any = None
        self.answering: bool = False
        self.unmade: UnmadeAnswer | None = None


_remembered = _Remembered()


def _has_signature(value: Any) -> bool:
    if type(value) is dict:
        return _SIGNATURE_KEY in value or any(_has_signature(item) for item in value.values())
    if type(value) is list:
        return any(_has_signature(item) for item in value)
    return False


def remember(struct: Any, answer: dict) -> None:
    """`struct` was made from the plain `answer` (sdk_speedups.serialize_plain_properties)."""
    unclaimed = _remembered.last
    if unclaimed is not None:  # an invoke's or a read's answer: its response copies the Struct, so none comes back
        _remembered.by_struct.pop(id(unclaimed), None)
        _remembered.last = None
    if not _has_signature(answer):
        _remembered.by_struct[id(struct)] = (struct, answer)
        _remembered.last = struct


def take_last() -> Any:
    """The Struct remembered last on this thread (the monitor call's answer), once."""
    struct, _remembered.last = _remembered.last, None
    return struct


def plain_struct(answer: dict) -> Any:
    """The Struct the SDK's serialiser makes of a plain answer: as the SDK does, a top-level property that is None
    does not exist; below the top, None is null."""
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in answer.items() if value is not None})
    return struct


class UnmadeAnswer:
    """A registration's plain answer where the response's Struct would be: the SDK's resolver reads it as itself
    (`deserialize_plain`), so the Struct is never made. Anything else that reads it gets that Struct, made on first
    read (`made`), exactly as `serialize_plain_properties` makes it."""

    __slots__ = ("answer", "made")

    def __init__(self, answer: dict) -> None:
        self.answer = answer
        self.made: Any = None

    def struct(self) -> Any:
        if self.made is None:
            self.made = plain_struct(self.answer)
        return self.made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.struct(), name)

    def __getitem__(self, key: str) -> Any:
        return self.struct()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.struct()

    def __iter__(self) -> Iterator[str]:
        return iter(self.struct())

    def __len__(self) -> int:
        return len(self.struct())


@contextlib.contextmanager
def answering_registration() -> Iterator[None]:
    """Around the mock monitor's RegisterResource: its answer may be left unmade (`leave_unmade`)."""
    _remembered.unmade = None
    _remembered.answering = True
    try:
        yield
    finally:
        _remembered.answering = False


def leave_unmade(answer: dict) -> bool:
    """True when `answer` is the answer of the registration being answered and holds no special signature: it is
    kept as an UnmadeAnswer (`take_unmade`) instead of made into a Struct."""
    if not _remembered.answering or _has_signature(answer):
        return False
    _remembered.answering = False  # the registration's one answer; anything serialised after it is made as always
    _remembered.unmade = UnmadeAnswer(answer)
    return True


def take_unmade() -> UnmadeAnswer | None:
    unmade, _remembered.unmade = _remembered.unmade, None
    return unmade


def _plain_value(value: Any, keep_unknowns: Any, keep_internal: Any) -> Any:
    kind = type(value)
    if kind is str:
        if value == _UNKNOWN:
            from pulumi.output import Unknown

            return Unknown() if pulumi_settings.is_dry_run() or keep_unknowns else None
        return value
    if kind is bool or value is None:
        return value
    if kind is int or kind is float:
        return float(value)
    if kind is list:
        return [_plain_value(item, keep_unknowns, keep_internal) for item in value]
    return deserialize_plain(value, keep_unknowns, keep_internal)


def deserialize_plain(answer: dict, keep_unknowns: Any = None, keep_internal: Any = None) -> dict:
    """`rpc.deserialize_properties` of the Struct made from `answer`, from the answer itself."""
    output = {}
    for key, value in answer.items():
        if keep_internal is False and key.startswith("__") and key != "__provider":
            continue
        if value is None:
            continue  # (absent from the Struct at the top; null below it: either way left out)
        value = _plain_value(value, keep_unknowns, keep_internal)
        if value is not None:
            output[key] = value
    return output


def _struct_value(value: Any, keep_unknowns: Any, keep_internal: Any) -> Any:
    """The SDK's `deserialize_property` of one protobuf Value, read through protobuf's own accessors."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        if text == _UNKNOWN:
            from pulumi.output import Unknown

            return Unknown() if pulumi_settings.is_dry_run() or keep_unknowns else None
        return text
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        struct = value.struct_value
        if _SIGNATURE_KEY in struct.fields:  # a secret, asset, archive, resource or output value: the SDK's own
            return pulumi_rpc.deserialize_property(struct, keep_unknowns, keep_internal)
        props = _struct(struct, keep_unknowns, keep_internal)
        if any(pulumi_rpc.is_rpc_secret(item) for item in props.values()):
            return pulumi_rpc.wrap_rpc_secret({k: pulumi_rpc.unwrap_rpc_secret(v) for k, v in props.items()})
        return props
    if kind == "list_value":
        items = [_struct_value(item, keep_unknowns, keep_internal) for item in value.list_value.values]
        if any(pulumi_rpc.is_rpc_secret(item) for item in items):
            return pulumi_rpc.wrap_rpc_secret([pulumi_rpc.unwrap_rpc_secret(item) for item in items])
        return items
    return None


def _struct(struct: Any, keep_unknowns: Any, keep_internal: Any) -> dict:
    output = {}
    for key, value in struct.fields.items():
        if keep_internal is False and key.startswith("__") and key != "__provider":
            continue
        value = _struct_value(value, keep_unknowns, keep_internal)
        if value is not None:
            output[key] = value
    return output


def _deserializing_remembered(deserialize_properties: Any) -> Any:
    def deserialize(props_struct: Any, keep_unknowns: Any = None, keep_internal: Any = None) -> Any:
        if type(props_struct) is UnmadeAnswer:
            return deserialize_plain(props_struct.answer, keep_unknowns, keep_internal)
        entry = _remembered.by_struct.pop(id(props_struct), None)
        if entry is not None and entry[0] is props_struct:
            return deserialize_plain(entry[1], keep_unknowns, keep_internal)
        if type(props_struct) is struct_pb2.Struct and _SIGNATURE_KEY not in props_struct.fields:
            return _struct(props_struct, keep_unknowns, keep_internal)
        return deserialize_properties(props_struct, keep_unknowns, keep_internal)

    return deserialize


class AnsweredResponse:
    """The monitor's RegisterResourceResponse, with `object` the very Struct the answer was remembered by (a
    protobuf message hands out a new wrapper of its field on each read)."""

    __slots__ = ("_response", "object")

    def __init__(self, response: Any, struct: Any) -> None:
        self._response = response
        self.object = struct

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    original = pulumi_rpc.deserialize_properties
    pulumi_rpc.deserialize_properties = _deserializing_remembered(original)
    try:
        yield
    finally:
        pulumi_rpc.deserialize_properties = original
        _remembered.by_struct.clear()
        _remembered.last = None
        _remembered.unmade = None
