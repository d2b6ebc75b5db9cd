"""The import graph is one way: `infra` (the stack: config and wiring) imports `components`; nothing in
`components/` or `policies/` imports `infra`, so a component stands alone (another stack, project or language can
use it with plain arguments) and the pack judges any program. Parsed with `ast`, every import form: `import x`,
`import x.y as z`, `from x import y`, `from x.y import z`, and `importlib.import_module("x")` / `__import__`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOWER_LAYERS = ("components", "policies")
UPPER = "infra"


def imported_modules(source: str) -> set[str]:
    """Every absolute module name the source imports (relative imports stay inside their own package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in {"import_module", "__import__"}


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def test_nothing_below_infra_imports_it():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path.read_text()) if _top(m) == UPPER)
        for package in LOWER_LAYERS
        for path in python_files(package)
    }
    offenders = {path: modules for path, modules in offenders.items() if modules}
    assert offenders == {}, f"components/ and policies/ must not import {UPPER}: {offenders}"


def test_infra_is_what_uses_the_components():
    """The other side of the contract: the stack builds on the components (a graph that lost this edge would
    pass the test above vacuously)."""
    used = {_top(m) for path in python_files(UPPER) for m in imported_modules(path.read_text())}
    assert "components" in used


def test_every_import_form_is_seen():
    source = "\n".join((
        "import infra",
        "import infra.config as c",
        "from infra import config",
        "from infra.config import ServiceConfig",
        "from . import sibling",
        "import importlib; importlib.import_module('infra.naming')",
        "__import__('infra.stack')",
    ))
    assert {m for m in imported_modules(source) if _top(m) == UPPER} == {
        "infra", "infra.config", "infra.config.ServiceConfig", "infra.naming", "infra.stack",
    }
