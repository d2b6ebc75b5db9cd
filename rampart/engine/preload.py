"""What a program's files name of the provider SDKs and of a few costly shared libraries: the modules the worker
imports before it forks a program's runner (rampart.engine.worker). Only SDK and library modules are ever imported
here, never the program's own (importing them could declare resources outside a stack)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from rampart.engine import local_files

_SDK_NAME = re.compile(r"\b(?:aws|pulumi_aws)\.([a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_]*)")
# Names the SDK packages load on first use, at their top level: `aws.get_caller_identity`, `aws.Provider`,
# `github.Repository` (each its own module, with the package's `_inputs` and `outputs` behind it).
_AWS_TOP_NAME = re.compile(r"\b(?:aws|pulumi_aws)\.([A-Za-z_][A-Za-z0-9_]*)\b(?![\w.])")
_GITHUB_NAME = re.compile(r"\b(?:github|pulumi_github)\.([A-Za-z_][A-Za-z0-9_]*)\b(?![\w.])")
# Libraries that are safe and costly to import once for every stack (pydantic builds its machinery on first use):
# importing them declares nothing and reads no stack state. Only those the program's files import are loaded.
_SHARED_LIBRARIES = ("pydantic", "yaml", "jsonschema")
_LIBRARIES = "|".join(_SHARED_LIBRARIES)
_LIBRARY_IMPORT = re.compile(rf"^\s*(?:from\s+(?P<src>(?:{_LIBRARIES})(?:\.[\w.]+)?)\s+import\s+\(?(?P<names>[\w\s,]+)"
                             rf"|import\s+(?P<mod>(?:{_LIBRARIES})(?:\.[\w.]+)?))", re.MULTILINE)
SKIPPED_DIRS = {".venv", "venv", "node_modules", ".git", "__pycache__", ".bootstrap", "tests"}


def _program_files(program_dir: Path) -> Iterator[Path]:
    # Skipped directories are never entered: a program's own .venv holds thousands of files (0.6 s to walk).
    return (path for path in local_files.walk(program_dir, SKIPPED_DIRS) if path.name.endswith(".py"))


def preload_sdk_modules(program_dir: Path) -> list[str]:
    """Import the provider SDK modules the program's files refer to (`aws.ecs.Service` -> `pulumi_aws.ecs`), and
    the shared libraries (`_SHARED_LIBRARIES`) they import.

    Provider SDKs load their submodules lazily, and the biggest take a second or more each; imported here, before
    the fork, every stack's child gets them for free. Only SDK modules are imported, never the program's own.
    """
    return import_wanted(program_dir, wanted_modules(program_dir))


def wanted_modules(program_dir: Path) -> dict[str, set[str]]:
    """The SDK modules and shared libraries the program's files name, with the names they use from each."""
    wanted: dict[str, set[str]] = {"pulumi": set(), "pulumi.runtime": set(), "pulumi_aws": set()}
    for path in _program_files(program_dir):
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        for module, names in _scanned(text):
            wanted.setdefault(module, set()).update(names)
    return wanted


_SCANNED: dict[bytes, tuple[tuple[str, frozenset[str]], ...]] = {}
"""What each file text named, by a digest of the text (never the text itself: a warm server lives long)."""
_MAX_SCANNED = 8192


def _scanned(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """`_scan_text`, remembered by the text's digest: a warm server scans the program before every check it forks,
    and matching is most of that scan (~10 ms for this project) while reading and hashing are ~1 ms."""
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    found = _SCANNED.get(key)
    if found is None:
        if len(_SCANNED) >= _MAX_SCANNED:
            _SCANNED.clear()
        found = _SCANNED[key] = _scan_text(text)
    return found


def _scan_text(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """What one file names (`wanted_modules`)."""
    found: dict[str, set[str]] = {}
    for module, name in _SDK_NAME.findall(text):
        found.setdefault(f"pulumi_aws.{module}", set()).add(name)
    found.setdefault("pulumi_aws", set()).update(_AWS_TOP_NAME.findall(text))
    if "pulumi_github" in text:
        found.setdefault("pulumi_github", set()).update(_GITHUB_NAME.findall(text))
    for match in _LIBRARY_IMPORT.finditer(text):
        names = match["names"].replace("\n", ",").split(",") if match["names"] else []
        found.setdefault(match["src"] or match["mod"], set()).update(n.strip() for n in names if n.strip())
    return tuple((module, frozenset(names)) for module, names in found.items())


def import_wanted(program_dir: Path, wanted: dict[str, set[str]]) -> list[str]:
    loaded = []
    for module_name, names in sorted(wanted.items()):
        top = module_name.partition(".")[0]
        if (program_dir / top).is_dir() or (program_dir / f"{top}.py").is_file():
            continue  # the program's own module of that name is what its import finds, as under `pulumi preview`
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: S112 (a name that is not an SDK module is simply not preloaded)
            continue
        # SDK packages load their resource classes lazily, on first attribute access.
        for name in names:
            with contextlib.suppress(Exception):  # a name the package lacks, or whose module fails: not preloaded
                getattr(module, name, None)
        loaded.append(module_name)
    return loaded


def named_sdk_classes(wanted: dict[str, set[str]]) -> Iterator[type]:
    """The pulumi_aws resource classes the program's files name (`aws.ecs.Service`), and their `*Args`."""
    for module_name, names in wanted.items():
        module = sys.modules.get(module_name) if module_name.startswith("pulumi_aws.") else None
        for candidate in (c for name in names for c in (name, f"{name}Args")):
            cls = getattr(module, candidate, None) if module is not None else None
            if isinstance(cls, type):
                yield cls
