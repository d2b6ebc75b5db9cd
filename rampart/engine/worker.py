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
import contextlib
import dataclasses
import faulthandler
import gc
import json
import os
import re
import runpy
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rampart.engine import sdk_deferred

with sdk_deferred.deferred():  # this process's first `import pulumi`: what few programs use loads on first use
    import pulumi

    from rampart.engine import (
        dataclass_code,
        program_errors,
        resource_outputs,
        sdk_class_speedups,
        sdk_hints,
        sdk_loader,
    )
    from rampart.engine.fake_outputs import FakeCloud
    from rampart.engine.preload import (
        SKIPPED_DIRS,
        import_wanted,
        named_sdk_classes,
        preload_sdk_modules,
        wanted_modules,
    )
    from rampart.engine.protocol import STREAM_SUFFIX, signal_name
    from rampart.engine.recorder import ASSUME_EXISTING, FIRST_PREVIEW, Registration, record
    from rampart.engine.stackfile import load_project, load_stack
    from rampart.errors import RampartError

MEMORY_ENV = "RAMPART_PROGRAM_MEMORY_MB"
DEFAULT_MEMORY_MB = 8192


def describe_program_error(exc: BaseException, program_dir: Path, stack_file: str) -> dict[str, Any]:
    if isinstance(exc, pulumi.RunError):
        # The program's own deliberate, clean error (a config error): shown as is.
        return {"kind": "config", "message": str(exc)}
    return {"kind": "program", "message": program_errors.describe(exc, program_dir, stack_file)}


def _shallow(value: Any) -> dict[str, Any]:
    # The fields are already JSON-ready (inputs are plain dicts); dataclasses.asdict would deep-copy every input
    # tree only for json.dumps to walk it again.
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


class ProgramTimeout(BaseException):
    """Raised inside the program when its time is up: a BaseException, so `except Exception` in it cannot hide it."""


@contextlib.contextmanager
def _interrupt_after(seconds: float | None) -> Iterator[None]:
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise ProgramTimeout

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _program_line(exc: BaseException, program_dir: Path) -> str:
    """The innermost line of the program's own files the exception passed through (never a value)."""
    where = "outside the program's files (in the SDK or the engine)"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = Path(frame.f_code.co_filename).resolve()
        if path.is_relative_to(program_dir) and not SKIPPED_DIRS.intersection(path.relative_to(program_dir).parts):
            where = f"{path.relative_to(program_dir).as_posix()}:{line}"
    return where


def run(program_dir: Path, stack: str, mode: str = FIRST_PREVIEW, timeout: float | None = None,
        on_registration: Callable[[Registration], None] | None = None) -> dict[str, Any]:
    project = load_project(program_dir)
    # `rampart check` has already refused a missing stack file it should not run without (check.resolve_stacks).
    settings = load_stack(project, stack, missing_ok=True)
    os.chdir(program_dir)
    sys.path.insert(0, str(program_dir))
    resolved = program_dir.resolve()  # once: resolving is a system call per path component, and classes are many
    program_errors.remember_apply_callers(resolved)
    program_errors.remember_invoke_callers(resolved)
    main = str(project.main)
    try:
        with _interrupt_after(timeout), sdk_hints.remembered(
                sdk_loader.cache_dir(), lambda module: sdk_loader.is_generated_module(module, resolved)):
            recording = record(
                lambda: runpy.run_path(main, run_name="__main__"),
                project=project.name,
                stack=stack,
                config=settings.config,
                secret_keys=settings.secret_keys,
                mode=mode,
                on_registration=on_registration,
            )
    except ProgramTimeout as exc:
        return {"error": {"kind": "timeout", "message": (
            f"stack {stack}: the program did not finish within {timeout:g}s (--program-timeout); it was running "
            f"{_program_line(exc, program_dir.resolve())}; expected it to return")}}
    except MemoryError as exc:
        return {"error": {"kind": "program", "message": (
            f"stack {stack}: the program ran out of memory (limit {_memory_limit_mb()} MiB, {MEMORY_ENV}) at "
            f"{_program_line(exc, program_dir.resolve())}; expected it to declare resources, not exhaust memory")}}
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


