"""From the components' frozen Args dataclasses to the shapes Pulumi's component provider host can read, and back.

The host (pulumi.provider.experimental) infers a package schema from type annotations, but it reads classes the
way it reads TypedDicts: it does not understand dataclass defaults (every field would become required), tuples or
`Literal`, and `Construct` hands the component a dict, never the Args class. So each Args dataclass is mirrored
here as a TypedDict derived from its own annotations (fields with a default become `NotRequired`, `Sequence` and
`tuple[X, ...]` become lists, `Literal` choices a string enum), and the dict `Construct` receives is rebuilt into
the dataclass, so the component's own validation judges it exactly as it judges a Python caller's arguments.

Each mirror keeps the dataclass's module and qualified name: the host reads property descriptions from the class
source (`inspect.getsource`), which then finds the dataclass and its field docstrings. Nothing is written by hand,
so a field added, renamed or retyped in an Args class reaches the schema on its own.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import re
import types
import typing
from typing import Any, ForwardRef, NotRequired, TypedDict, Union

import pulumi

_SIMPLE = (str, int, float, bool)
_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


class InexpressibleType(TypeError):
    """An annotation no Pulumi schema type can express (the component cannot be exported as it stands)."""


class SchemaTypes:
    """One package's mirrors: a dataclass or `Literal` maps to one schema type, whichever component uses it."""

    def __init__(self) -> None:
        self._mirrors: dict[type, type] = {}
        self._enums: dict[str, type[enum.Enum]] = {}

    def mirror(self, cls: type) -> type:
        """The TypedDict the host reads for the dataclass `cls` (built once per class)."""
        if cls in self._mirrors:
            return self._mirrors[cls]
        if not dataclasses.is_dataclass(cls):
            raise InexpressibleType(f"{cls.__qualname__}: expected a dataclass of component arguments")
        hints = inspect.get_annotations(cls, eval_str=True)
        fields: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            converted = self.convert(hints[field.name], f"{cls.__qualname__}.{field.name}")
            has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
            fields[field.name] = NotRequired[converted] if has_default else converted
        mirror = TypedDict(cls.__name__, fields)  # type: ignore[operator]
        mirror.__module__, mirror.__qualname__ = cls.__module__, cls.__qualname__
        mirror.__doc__ = inspect.getdoc(cls) if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "(") else None
        self._mirrors[cls] = mirror
        return mirror

    def outputs(self, component: type) -> dict[str, Any]:
        """The component's public output annotations, resolved and converted (the host reads class annotations)."""
        hints = inspect.get_annotations(component, eval_str=True)
        return {
            name: self.convert(hint, f"{component.__qualname__}.{name}")
            for name, hint in hints.items()
            if not name.startswith("_")
        }

    def convert(self, hint: Any, where: str) -> Any:
        """`hint` as the host understands it; InexpressibleType naming `where` when nothing does."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint in _SIMPLE or hint is Any or isinstance(hint, ForwardRef):
            return hint
        if dataclasses.is_dataclass(hint):
            return self.mirror(hint)
        if origin is typing.Literal:
            return self._literal(args, where)
        if origin in (Union, types.UnionType):
            return Union[tuple(self.convert(arg, where) for arg in args)]  # noqa: UP007 (built from a tuple)
        if origin is collections.abc.Awaitable:
            return collections.abc.Awaitable[self.convert(args[0], where)]
        if origin is pulumi.Output:
            return pulumi.Output[self.convert(args[0], where)]
        if origin in _SEQUENCES:
            items = [arg for arg in args if arg is not Ellipsis]
            if len(items) != 1:
                raise InexpressibleType(f"{where}: expected a homogeneous sequence, got {hint!r}")
            return list[self.convert(items[0], where)]
        if origin in _MAPPINGS and len(args) == 2 and args[0] is str:
            return dict[str, self.convert(args[1], where)]
        if hint is type(None):
            return hint
        raise InexpressibleType(f"{where}: {hint!r} has no Pulumi schema type")

    def _literal(self, choices: tuple[Any, ...], where: str) -> type[enum.Enum]:
        if not choices or not all(isinstance(choice, str) for choice in choices):
            raise InexpressibleType(f"{where}: expected string choices, got Literal{list(choices)!r}")
        # Named after the field (`traffic_control` -> TrafficControl): the name SDKs give the enum type.
        name = "".join(part.capitalize() for part in where.rsplit(".", 1)[-1].split("_"))
        existing = self._enums.get(name)
        if existing is not None:
            if tuple(member.value for member in existing) != choices:
                raise InexpressibleType(f"{where}: enum {name} already has other choices")
            return existing
        members = {re.sub(r"\W", "_", choice).upper(): choice for choice in choices}
        created = enum.Enum(name, members, module=__name__)  # type: ignore[misc]
        created.__doc__ = f"One of: {', '.join(choices)}."
        self._enums[name] = created
        return created


def rebuild(cls: type, values: Any, where: str) -> Any:
    """The dataclass `cls` from the dict `Construct` mapped to Python names (unset keys keep their defaults)."""
    if not isinstance(values, dict):
        # The type only, never the value: it may be a secret.
        raise ValueError(f"{where}: expected an object of plain values, got {type(values).__name__}")
    hints = inspect.get_annotations(cls, eval_str=True)
    known = {field.name for field in dataclasses.fields(cls)}
    return cls(**{
        name: _plain(hints[name], value, f"{where}.{name}")
        for name, value in values.items()
        if name in known and value is not None
    })


def _is_wrapper(hint: Any) -> bool:
    """The Awaitable / Output members of an `Input[X]` union (X is the other member)."""
    return isinstance(hint, ForwardRef) or typing.get_origin(hint) in (collections.abc.Awaitable, pulumi.Output)


def _plain(hint: Any, value: Any, where: str) -> Any:
    """`value` as the dataclass field `hint` expects it: wire floats back to ints, lists to tuples, enums to their
    strings. Outputs pass through where the field accepts an Input, and are refused where it needs a plain value."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(value, pulumi.Output):
        if origin in (Union, types.UnionType) and collections.abc.Awaitable in map(typing.get_origin, args):
            return value
        raise ValueError(f"{where}: expected a plain value known at preview, got an output")
    if isinstance(value, enum.Enum):
        value = value.value
    if origin in (Union, types.UnionType):
        plain = [arg for arg in args if arg is not type(None) and not _is_wrapper(arg)]
        return _plain(plain[0], value, where) if len(plain) == 1 else value
    if dataclasses.is_dataclass(hint):
        return rebuild(hint, value, where)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if origin in _SEQUENCES and isinstance(value, list):
        items = [arg for arg in args if arg is not Ellipsis]
        converted = [_plain(items[0], item, f"{where}[{i}]") for i, item in enumerate(value)] if items else value
        return tuple(converted) if origin is tuple else converted
    if origin in _MAPPINGS and isinstance(value, dict):
        return {key: _plain(args[1], item, f"{where}.{key}") for key, item in value.items()}
    return value
