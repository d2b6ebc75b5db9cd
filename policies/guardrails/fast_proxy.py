"""pulumi_policy's unknown-checking proxy, with each read done in one call instead of four.

Rules read properties through `Mapping.get` -> `_DictProxy.__getitem__` -> `_raise_if_unknown` -> `_is_unknown`,
and iterate lists through `Sequence.__iter__`, which indexes element by element until IndexError: about a sixth
of the pack's time on a large stack. These subclasses answer every read exactly as pulumi_policy's proxies do
(the same values, the same nested proxies, the same UnknownValueError with the same property path, `"__target"`
still the wrapped container) and are still `_DictProxy` / `_ListProxy` instances, so nothing that inspects them
(pulumi_policy's own serialisation) sees a difference. tests/policies/test_fast_proxy.py compares them read by read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    _DictProxy,
    _ListProxy,
)

_UNKNOWNS = frozenset({UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
                       UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE})
_MISSING = object()


def _unknown(value: Any, path: list[str], key: Any) -> UnknownValueError:
    return UnknownValueError(value, [*path, str(key)])


class DictProxy(_DictProxy):
    def __getitem__(self, key: Any) -> Any:
        if key == "__target":
            return self._DictProxy__target
        value = self._DictProxy__target[key]
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _unknown(value, self._DictProxy__props_acc, key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        if key == "__target":
            return self._DictProxy__target
        value = self._DictProxy__target.get(key, _MISSING)
        if value is _MISSING:
            return default
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _unknown(value, self._DictProxy__props_acc, key)
        return value

    def __contains__(self, key: Any) -> bool:
        # Mapping's `in` reads the value: an unknown one raises, as there.
        return self.get(key, _MISSING) is not _MISSING


class ListProxy(_ListProxy):
    def __getitem__(self, key: Any) -> Any:
        if key == "__target":
            return self._ListProxy__target
        value = self._ListProxy__target[key]
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _unknown(value, self._ListProxy__props_acc, key)
        return value

    def __iter__(self) -> Iterator[Any]:
        for index, value in enumerate(self._ListProxy__target):
            if isinstance(value, str) and value in _UNKNOWNS:
                raise _unknown(value, self._ListProxy__props_acc, index)
            yield value


def unknown_checking_proxy(props: dict[str, Any]) -> Any:
    """`pulumi_policy.proxy.unknown_checking_proxy`, built from these classes."""
    return _proxy(props, [])


def _proxy(value: Any, path: list[str]) -> Any:
    if isinstance(value, list):
        return ListProxy([_proxy(item, [*path, str(index)]) for index, item in enumerate(value)], path)
    if isinstance(value, dict):
        return DictProxy({key: _proxy(item, [*path, str(key)]) for key, item in value.items()}, path)
    return value
