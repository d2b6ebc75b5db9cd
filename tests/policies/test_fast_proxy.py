"""The pack's unknown-checking proxy answers every read as pulumi_policy's own does: values, nested proxies,
membership, iteration, equality, and the UnknownValueError (with its property path) where a value is unknown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from guardrails.fast_proxy import unknown_checking_proxy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    _DictProxy,
    _ListProxy,
)
from pulumi_policy.proxy import unknown_checking_proxy as stock_proxy

PROPS = {
    "name": "app", "count": 2.0, "off": False, "none": None, "unknown": UNKNOWN_STRING_VALUE,
    "tags": {"team": "x", "cost": UNKNOWN_NUMBER_VALUE},
    "rules": [{"port": 443.0}, UNKNOWN_ARRAY_VALUE, {"cidrs": ["10.0.0.0/8", UNKNOWN_STRING_VALUE]}],
    "known": [["a"], {"b": [1.0]}], "empty": {}, "__target": "a key that looks like the escape hatch",
}

READS: dict[str, Callable[[Any], Any]] = {
    "get": lambda p: p.get("name"), "get missing": lambda p: p.get("missing", "default"),
    "get none": lambda p: p.get("none", "default"), "get unknown": lambda p: p.get("unknown"),
    "index unknown": lambda p: p["unknown"], "index missing": lambda p: p["missing"],
    "in": lambda p: ("name" in p, "missing" in p, "none" in p), "in unknown": lambda p: "unknown" in p,
    "nested unknown": lambda p: p["tags"].get("cost"), "nested known": lambda p: dict(p["tags"].items())["team"],
    "items": lambda p: [k for k, _ in p.items()], "values": lambda p: list(p["tags"].values()),
    "keys": lambda p: list(p), "len": lambda p: (len(p), len(p["rules"])),
    "list index": lambda p: p["rules"][0]["port"], "list negative": lambda p: p["rules"][-1]["cidrs"][0],
    "list unknown": lambda p: p["rules"][1], "list out of range": lambda p: p["rules"][7],
    "list iterate": lambda p: list(p["rules"]), "list slice": lambda p: p["known"][0:1],
    "deep iterate": lambda p: [c for c in p["rules"][2]["cidrs"]],
    "list contains": lambda p: "10.0.0.0/8" in p["rules"][2]["cidrs"],
    "list contains unknown": lambda p: "nope" in p["rules"][2]["cidrs"],
    "list index of": lambda p: p["known"].index(p["known"][1]), "reversed": lambda p: list(reversed(p["known"])),
    "equal": lambda p: p["tags"] == {"team": "x"}, "equal known": lambda p: p["known"][1] == {"b": [1.0]},
    "types": lambda p: (isinstance(p, _DictProxy), isinstance(p["known"], _ListProxy)),
    "escape hatch": lambda p: sorted(p["__target"]), "escape hatch get": lambda p: sorted(p.get("__target")),
    "escape hatch in": lambda p: "__target" in p, "list escape hatch": lambda p: len(p["known"]["__target"]),
}


def outcome(read: Callable[[Any], Any], props: Any) -> Any:
    try:
        value = read(props)
    except UnknownValueError as error:
        return ("unknown", error.message, error.props, error.unknown_type_sentinel)
    except (KeyError, IndexError, ValueError) as error:
        return (type(error).__name__, str(error))
    return ("value", _plain(value))


def _plain(value: Any) -> Any:
    """Proxies compared by what they wrap (two proxy classes never compare equal by identity)."""
    if isinstance(value, _DictProxy):
        return ("dict", {k: _plain(v) for k, v in value["__target"].items()})
    if isinstance(value, _ListProxy):
        return ("list", [_plain(v) for v in value["__target"]])
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_every_read_answers_as_pulumi_policys_proxy(read):
    assert outcome(read, unknown_checking_proxy(PROPS)) == outcome(read, stock_proxy(PROPS))


def test_unknown_reads_name_the_property_path():
    error = outcome(READS["deep iterate"], unknown_checking_proxy(PROPS))
    assert error[0] == "unknown" and error[2] == ["rules", "2", "cidrs", "1"]
