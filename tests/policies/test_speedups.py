"""The pack's conversion memo: the same input object converts once, a different one converts again, and
calls with extra arguments are never served from the cache."""

from __future__ import annotations

from guardrails.speedups import _Memo


def test_the_same_object_is_converted_once_and_equal_objects_separately():
    calls = []

    def convert(value):
        calls.append(value)
        return {"converted": dict(value)}

    memo = _Memo(convert)
    first, twin = {"a": 1}, {"a": 1}
    assert memo(first) is memo(first)
    assert memo(twin) == memo(first) and memo(twin) is not memo(first)
    assert len(calls) == 2


def test_extra_arguments_bypass_the_cache():
    calls = []
    memo = _Memo(lambda value, *args: calls.append(args) or len(calls))
    value = {"a": 1}
    assert memo(value, True) == 1 and memo(value, True) == 2
