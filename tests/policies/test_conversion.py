"""The pack's Struct conversion equals protobuf's own MessageToDict, and converted properties are shared only by
messages of equal content."""

from __future__ import annotations

import math

import pytest
from google.protobuf import json_format, struct_pb2
from guardrails.conversion import Conversions, struct_to_dict

EVERY_KIND = {
    "text": "x", "empty": "", "yes": True, "no": False, "whole": 3.0, "fraction": -0.25, "big": 1e300, "null": None,
    "list": [1.0, "a", None, [], {}, [True, {"deep": ["z"]}]], "map": {"inner": {"k": 1.5}, "none": None},
    "emptyMap": {}, "emptyList": [],
}


def struct(values) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def test_struct_to_dict_is_message_to_dict():
    message = struct(EVERY_KIND)
    message.fields["unset"].Clear()  # a Value with no kind at all: null, as json_format reads it
    converted = struct_to_dict(message)
    assert converted == json_format.MessageToDict(message)
    assert list(converted) == list(json_format.MessageToDict(message))
    assert converted["unset"] is None and type(converted["whole"]) is float


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_numbers_json_cannot_hold_are_refused_as_message_to_dict_refuses_them(number):
    message = struct({"n": [number]})
    with pytest.raises(ValueError) as expected:
        json_format.MessageToDict(message)
    with pytest.raises(ValueError) as refused:
        struct_to_dict(message)
    assert str(refused.value) == str(expected.value)


def test_equal_content_converts_once_and_different_content_again():
    calls = []
    convert = Conversions(lambda message: calls.append(1) or struct_to_dict(message), keep=2)
    first = convert(struct({"a": 1.0, "b": ["x"]}))
    assert convert(struct({"b": ["x"], "a": 1.0})) is first  # map order does not matter
    assert convert(struct({"a": 2.0})) == {"a": 2.0}
    assert len(calls) == 2
    convert(struct({"c": 1.0}))  # keeps two: {"a": 1.0, ...} was the least recently used
    assert convert(struct({"a": 1.0, "b": ["x"]})) is not first and len(calls) == 4
