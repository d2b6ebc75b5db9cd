"""A copy of this Pulumi project in a temporary directory, for tests that edit its stack files.

The copy's `.venv` links to the project's own: Pulumi.yaml names `toolchain: uv`, so `rampart check` runs the
program in `<project>/.venv` as the Pulumi CLI's language host would (rampart/engine/environment.py), and a copy
without one is refused as an unprepared project."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_project(tmp_path: Path, name: str = "project") -> Path:
    target = tmp_path / name
    target.mkdir()
    for file_name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / file_name, target / file_name)
    for package in ("infra", "components"):
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    (target / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    return target
