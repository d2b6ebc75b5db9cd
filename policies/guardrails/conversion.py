"""A resource's properties, from the analyzer's protobuf Struct to what a policy reads, at most once per content.

pulumi_policy converts `json_format.MessageToDict(properties)` -> `deserialize_properties` -> the unknown-checking
proxy. Two costs here, both without changing the result:

- `MessageToDict` walks the message through protobuf's generic JSON printer, several Python calls per value.
  `struct_to_dict` is the same conversion for the one message type the protocol sends (google.protobuf.Struct):
  strings, booleans and numbers as they are, null as None, lists and structs recursively, and the same refusal of
  NaN and infinite numbers (which JSON cannot hold).
- The engine sends each resource twice, once to Analyze and once inside AnalyzeStack. `Conversions` keeps the
  converted properties by the message's (deterministic) serialisation, so the second request reuses the first's.
  Equal bytes are an equal Struct, and the conversion is a pure function of it. Rules never mutate what they get.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

KEEP = 16384
"""Conversions kept: a few stacks' worth of resources (the 50-service benchmark stack has 1,857)."""


def struct_to_dict(struct: Any) -> dict[str, Any]:
    """`json_format.MessageToDict(struct)` for a google.protobuf.Struct."""
    fields = struct.fields
    return {key: _value(fields[key]) for key in fields}


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number):
            raise ValueError("Fail to serialize Infinity for Value.number_value, which would parse as string_value")
        if math.isnan(number):
            raise ValueError("Fail to serialize NaN for Value.number_value, which would parse as string_value")
        return number
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or no kind set (json_format treats both as null)


class Conversions:
    """Converted properties by the content of their message (least recently used dropped beyond `keep`)."""

    def __init__(self, convert: Callable[[Any], Any], keep: int = KEEP) -> None:
        self._convert = convert
        self._keep = keep
        self._kept: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, message: Any) -> Any:
        key = message.SerializeToString(deterministic=True)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        converted = self._convert(message)
        with self._lock:
            self._kept[key] = converted
            if len(self._kept) > self._keep:
                self._kept.popitem(last=False)
        return converted
