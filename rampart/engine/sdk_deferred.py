"""Parts of the `pulumi` package that `import pulumi` loads and a program seldom uses, loaded on first use instead.

`pulumi/__init__.py` imports `pulumi.automation` (the Automation API: workspaces, the CLI wrapper) and
`pulumi.dynamic` (dynamic providers, with dill): about 60 ms of the worker's start-up, before any program runs, for
modules few programs touch. Imported through a lazy loader (CPython 3.13's, which holds a lock while the module
runs), each is a module object at once and runs its code on its first attribute access, so a program that uses
either sees exactly the module it would have had.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

DEFERRED = ("pulumi.automation", "pulumi.dynamic")


class _LazyModule(types.ModuleType):
    """A module that runs its code on its first attribute access, under a lock: CPython 3.13's
    importlib.util._LazyModule. Before 3.13 the standard one switched the module to a plain one and then ran it
    with no lock, so another thread reading it meanwhile saw it half-run (an ImportError in 7 of 8 threads)."""

    def __getattribute__(self, attr: str) -> Any:
        spec = object.__getattribute__(self, "__spec__")
        state = spec.loader_state
        with state["lock"]:
            # Only the first thread to get the lock runs the module; the others then read it whole.
            if object.__getattribute__(self, "__class__") is _LazyModule:
                plain = state["__class__"]
                if state["is_loading"]:  # the module's own code, or a self-referential import, in this thread
                    return plain.__getattribute__(self, attr)
                state["is_loading"] = True
                namespace = plain.__getattribute__(self, "__dict__")
                # What was set on the module between its creation and now is set again after it runs, as an
                # eager import would have left it (the import system binds loaded submodules on their package).
                before = state["__dict__"]
                updated = {k: v for k, v in namespace.items() if k not in before or before[k] is not v}
                spec.loader.exec_module(self)
                if spec.name in sys.modules and sys.modules[spec.name] is not self:
                    raise ValueError(f"module object for {spec.name!r} substituted in sys.modules during a lazy load")
                namespace.update(updated)
                if isinstance(self, _LazyModule):
                    object.__setattr__(self, "__class__", plain)
        return getattr(self, attr)

    def __delattr__(self, attr: str) -> None:
        self.__getattribute__(attr)  # the load, and an AttributeError for a missing name
        delattr(self, attr)


class _LazyLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__.loader = self.loader
        module.__loader__ = self.loader
        module.__spec__.loader_state = {"__dict__": module.__dict__.copy(), "__class__": module.__class__,
                                        "lock": threading.RLock(), "is_loading": False}
        module.__class__ = _LazyModule


class _DeferringFinder:
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001, ANN201 (the MetaPathFinder protocol)
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None  # the finders after this one resolve it exactly as without it
        spec.loader = _LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def deferred(names: tuple[str, ...] = DEFERRED) -> Iterator[None]:
    """While open, importing one of `names` gives a module that loads on first use."""
    finder = _DeferringFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
