"""A stack file through the engine's config-loading path, in this process: what the worker does for a stack
(rampart.engine.worker.run) up to the program's `load_stack_config()`, which the project's `__main__.py` calls
before it imports or declares anything. For a stack file that fails there, the message is the one
`rampart check` reports (the end-to-end sample in test_stack_files.py compares the two), at a few milliseconds
instead of a process per stack."""

from __future__ import annotations

from pathlib import Path

from infra.config import load_stack_config
from rampart.engine.recorder import record
from rampart.engine.stackfile import load_project, load_stack
from rampart.engine.worker import describe_program_error
from rampart.errors import RampartError


def stack_error(project_dir: Path, stack: str) -> str:
    """The stack's error as `rampart check --format json` reports it (`stacks[].error`), or "" when valid."""
    project = load_project(project_dir)
    try:
        settings = load_stack(project, stack, missing_ok=True)
    except RampartError as exc:  # the worker's `usage` result
        return str(exc)
    try:
        record(load_stack_config, project=project.name, stack=stack, config=settings.config,
               secret_keys=settings.secret_keys)
    except Exception as exc:  # noqa: BLE001 (as the worker: a failure is the stack's message)
        return describe_program_error(exc, project_dir.resolve(), settings.file.name)["message"]
    return ""