def _preload_without_gc(program_dir: Path) -> sdk_loader.SdkFinder | None:
    """Preload (SDK modules from sdk_loader's cached code where it has an entry), then freeze what was loaded out
    of the garbage collector's sight. Returns the SDK finder, whose `warm_later` writes the missing entries.

    An SDK import builds tens of thousands of long-lived objects (classes, typing forms) and no garbage worth
    collecting, yet every collection on the way rescans them all: a third of the preload's CPU (bench/README).
    Frozen, they are never scanned again, so each stack's collections only walk what its program made (a third
    less CPU in the program phase at 10 services), and forked children do not touch, hence copy, their pages.
    The larger first generation then trades a little memory for far fewer collections of the program's many
    short-lived SDK objects (Outputs, futures); collection still runs, so memory stays bounded."""
    finder = sdk_loader.install(program_dir)
    sdk_class_speedups.install()
    dataclass_code.install()
    gc.disable()
    try:
        if program_dir.resolve() not in _PRELOADED_BY_SERVER:  # a warm server's child: done before the fork
            preload_sdk_modules(program_dir)
    finally:
        gc.freeze()
        gc.enable()
    gc.set_threshold(_GC_FIRST_GENERATION, *gc.get_threshold()[1:])
    return finder


_PRELOADED_BY_SERVER: set[Path] = set()
"""Program directories whose SDK modules this process's warm server imported for it (the scan of the program's
files and the imports would find nothing new in the child)."""


def preload_in_server(program_dir: Path) -> None:
    """What `_preload_without_gc` imports for this program, done in a warm server (rampart.engine.warm_server)
    before it forks the program's runner: every later check of any program names gets those modules for free."""
    sdk_loader.install(program_dir)
    gc.disable()
    try:
        wanted = wanted_modules(program_dir)
        import_wanted(program_dir, wanted)
        resolved = program_dir.resolve()
        _PRELOADED_BY_SERVER.add(resolved)
        classes = list(named_sdk_classes(wanted))
        sdk_hints.warm(classes, sdk_loader.cache_dir(), lambda module: sdk_loader.is_generated_module(module, resolved))
        resource_outputs.plan_classes(FakeCloud(), classes)
    finally:
        gc.freeze()
        gc.enable()


_GC_FIRST_GENERATION = 1_000_000
"""Net allocations between young collections. A program's SDK objects (Outputs, futures, requests) live as long as
the run and are almost never cyclic garbage, so each collection rescans live objects for little: at 50 services
(700k net allocations) the collections at 50,000 cost a fifth of the program phase's CPU, for 3 MB less peak
memory. A program that does make cyclic garbage is still collected, every million allocations."""


def _memory_limit_mb() -> int:
    try:
        return max(256, int(os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_MB)))
    except ValueError:
        return DEFAULT_MEMORY_MB


