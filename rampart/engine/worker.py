"""Stack program runs, each in its own process:
`python -m rampart.engine.worker --program DIR --stack A --stack B --result-dir D --status-fd N`.

A process per stack gives every run a pristine Pulumi runtime and module cache (programs may keep state in
modules), and lets stacks run in parallel. To pay the provider SDKs' import cost once rather than per stack,
this process imports them first (the modules the program's files name; importing an SDK declares nothing)
and then forks one child per stack (on platforms without fork, it runs the stacks one after another).
Each result goes to `<D>/<stack>.json`, not stdout, because programs print; `done <stack>` lines on the
status descriptor say when each one is ready.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import re
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi

from rampart.engine import program_errors
from rampart.engine.recorder import ASSUME_EXISTING, FIRST_PREVIEW, record
from rampart.engine.stackfile import load_project, load_stack
from rampart.errors import RampartError


def describe_program_error(exc: BaseException, program_dir: Path, stack_file: str) -> dict[str, Any]:
    if isinstance(exc, pulumi.RunError):
        # The program's own deliberate, clean error (a config error): shown as is.
        return {"kind": "config", "message": str(exc)}
    return {"kind": "program", "message": program_errors.describe(exc, program_dir, stack_file)}


def _shallow(value: Any) -> dict[str, Any]:
    # The fields are already JSON-ready (inputs are plain dicts); dataclasses.asdict would deep-copy every input
    # tree only for json.dumps to walk it again.
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def run(program_dir: Path, stack: str, mode: str = FIRST_PREVIEW) -> dict[str, Any]:
    project = load_project(program_dir)
    # `rampart check` has already refused a missing stack file it should not run without (check.resolve_stacks).
    settings = load_stack(project, stack, missing_ok=True)
    os.chdir(program_dir)
    sys.path.insert(0, str(program_dir))
    program_errors.remember_apply_callers(program_dir.resolve())
    main = str(project.main)
    try:
        recording = record(
            lambda: runpy.run_path(main, run_name="__main__"),
            project=project.name,
            stack=stack,
            config=settings.config,
            secret_keys=settings.secret_keys,
            mode=mode,
        )
    except Exception as exc:  # the program's failure is data for the report, never a crash of rampart
        return {"error": describe_program_error(exc, program_dir.resolve(), settings.file.name)}
    return {
        "project": recording.project,
        "stack": recording.stack,
        "stackFile": settings.file.name if settings.file_exists else "",
        "registrations": [_shallow(r) for r in recording.registrations],
        "opaque": [_shallow(o) for o in recording.opaque],
        "outputs": recording.outputs,
        "logs": [_shallow(log) for log in recording.logs],
        "error": None,
    }


_SDK_NAME = re.compile(r"\b(?:aws|pulumi_aws)\.([a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_]*)")
_SKIPPED_DIRS = {".venv", "venv", "node_modules", ".git", "__pycache__", ".bootstrap", "tests"}


def _program_files(program_dir: Path) -> Iterator[Path]:
    for path in program_dir.rglob("*.py"):
        if not _SKIPPED_DIRS.intersection(path.relative_to(program_dir).parts):
            yield path


def preload_sdk_modules(program_dir: Path) -> list[str]:
    """Import the provider SDK modules the program's files refer to (`aws.ecs.Service` -> `pulumi_aws.ecs`).

    Provider SDKs load their submodules lazily, and the biggest take a second or more each; imported here, before
    the fork, every stack's child gets them for free. Only SDK modules are imported, never the program's own.
    """
    wanted: dict[str, set[str]] = {"pulumi": set(), "pulumi.runtime": set(), "pulumi_aws": set()}
    for path in _program_files(program_dir):
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        for module, name in _SDK_NAME.findall(text):
            wanted.setdefault(f"pulumi_aws.{module}", set()).add(name)
        if "pulumi_github" in text:
            wanted.setdefault("pulumi_github", set())
    loaded = []
    for module_name, names in sorted(wanted.items()):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: S112 (a name that is not an SDK module is simply not preloaded)
            continue
        # SDK packages load their resource classes lazily, on first attribute access.
        for name in names:
            getattr(module, name, None)
        loaded.append(module_name)
    return loaded


def _run_to_file(program_dir: Path, stack: str, result_dir: Path, mode: str = FIRST_PREVIEW) -> None:
    try:
        result = run(program_dir, stack, mode)
    except RampartError as exc:
        result = {"error": {"kind": "usage", "message": str(exc)}}
    except Exception as exc:  # the engine's own failure, still reported per stack
        result = {"error": {"kind": "program", "message": f"{type(exc).__name__}: {exc}"}}
    partial = result_dir / f".{stack}.json.partial"
    partial.write_text(json.dumps(result), encoding="utf-8")
    partial.replace(result_dir / f"{stack}.json")


def main() -> int:
    parser = argparse.ArgumentParser(prog="rampart-worker")
    parser.add_argument("--program", type=Path, required=True)
    parser.add_argument("--stack", action="append", required=True)
    parser.add_argument("--result-dir", type=Path, required=True)
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--assume-existing", action="store_true")
    args = parser.parse_args()
    mode = ASSUME_EXISTING if args.assume_existing else FIRST_PREVIEW
    program_dir = args.program.resolve()
    status = os.fdopen(args.status_fd, "w", buffering=1)

    def done(stack: str) -> None:
        status.write(f"done {stack}\n")

    preload_sdk_modules(program_dir)
    if not hasattr(os, "fork"):
        for stack in args.stack:
            _run_to_file(program_dir, stack, args.result_dir, mode)
            done(stack)
        return 0
    running: dict[int, str] = {}
    pending = list(args.stack)
    while pending or running:
        while pending and len(running) < max(1, args.parallel):
            stack = pending.pop(0)
            pid = os.fork()
            if pid == 0:  # the child: one stack, then leave without running the parent's cleanup
                status.close()
                code = 0
                try:
                    _run_to_file(program_dir, stack, args.result_dir, mode)
                except BaseException:  # noqa: BLE001 (the parent reports a missing result)
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            running[pid] = stack
        pid, _ = os.wait()
        stack = running.pop(pid, None)
        if stack is not None:
            done(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
