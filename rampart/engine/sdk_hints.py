"""The Pulumi SDK's property types per class, remembered across checks in the private SDK cache directory.

The first time a run uses an SDK class (a resource, an `*Args` input type, an output type), the SDK's
`_types_from_py_properties` evaluates every property getter's return annotation with `typing.get_type_hints`
(a ForwardRef compiled and evaluated per annotation, Unions rebuilt): about 0.25 s of CPU per stack at one
service, the largest fixed cost of the program phase (bench/README). Its answer, a dict of Pulumi property names
to types, depends only on the SDK's source and on the interpreter and pulumi versions, so it is pickled and read
back in later checks instead of being evaluated again.

An entry is used only when it was written by this interpreter, under this `pulumi._types` source, for the same
source of the class's module, of its base classes' modules and of every SDK module whose classes the answer
names (each stamped by size and modification time); anything else is a miss, and a miss is the SDK's own
evaluation. Only classes of generated `pulumi_*` SDK modules outside the program are remembered: a program's own
classes change with every edit, and a class pickle cannot name (a local one) is evaluated each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rampart.engine import local_files
from rampart.engine.sdk_loader import source_stamp

FORMAT = b"rampart-sdk-hints/1\n"
DISABLE_ENV = "RAMPART_SDK_HINTS"
"""`0` evaluates every class's types as the SDK does (to compare, or to rule this cache out)."""
SUFFIX = ".hints"


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        return source_stamp(path)
    except OSError:
        return None


def _module_file(module_name: str) -> str | None:
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    return path if isinstance(path, str) and path.endswith(".py") else None


def _named_classes(value: Any, found: set[type]) -> set[type]:
    """Every class `value` (a type, a typing form, or a dict of them) names."""
    if isinstance(value, dict):
        for item in value.values():
            _named_classes(item, found)
        return found
    if isinstance(value, type):
        found.add(value)
    for argument in typing.get_args(value):
        _named_classes(argument, found)
    origin = typing.get_origin(value)
    if origin is not None and origin is not value:
        _named_classes(origin, found)
    return found


def _named_sdk_modules(value: Any, found: set[str]) -> None:
    """The `pulumi*` modules of every class `value` names."""
    classes = _named_classes(value, set())
    found.update(c.__module__ for c in classes if c.__module__.partition(".")[0].startswith("pulumi"))


class HintCache:
    """One run's view of the cache: entries read on first use of a class, misses written by `flush`."""

    def __init__(self, directory: Path, sdk_types_file: str, is_sdk_module: Callable[[str], bool]) -> None:
        self.directory = directory
        self.is_sdk_module = is_sdk_module
        self.key = FORMAT + f"{sys.version}|{sdk_types_file}|{_stamp(sdk_types_file)}\n".encode()
        with contextlib.suppress(OSError):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.usable = local_files.is_private(directory)
        self.read = 0
        self.pending: dict[str, bytes] = {}
        self._sdk_modules: dict[str, bool] = {}
        """`is_sdk_module` per module name: a run asks it for every class, and a module holds hundreds."""

    def _is_sdk_module(self, module_name: str) -> bool:
        known = self._sdk_modules.get(module_name)
        if known is None:
            known = self._sdk_modules[module_name] = self.is_sdk_module(module_name)
        return known

    def _entry(self, cls: type) -> tuple[Path, bytes] | None:
        module_file = _module_file(cls.__module__)
        if module_file is None or not self._is_sdk_module(cls.__module__) or "<" in cls.__qualname__:
            return None
        name = f"{cls.__module__}:{cls.__qualname__}"
        digest = hashlib.sha256(self.key + name.encode()).hexdigest()[:40]
        return self.directory / f"{digest}{SUFFIX}", self.key + f"{name}|{_stamp(module_file)}\n".encode()

    def load(self, cls: type) -> dict[str, Any] | None:
        entry = self._entry(cls) if self.usable else None
        if entry is None:
            return None
        path, header = entry
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not data.startswith(header):
            return None  # another interpreter, pulumi, source or format
        try:
            stamps, types = pickle.loads(data[len(header):])  # noqa: S301 (our own private directory: `usable`)
        except Exception:  # noqa: BLE001 (a corrupt or unloadable entry, e.g. a name the SDK no longer has)
            return None
        if not isinstance(types, dict) or any(_stamp(file) != stamp for file, stamp in stamps):
            return None  # an SDK module whose classes the answer names has changed
        self.read += 1
        return types

    def remember(self, cls: type, types: dict[str, Any]) -> None:
        entry = self._entry(cls) if self.usable else None
        if entry is None:
            return
        path, header = entry
        # The SDK reads the properties and merges the globals of every class in the MRO, whatever module it is in.
        modules = {base.__module__ for base in cls.__mro__}
        _named_sdk_modules(types, modules)
        files = sorted(filter(None, map(_module_file, modules)))
        try:
            data = pickle.dumps(([(file, _stamp(file)) for file in files], types), protocol=pickle.HIGHEST_PROTOCOL)
            if pickle.loads(data)[1] != types:  # noqa: S301 (bytes made on the line above)
                return
        except Exception:  # noqa: BLE001 (a type pickle cannot name by reference: evaluated each time)
            return
        self.pending[str(path)] = header + data

    def flush(self) -> int:
        """Write the misses (best effort: an entry that cannot be written only means evaluating it next time)."""
        written = 0
        if not self.pending or not local_files.is_private(self.directory):
            return 0
        for path, data in self.pending.items():
            written += local_files.write_atomically(Path(path), data)
        self.pending = {}
        return written


