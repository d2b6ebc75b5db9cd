"""A generated SDK package whose `__init__` imports its modules lazily (rampart.engine.sdk_lazy, through the SDK
code cache) shows a program the namespace the eager package shows."""

from __future__ import annotations

import ast
import contextlib
import json
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.engine import sdk_lazy, sdk_rewrite

# In a fresh interpreter: the package imported with the loader (its `__init__` entry written first) or without,
# then every public name and what it is (a class or function by module and qualified name, a module by name).
DESCRIBE = textwrap.dedent('''
    import importlib, json, sys, types
    from pathlib import Path
    package, lazy, cache = sys.argv[1], sys.argv[2] == "lazy", Path(sys.argv[3])
    if lazy:
        from rampart.engine import sdk_loader
        top, *inner = package.split(".")
        init = Path(importlib.util.find_spec(top).origin).parent.joinpath(*inner, "__init__.py")  # nothing imported
        assert sdk_loader.warm(cache, [str(init)]) == 1
        sdk_loader.install(directory=cache)
    module = importlib.import_module(package)
    module._utilities  # a provider's subpackage is itself loaded on first use (pulumi's lazy_import)
    def what(value):
        if isinstance(value, types.ModuleType):
            return "module " + value.__name__
        if isinstance(value, (type, types.FunctionType)):
            return f"{value.__module__}.{value.__qualname__}"
        return type(value).__name__
    if lazy:
        public = list(module.__all__)
        loaded_before = sorted(n for n in sys.modules if n.startswith(package + "."))
    else:
        # Everything the eager package bound, whatever its own statements and its modules' imports did.
        public = [name for name in vars(module) if not name.startswith("_")]
        loaded_before = []
    print(json.dumps({"names": {name: what(getattr(module, name)) for name in sorted(public)},
                      "dir": sorted(n for n in dir(module) if not n.startswith("_")), "loaded": loaded_before}))
''')


def _describe(package: str, mode: str, cache: Path) -> dict:
    run = subprocess.run([sys.executable, "-c", DESCRIBE, package, mode, str(cache)], capture_output=True,  # noqa: S603
                         text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    return json.loads(run.stdout)


@pytest.mark.parametrize("package", ["pulumi_aws.ec2", "pulumi_github"])
def test_a_lazy_package_shows_the_eager_namespace(package, tmp_path):
    eager = _describe(package, "eager", tmp_path / "unused")
    lazy = _describe(package, "lazy", tmp_path / "cache")
    assert lazy["names"] == eager["names"]
    assert set(eager["dir"]) <= set(lazy["dir"])
    # And it was lazy: right after the import, few of the package's modules were loaded.
    assert len(lazy["loaded"]) < len(eager["names"]) / 10


def _package(tmp_path: Path, init: str, modules: dict[str, str]) -> Path:
    package = tmp_path / "pkg"
    package.mkdir()
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source)
    (package / "__init__.py").write_text(init)
    return package / "__init__.py"


def _lazy(path: Path) -> ast.Module | None:
    return sdk_lazy.lazy_package(ast.parse(path.read_text()), str(path), sdk_rewrite._bound)


def test_a_later_star_import_still_wins_a_shared_name(tmp_path):
    init = _package(tmp_path, "from .a import *\nfrom .b import *\n",
                    {"a": "__all__ = ['X', 'A']\nX = 'a'\nA = 1\n", "b": "__all__ = ['X']\nX = 'b'\n"})
    with _imported(init) as package:
        assert (package.X, package.A) == ("b", 1)
        assert package.__all__ == ["A", "X", "a", "b"]


@contextlib.contextmanager
def _imported(init: Path) -> Iterator[types.ModuleType]:
    """The package `pkg` at `init`, its `__init__` run as rewritten, importable for the length of the block."""
    sys.path.insert(0, str(init.parent.parent))
    module = types.ModuleType("pkg")
    module.__path__ = [str(init.parent)]
    module.__package__ = "pkg"
    sys.modules["pkg"] = module
    try:
        exec(compile(_lazy(init), str(init), "exec"), module.__dict__)  # noqa: S102
        yield module
    finally:
        sys.path.remove(str(init.parent.parent))
        for name in [n for n in sys.modules if n == "pkg" or n.startswith("pkg.")]:
            del sys.modules[name]


@pytest.mark.parametrize(("init", "modules"), [
    pytest.param("from .a import *\nX = 2\n", {"a": "__all__ = ['X']\nX = 1\n"}, id="own-statement-binds-a-name"),
    pytest.param("from .a import *\n", {"a": "__all__ = names()\n"}, id="all-not-a-literal"),
    pytest.param("from .a import *\ndef __getattr__(name): ...\n", {"a": "__all__ = ['X']\n"}, id="own-getattr"),
])
def test_a_package_that_cannot_be_exact_is_left_as_it_is(tmp_path, init, modules):
    assert _lazy(_package(tmp_path, init, modules)) is None


def test_a_module_the_package_reads_at_import_stays_eager(tmp_path):
    init = _package(tmp_path, "from . import util\nfrom .a import *\nutil.register()\n",
                    {"util": "def register(): pass\n", "a": "__all__ = ['A']\nA = 1\n"})
    tree = _lazy(init)
    assert any(isinstance(s, ast.ImportFrom) and s.names[0].name == "util" for s in tree.body)
    assert not any(isinstance(s, ast.ImportFrom) and s.module == "a" for s in tree.body)


def test_a_module_named_after_its_own_export_imported_directly_still_gives_the_export(tmp_path):
    """`from .get_vpc import *` bound the function `get_vpc` over the submodule of that name: importing the
    submodule directly (which sets the package's attribute to the module) must not undo that."""
    init = _package(tmp_path, "from .get_thing import *\nfrom .other import *\n",
                    {"get_thing": "__all__ = ['get_thing', 'Result']\ndef get_thing(): return 'called'\nResult = 1\n",
                     "other": "__all__ = ['Other']\nOther = 2\n"})
    with _imported(init) as package:
        import importlib

        importlib.import_module("pkg.get_thing")
        assert package.get_thing() == "called"
        assert package.Result == 1


def test_a_kept_star_import_sharing_a_name_with_a_deferred_one_leaves_the_package_as_it_is(tmp_path):
    init = _package(tmp_path, "from . import util\nfrom .a import *\nfrom .b import *\nutil.register(A)\n",
                    {"util": "def register(x): pass\n", "a": "__all__ = ['A', 'X']\nA = 1\nX = 'a'\n",
                     "b": "__all__ = ['X']\nX = 'b'\n"})
    assert _lazy(init) is None
