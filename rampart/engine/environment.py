"""The interpreter a program runs under: the one its Pulumi.yaml names, as the Pulumi CLI's language host picks it.

`runtime.options` in Pulumi.yaml (pulumi/sdk/python/toolchain):
- `toolchain: pip` (the default) with `virtualenv: DIR`: DIR's python (DIR relative to the project).
- `toolchain: uv`: `virtualenv` if set, else `.venv` beside the nearest uv.lock, else beside the nearest
  pyproject.toml, else in the project directory (what `uv run` would use; nothing is synced here).
- `toolchain: poetry`: the environment `poetry env info --path` names in the project directory.
Only a program that names no environment (pip without `virtualenv`) runs under Rampart's own interpreter; the CLI
would run it under `python3` from PATH, which is no more defined than Rampart's own.

In the program's interpreter, only Rampart's engine modules are made importable (see bootstrap.py), never
Rampart's site-packages: the program sees its own pulumi SDK and providers, as under `pulumi preview`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rampart.engine.stackfile import read_yaml
from rampart.errors import UsageError

TOOLCHAINS = ("pip", "poetry", "uv")
BOOTSTRAP = Path(__file__).resolve().with_name("bootstrap.py")
PACKAGE_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ProgramEnvironment:
    python: Path | None
    """The program's interpreter; None: Rampart's own."""
    origin: str
    """Which Pulumi.yaml setting chose it, for messages."""

    def is_own(self) -> bool:
        # Compared as environments (sys.prefix), not binaries: a venv's python is a symlink to its base interpreter.
        return self.python is None or self.python.parent.parent.resolve() == Path(sys.prefix).resolve()

    def worker_command(self) -> list[str]:
        """The start of the command line that runs rampart.engine.worker in this environment."""
        if self.is_own():
            # -P: the program's directory is not on the path while Rampart imports its own modules (a program's
            # yaml.py would stand in for PyYAML); `worker.run` puts it first for the program, as the language host does.
            return [sys.executable, "-P", "-m", "rampart.engine.worker"]
        return [str(self.python), str(BOOTSTRAP), str(PACKAGE_DIR)]


def activated(env: dict[str, str], environment: ProgramEnvironment) -> dict[str, str]:
    """`env` with the program's environment activated, as the language host does (its subprocesses find its tools)."""
    if environment.python is None:
        return env
    venv = environment.python.parent.parent
    env = {k: v for k, v in env.items() if k != "PYTHONHOME"}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join(filter(None, (str(environment.python.parent), env.get("PATH"))))
    return env


def _runtime_options(program_dir: Path) -> dict[str, Any]:
    project_file = next((program_dir / n for n in ("Pulumi.yaml", "Pulumi.yml") if (program_dir / n).exists()), None)
    if project_file is None:
        return {}
    # The same reader as load_project: a duplicate key (say two `toolchain:`) is refused, not last-one-wins.
    document = read_yaml(project_file) or {}
    runtime = document.get("runtime") if isinstance(document, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    if options is not None and not isinstance(options, dict):
        raise UsageError(f"{project_file}: runtime.options: expected a mapping (toolchain, virtualenv)")
    return options or {}


def _python_in(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _search_up(start: Path, name: str) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / name).is_file():
            return directory
    return None


def _uv_environment(program_dir: Path, virtualenv: str | None) -> Path:
    if virtualenv:
        return program_dir / virtualenv
    home = _search_up(program_dir, "uv.lock") or _search_up(program_dir, "pyproject.toml") or program_dir
    return home / ".venv"


def _poetry_environment(program_dir: Path) -> Path:
    poetry = shutil.which("poetry")
    if poetry is None:
        raise UsageError("Pulumi.yaml runtime.options.toolchain: poetry, but no `poetry` on PATH; install poetry "
                         f"and run `poetry install` in {program_dir}")
    found = subprocess.run([poetry, "env", "info", "--path"], cwd=program_dir, capture_output=True, text=True,
                           check=False, timeout=60)
    path = found.stdout.strip()
    if found.returncode != 0 or not path:
        raise UsageError(f"Pulumi.yaml runtime.options.toolchain: poetry, but poetry has no environment for "
                         f"{program_dir}; run `poetry install` there")
    return Path(path)


def resolve(program_dir: Path) -> ProgramEnvironment:
    """The program's own environment, or an error naming the Pulumi.yaml key and the path when it is missing."""
    options = _runtime_options(program_dir)
    toolchain = options.get("toolchain", "pip")
    if toolchain not in TOOLCHAINS:
        raise UsageError(f"Pulumi.yaml runtime.options.toolchain: expected one of {', '.join(TOOLCHAINS)}, "
                         f"got {toolchain!r}")
    virtualenv = options.get("virtualenv")
    if virtualenv is not None and not isinstance(virtualenv, str):
        raise UsageError("Pulumi.yaml runtime.options.virtualenv: expected a directory path")
    if toolchain == "poetry":
        venv, key, hint = _poetry_environment(program_dir), "toolchain: poetry", "run `poetry install`"
    elif toolchain == "uv":
        venv = _uv_environment(program_dir, virtualenv)
        key = "virtualenv" if virtualenv else "toolchain: uv"
        hint = "run `uv sync` in the project"
    elif virtualenv:
        venv, key = program_dir / virtualenv, "virtualenv"
        hint = f"create it: python3 -m venv {virtualenv} && {virtualenv}/bin/pip install -r requirements.txt"
    else:
        return ProgramEnvironment(python=None, origin="rampart's own interpreter (Pulumi.yaml names no environment)")
    python = _python_in(venv.absolute())
    if not python.exists():
        raise UsageError(f"Pulumi.yaml runtime.options.{key}: {venv.absolute()} is not a virtual environment "
                         f"(no {python.relative_to(venv.absolute())}); {hint}")
    return ProgramEnvironment(python=python, origin=f"Pulumi.yaml runtime.options.{key} ({venv.absolute()})")
