"""One stack's program run, in its own process: `python -m rampart.engine.worker --program DIR --stack S
--result FILE`.

A process per stack gives every run a pristine Pulumi runtime and module cache (programs may keep state in
modules), and lets stacks run in parallel. The result goes to a file, not stdout, because programs print.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any

import pulumi

from rampart.engine.recorder import record
from rampart.engine.stackfile import load_project, load_stack
from rampart.errors import RampartError


def _program_frames(exc: BaseException, program_dir: Path) -> list[str]:
    """The traceback lines inside the user's program: their error, not the engine's."""
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if not path.is_absolute() or not path.is_file():
            continue  # frozen or generated frames are the interpreter's, never the user's
        path = path.resolve()
        if program_dir in path.parents and ".venv" not in path.parts and "site-packages" not in path.parts:
            lines.append(f"  {path.relative_to(program_dir)}:{frame.lineno} in {frame.name}: {frame.line or ''}")
    return lines


def describe_program_error(exc: BaseException, program_dir: Path, stack_file: str) -> dict[str, Any]:
    if isinstance(exc, pulumi.RunError):
        # The program's own deliberate, clean error (a config error): shown as is.
        return {"kind": "config", "message": str(exc)}
    frames = _program_frames(exc, program_dir)
    where = "\n".join(frames[-6:]) if frames else "  (raised outside the program's own files)"
    return {
        "kind": "program",
        "message": f"the program failed for {stack_file}: {type(exc).__name__}: {exc}\n{where}",
    }


def run(program_dir: Path, stack: str) -> dict[str, Any]:
    project = load_project(program_dir)
    settings = load_stack(project, stack)
    os.chdir(program_dir)
    sys.path.insert(0, str(program_dir))
    main = str(project.main)
    try:
        recording = record(
            lambda: runpy.run_path(main, run_name="__main__"),
            project=project.name,
            stack=stack,
            config=settings.config,
            secret_keys=settings.secret_keys,
        )
    except Exception as exc:  # the program's failure is data for the report, never a crash of rampart
        return {"error": describe_program_error(exc, program_dir.resolve(), settings.file.name)}
    return {
        "project": recording.project,
        "stack": recording.stack,
        "stackFile": settings.file.name,
        "registrations": [dataclasses.asdict(r) for r in recording.registrations],
        "outputs": recording.outputs,
        "logs": [dataclasses.asdict(log) for log in recording.logs],
        "error": None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="rampart-worker")
    parser.add_argument("--program", type=Path, required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    try:
        result = run(args.program.resolve(), args.stack)
    except RampartError as exc:
        result = {"error": {"kind": "usage", "message": str(exc)}}
    args.result.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
