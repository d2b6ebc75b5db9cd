"""Parts of the `pulumi` package that `import pulumi` loads and a program seldom uses, loaded on first use instead.

`pulumi/__init__.py` imports `pulumi.automation` (the Automation API: workspaces, the CLI wrapper) and
`pulumi.dynamic` (dynamic providers, with dill): about 60 ms of the worker's start-up, before any program runs, for
modules few programs touch. Imported through `importlib.util.LazyLoader`, each is a module object at once and runs
its code on its first attribute access, so a program that uses either sees exactly the module it would have had.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator

DEFERRED = ("pulumi.automation", "pulumi.dynamic")


class _DeferringFinder:
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001, ANN201 (the MetaPathFinder protocol)
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None  # the finders after this one resolve it exactly as without it
        spec.loader = importlib.util.LazyLoader(spec.loader)
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