def _limit_memory() -> None:
    """Bound the program's address space: one that exhausts memory fails alone (MemoryError) instead of taking the
    machine, and every other stack, down with it."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    limit = _memory_limit_mb() * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _run_to_file(program_dir: Path, stack: str, result_dir: Path, mode: str = FIRST_PREVIEW,
                 timeout: float | None = None) -> None:
    with (result_dir / f"{stack}{STREAM_SUFFIX}").open("w", encoding="utf-8") as stream:
        def stream_registration(registration: Registration) -> None:
            # One write per line, flushed: the reader only ever takes whole lines.
            stream.write(json.dumps(_shallow(registration)) + "\n")
            stream.flush()

        try:
            result = run(program_dir, stack, mode, timeout, on_registration=stream_registration)
        except RampartError as exc:
            result = {"error": {"kind": "usage", "message": str(exc)}}
        except Exception as exc:  # the engine's own failure, still reported per stack
            result = {"error": {"kind": "program", "message": f"{type(exc).__name__}: {exc}"}}
    if result.get("registrations") is not None:
        result = {**result, "registrations": None}
    _write_result(result_dir, stack, result)
    dataclass_code.report()  # what the program's dataclasses had compiled, for the next check (warm server)


def _write_result(result_dir: Path, stack: str, result: dict[str, Any]) -> None:
    partial = result_dir / f".{stack}.json.partial"
    partial.write_text(json.dumps(result), encoding="utf-8")
    partial.replace(result_dir / f"{stack}.json")


_FAULT_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def crash_result(stack: str, status: int, fault_dump: str, program_dir: Path) -> dict[str, Any]:
    """A stack whose process ended without a result (killed, `os._exit`, a crash in C). What it printed is not
    shown: a program's output may hold anything it read (environment, files). Its exit status and, after a fatal
    signal, the program's own line from faulthandler's dump (file and line only) say where to look."""
    if os.WIFSIGNALED(status):
        how = f"was killed by signal {signal_name(os.WTERMSIG(status))}"
    else:
        how = f"exited with code {os.WEXITSTATUS(status)}"
    where = ""
    for match in _FAULT_FRAME.finditer(fault_dump):  # innermost first
        path = Path(match["file"]).resolve()
        if path.is_relative_to(program_dir) and not SKIPPED_DIRS.intersection(path.relative_to(program_dir).parts):
            where = f" at {path.relative_to(program_dir).as_posix()}:{match['line']}"
            break
    return {"error": {"kind": "program", "message": (
        f"stack {stack}: the program's process {how}{where} without a result; its output is not shown (it may "
        "hold secrets); expected the program to return or raise")}}


def main() -> int:
    parser = argparse.ArgumentParser(prog="rampart-worker")
    parser.add_argument("--program", type=Path, required=True)
    parser.add_argument("--stack", action="append", required=True)
    parser.add_argument("--result-dir", type=Path, required=True)
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--assume-existing", action="store_true")
    parser.add_argument("--timeout", type=float, default=None, help="seconds each stack's program may run")
    args = parser.parse_args()
    mode = ASSUME_EXISTING if args.assume_existing else FIRST_PREVIEW
    program_dir = args.program.resolve()
    status = os.fdopen(args.status_fd, "w", buffering=1)

    def done(stack: str) -> None:
        status.write(f"done {stack}\n")

    finder = _preload_without_gc(program_dir)
    if not hasattr(os, "fork"):
        for stack in args.stack:
            _run_to_file(program_dir, stack, args.result_dir, mode, args.timeout)
            done(stack)
    else:
        _run_forked(program_dir, args, mode, status, done)
    if finder is not None:
        finder.warm_later()  # after every stack: the check no longer waits, and nothing competes with it
    return 0


def _run_forked(program_dir: Path, args: argparse.Namespace, mode: str, status: TextIO,
                done: Callable[[str], None]) -> None:
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
                    _limit_memory()
                    # A fatal signal's Python stack, to this stack's own file: names the program line it died at.
                    fault_file = (args.result_dir / f".{stack}.fault").open("w", encoding="utf-8")
                    faulthandler.enable(file=fault_file)
                    _run_to_file(program_dir, stack, args.result_dir, mode, args.timeout)
                except BaseException:  # noqa: BLE001 (the parent reports a missing result)
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            running[pid] = stack
        pid, wait_status = os.wait()
        stack = running.pop(pid, None)
        if stack is not None:
            if not (args.result_dir / f"{stack}.json").is_file():
                fault = args.result_dir / f".{stack}.fault"
                dump = fault.read_text(encoding="utf-8", errors="replace") if fault.is_file() else ""
                _write_result(args.result_dir, stack, crash_result(stack, wait_status, dump, program_dir))
            done(stack)


if __name__ == "__main__":
    sys.exit(main())