_WARMED: dict[type, dict[str, Any]] = {}
"""The answers `warm` gave, by class (a class is its answer's whole key within one process): every later run of
this process, and of the processes it forks, starts with them (a warm server's reach the checks it forks)."""


@contextlib.contextmanager
def remembered(directory: Path, is_sdk_module: Callable[[str], bool]) -> Iterator[HintCache | None]:
    """For the length of one run, the SDK's per-class property types come from the cache where it has them;
    the misses are written on exit. Yields None (and changes nothing) when disabled or the SDK lacks the seam."""
    import pulumi._types as pulumi_types

    original = getattr(pulumi_types, "_types_from_py_properties", None)
    if original is None or os.environ.get(DISABLE_ENV) == "0":
        yield None
        return
    cache = HintCache(directory, pulumi_types.__file__, is_sdk_module)
    known = dict(_WARMED)

    def types_from_py_properties(cls: type) -> dict[str, Any]:
        types = known.get(cls)
        if types is None:
            types = cache.load(cls)
            if types is None:
                types = original(cls)
                cache.remember(cls, types)
            known[cls] = types
        return types

    pulumi_types._types_from_py_properties = types_from_py_properties
    try:
        yield cache
    finally:
        pulumi_types._types_from_py_properties = original
        cache.flush()


def warm(classes: Iterator[type] | list[type], directory: Path, is_sdk_module: Callable[[str], bool]) -> int:
    """The answers for `classes` and for every SDK input or output type their answers name, into this process's
    `_WARMED` (from the cache where it has them): a warm server does this before it forks a program's runner, so the
    runner starts with them. A class warmed before, with what its answer names, is not walked again (the server
    warms before every check). Returns how many classes were newly answered."""
    import pulumi._types as pulumi_types

    pending = [cls for cls in classes if cls not in _WARMED]
    if not pending:
        return 0
    with remembered(directory, is_sdk_module) as cache:
        if cache is None:
            return 0
        seen: set[type] = set()
        while pending:
            cls = pending.pop()
            if cls in seen or cls in _WARMED:
                continue
            seen.add(cls)
            try:
                types = pulumi_types._types_from_py_properties(cls)
            except Exception:  # noqa: BLE001,S112 (what the SDK would raise on use is raised then, not here)
                continue
            _WARMED[cls] = types
            found = {c for c in _named_classes(types, set()) if hasattr(c, "_pulumi_input_type")
                     or hasattr(c, "_pulumi_output_type")}  # the SDK's input and output types
            pending.extend(found - seen)
    return len(seen)
