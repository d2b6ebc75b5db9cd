"""A generated SDK package's `__init__`, rewritten to import its modules when a name of theirs is first used.

A generated package star-imports every one of its modules (`from .vpc import *`, 181 of them in pulumi_aws.ec2,
170 in pulumi_github), and a program uses a handful: most of a check's SDK import time went to modules nothing
read. Here each `from .<module> import *` of a sibling whose `__all__` is a literal list, and each
`from . import <module>`, is replaced by an entry in a table the package's module `__getattr__` reads: the first
access to one of the module's names (or to the module itself) imports it and binds its names, as the star
import did. The package keeps the namespace it had: `__all__` lists every public name the eager package bound
(so `from package import *` still gives them all) and `dir()` shows them. A package where this cannot be exact
(a name its other statements bind is also star-imported, or a sibling's `__all__` is not a literal) is left as
it is.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path

_LAZY_ACCESS = '''
import importlib as _rampart_importlib
import sys as _rampart_sys
import types as _rampart_types


def _rampart_load(module_name):
    """Import a deferred module; its exports take their names, as its star import gave them."""
    module = _rampart_importlib.import_module("." + module_name, __name__)
    namespace = globals()
    for exported, owner in __rampart_lazy_names__.items():
        if owner == module_name:
            namespace[exported] = getattr(module, exported)
    return module


def __getattr__(name):
    module_name = __rampart_lazy_names__.get(name)
    if module_name is None and name in __rampart_lazy_modules__:
        return _rampart_importlib.import_module("." + name, __name__)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _rampart_load(module_name)
    return globals()[name]


def __dir__():
    return sorted({*globals(), *__rampart_lazy_names__, *__rampart_lazy_modules__})


class _RampartLazyPackage(_rampart_types.ModuleType):
    def __setattr__(self, name, value):
        # The import system binds a submodule on its package once it is loaded (`import pkg.get_vpc`), over
        # what the eager star imports had bound (`get_vpc` the function): bind those again.
        super().__setattr__(name, value)
        if name in __rampart_lazy_modules__ and isinstance(value, _rampart_types.ModuleType):
            _rampart_load(name)
            owner = __rampart_lazy_names__.get(name)
            if owner is not None and owner != name:
                _rampart_load(owner)


_rampart_sys.modules[__name__].__class__ = _RampartLazyPackage
'''


def _literal_all(path: Path) -> list[str] | None:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == "__all__"):
            try:
                names = ast.literal_eval(stmt.value)
            except ValueError:
                return None
            return list(names) if all(isinstance(name, str) for name in names) else None
    return None


def _sibling(package_dir: Path, name: str) -> bool:
    return (package_dir / f"{name}.py").is_file() or (package_dir / name / "__init__.py").is_file()


def _deferred(stmt: ast.stmt, package_dir: Path) -> tuple[str, list[str] | None] | None:
    """(module, its exported names) for a star import of a sibling; (module, None) for `from . import m`."""
    if not isinstance(stmt, ast.ImportFrom) or stmt.level != 1:
        return None
    if stmt.module and "." not in stmt.module and [a.name for a in stmt.names] == ["*"]:
        exported = _literal_all(package_dir / f"{stmt.module}.py")
        return (stmt.module, exported) if exported is not None else None
    if stmt.module is None and len(stmt.names) == 1 and stmt.names[0].asname is None \
            and _sibling(package_dir, stmt.names[0].name):
        return stmt.names[0].name, None
    return None


def lazy_package(tree: ast.Module, path: str, names_bound_by: Callable[[ast.stmt], Iterable[str]],
                 ) -> ast.Module | None:
    """`tree` of a package's `__init__` with its sibling imports deferred, or None when nothing can be.
    `names_bound_by`: the names a statement binds in the module's scope (sdk_rewrite._bound)."""
    package_dir = Path(path).parent
    candidates = [(stmt, _deferred(stmt, package_dir)) for stmt in tree.body]
    # What the module's own code reads at import (`_utilities` for its registrations) stays imported eagerly.
    read = {node.id for stmt, deferred in candidates if deferred is None
            for node in ast.walk(stmt) if isinstance(node, ast.Name)}
    names: dict[str, str] = {}
    modules: list[str] = []
    kept: list[ast.stmt] = []
    for stmt, deferred in candidates:
        if deferred is None or deferred[0] in read or read.intersection(deferred[1] or ()):
            kept.append(stmt)
            continue
        module, exported = deferred
        modules.append(module)
        for name in exported or ():
            names[name] = module  # a later star import's name wins, as it did
    if not modules:
        return None
    own = {name for stmt in kept for name in names_bound_by(stmt) if name != "*"}
    for stmt in kept:
        if isinstance(stmt, ast.ImportFrom) and any(alias.name == "*" for alias in stmt.names):
            exported = _literal_all(package_dir / f"{stmt.module}.py") if stmt.level == 1 and stmt.module else None
            if exported is None:
                return None  # names it binds are unknown here: whether a deferred one shadows them cannot be told
            own.update(exported)
    # Exact only if the rest of the module binds no deferred name, nor what is added here.
    if own & {*names, *modules, "__all__", "__getattr__", "__dir__"}:
        return None
    public = sorted({name for name in (*own, *names, *modules) if not name.startswith("_")})
    table = ast.parse(f"__rampart_lazy_names__ = {names!r}\n__rampart_lazy_modules__ = {set(modules)!r}\n"
                      f"__all__ = {public!r}\n" + _LAZY_ACCESS)
    return ast.Module(body=[*kept, *table.body], type_ignores=tree.type_ignores)
