"""`rampart check` without the printing: run each stack's program, then gate it on the policy pack."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rampart.engine import cache, environment
from rampart.engine.analyzer import DEFAULT_POLICY_TIMEOUT_SECONDS, Diagnostic, PackInfo, PolicyPackProcess
from rampart.engine.environment import ProgramEnvironment, activated
from rampart.engine.recorder import Registration
from rampart.engine.stackfile import discover_stacks, load_project, load_stack
from rampart.engine.worker import STREAM_SUFFIX
from rampart.engine.worker import signal_name as _signal_name
from rampart.errors import UsageError
from rampart.reports.model import (
    CheckReport,
    OpaqueSummary,
    ResourceSummary,
    SourceLocation,
    StackResult,
    classify,
    recovery_from_outputs,
)
from rampart.reports.redaction import Redactor, scrub_text

Progress = Callable[[str], None]
_STREAM_POLL_SECONDS = 0.02
"""How long the reader of a running stack's registrations waits for news before looking at its file again."""
_STREAM_BURST = 64
"""Registrations of a running stack sent to the pack together (all that are left once it is done)."""


@dataclass(frozen=True)
class CheckOptions:
    program_dir: Path
    pack_dir: Path
    stacks: tuple[str, ...] = ()
    policy_config_dir: Path | None = None
    """Where `<stack>.json` pack configs live; default `<pack>/config`."""
    parallel: int = 2
    assume_existing: bool = False
    """Preview an already-deployed stack (every output known) rather than the first preview of a new one."""
    program_timeout: float = 600.0
    """Seconds one stack's program may run (the worker interrupts it and names the program line it was at)."""
    policy_timeout: float = DEFAULT_POLICY_TIMEOUT_SECONDS
    """Seconds each analyzer call (GetAnalyzerInfo, Configure, Analyze, AnalyzeStack) may take."""
    cache: bool = False
    """Reuse the result of an unchanged stack (rampart.engine.cache); `rampart check` turns it on, --no-cache off."""


DEFAULT_STACK = "dev"


def resolve_stacks(options: CheckOptions) -> list[str]:
    """The stacks to run. A project without any stack file runs (`--stack` or `dev`) with empty config, as a
    newly initialised stack previews; where stack files exist, a `--stack` without one is a typo, refused."""
    project = load_project(options.program_dir)
    discovered = discover_stacks(options.program_dir)
    stacks = list(options.stacks) or discovered or [DEFAULT_STACK]
    for stack in stacks:
        try:
            load_stack(project, stack, missing_ok=not discovered)  # fails early, the file named, before anything runs
        except UsageError:
            if len(stacks) == 1 or not (options.program_dir / f"Pulumi.{stack}.yaml").is_file():
                raise
            # One unreadable stack file must not hide the other stacks' reports: the worker reports it as this
            # stack's error (exit 2 all the same).
    return stacks


def stack_config_note(stack: str, stack_file: str) -> str:
    if stack_file:
        return f"Stack config: {stack_file}"
    return (f"Stack config: none (no Pulumi.{stack}.yaml in the project): ran with empty config, "
            "only Pulumi.yaml's defaults")


def policy_config_note(options: CheckOptions, stack: str, path: str, info: PackInfo) -> str:
    if path:
        return f"Pack config: {path}"
    directory = options.policy_config_dir or options.pack_dir / "config"
    levels = [meta.enforcement for meta in info.policies.values()]
    return (f"Pack config: none (no {directory / (stack + '.json')}): every policy at the level the pack "
            f"declares ({levels.count('mandatory')} mandatory, {levels.count('advisory')} advisory)")


def load_policy_config(options: CheckOptions, stack: str) -> tuple[dict[str, Any], str]:
    directory = options.policy_config_dir or options.pack_dir / "config"
    path = directory / f"{stack}.json"
    if not path.is_file():
        return {}, ""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: expected an object mapping policy names to enforcement levels or config")
    return document, str(path)


def validate_policy_config(config: Mapping[str, Any], pack_policies: Mapping[str, Any], path: str) -> None:
    """What the CLI checks before a preview: every key names a policy, values fit the policy's schema."""
    import jsonschema

    levels = {"advisory", "mandatory", "remediate", "disabled"}
    problems = []
    for name, value in config.items():
        if name == "all":
            if value not in levels:
                problems.append(f"{name}: expected one of {', '.join(sorted(levels))}")
            continue
        meta = pack_policies.get(name)
        if meta is None:
            problems.append(f"{name}: no such policy in the pack")
            continue
        if isinstance(value, str):
            if value not in levels:
                problems.append(f"{name}: expected one of {', '.join(sorted(levels))}, got {value!r}")
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{name}: expected an enforcement level or an object")
            continue
        level = value.get("enforcementLevel")
        if level is not None and level not in levels:
            problems.append(f"{name}.enforcementLevel: expected one of {', '.join(sorted(levels))}")
        properties = dict(meta.config_schema.get("properties", {}))
        schema = {
            "type": "object",
            "properties": {**properties, "enforcementLevel": {"type": "string"}},
            "required": meta.config_schema.get("required", []),
            "additionalProperties": False,
        }
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(dict(value)):
            where = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{name}{'.' + where if where else ''}: {error.message}")
    if problems:
        raise UsageError(f"{path}: invalid policy pack config\n" + "\n".join(f"  {p}" for p in problems))


class _StackRuns:
    """Every stack's program, run by one worker process that forks a child per stack (rampart.engine.worker).

    Results arrive as `<stack>.json` files in a private directory; the worker announces each on a pipe, so the
    pack can start on one stack while another is still running.
    """

    def __init__(self, program_dir: Path, stacks: Sequence[str], parallel: int,
                 environment: ProgramEnvironment | None = None, assume_existing: bool = False,
                 timeout: float = 600.0) -> None:
        environment = environment or ProgramEnvironment(python=None, origin="rampart's own interpreter")
        self._tmp = tempfile.TemporaryDirectory(prefix="rampart-")
        self._dir = Path(self._tmp.name)
        self._stderr = (self._dir / "worker.stderr").open("wb")
        read_fd, write_fd = os.pipe()
        env = activated({**os.environ, "PYTHONUNBUFFERED": "1"}, environment)
        env.pop("PULUMI_CONFIG", None)
        # In the program's own interpreter when its Pulumi.yaml names one (rampart.engine.environment).
        command = [*environment.worker_command(), "--program", str(program_dir),
                   "--result-dir", str(self._dir), "--status-fd", str(write_fd), "--parallel", str(max(1, parallel))]
        for stack in stacks:
            command += ["--stack", stack]
        if assume_existing:
            command.append("--assume-existing")
        command += ["--timeout", str(timeout)]
        # The worker's children interrupt their own program at `timeout`; this is the backstop for a program that
        # ignores that (catches BaseException, blocks in C): every wave of `parallel` stacks, plus start-up.
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout * -(-len(stacks) // max(1, parallel)) + 60
        try:
            self._process = subprocess.Popen(  # noqa: S603 (our own module, by path of this interpreter)
                command, stdout=subprocess.DEVNULL, stderr=self._stderr, env=env, cwd=program_dir,
                pass_fds=(write_fd,), start_new_session=True,  # one process group: killed whole on a hang
            )
        finally:
            os.close(write_fd)
        self._status = os.fdopen(read_fd, "rb", buffering=0)  # unbuffered: select() sees every pending line
        self._partial_line = b""
        self._timed_out = False
        self._ended = False
        self._done: set[str] = set()

    def _pump(self, until: float) -> bool:
        """Read the status pipe until a line arrives or `until` passes; False once nothing more can arrive (the
        worker ended, or its time is up and it was killed)."""
        if self._timed_out or self._ended:
            return False
        if not _readable_before(self._status, min(until, self._deadline)):
            if time.monotonic() >= self._deadline:
                self._timed_out = True
                self._kill()
                return False
            return True
        chunk = self._status.read(4096)
        if not chunk:
            self._ended = True
            return False
        *lines, self._partial_line = (self._partial_line + chunk).split(b"\n")
        self._done.update(line[5:].decode().strip() for line in lines if line.startswith(b"done "))
        return True

    def registrations(self, stack: str) -> Iterator[dict[str, Any]]:
        """The stack's registrations as its program declares them (worker.STREAM_SUFFIX), until it is done. What
        the program declared before failing comes too: `result` says whether it finished."""
        path = self._dir / f"{stack}{STREAM_SUFFIX}"
        stream = None
        pending, ready = b"", []
        try:
            while True:
                finished = stack in self._done
                if stream is None and path.is_file():
                    stream = path.open("rb")
                chunk = stream.read() if stream is not None else b""
                if chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    ready.extend(lines)
                # In bursts, or when the program pauses: a lone Analyze call wakes the gRPC threads of the pack and
                # of this process for one resource, which costs both more CPU than judging it (bench/README).
                if ready and (len(ready) >= _STREAM_BURST or not chunk or finished):
                    yield from (json.loads(line) for line in ready)
                    ready = []
                if finished and not chunk:
                    return
                if not finished and not self._pump(time.monotonic() + _STREAM_POLL_SECONDS):
                    self._done.add(stack)  # the worker is gone: read what it left, then `result` says why
        finally:
            if stream is not None:
                stream.close()

    def result(self, stack: str) -> dict[str, Any]:
        while stack not in self._done and self._pump(self._deadline):
            pass
        result_file = self._dir / f"{stack}.json"
        if not result_file.is_file() and self._timed_out:
            return {"error": {"kind": "timeout", "message": f"stack {stack}: the program did not finish within "
                              f"{self._timeout:g}s (--program-timeout) and ignored the interruption; "
                              "expected it to return"}}
        if not result_file.is_file():
            try:  # its stderr is complete once the worker ends; other stacks may still be running
                self._process.wait(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill()
            return {"error": {"kind": "program", "message": _worker_died(stack, self._process.returncode)}}
        return json.loads(result_file.read_text(encoding="utf-8"))

    def _kill(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)  # the worker and the stack children it forked
        self._process.wait()

    def close(self) -> None:
        self._kill()
        self._status.close()
        self._stderr.close()
        self._tmp.cleanup()


def _worker_died(stack: str, code: int | None) -> str:
    """The worker itself ended without this stack's result (a stack's own crash is reported by the worker). Its
    stderr is not shown: it holds the programs' own output, which may hold anything they read."""
    if code is None:
        how = "did not end"
    elif code < 0:
        how = f"was killed by signal {_signal_name(-code)}"
    else:
        how = f"exited with code {code}"
    return (f"stack {stack}: the program runner (rampart.engine.worker) {how} without a result for it; its output "
            "is not shown (it holds the programs' own output, which may hold secrets); expected every stack's "
            "program to return or raise (run it with `pulumi preview` to see its output)")


def _readable_before(stream: Any, deadline: float) -> bool:
    ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
    return bool(ready)


def source_root(program_dir: Path) -> Path:
    """What report paths are relative to: the repository holding the program (GitHub code scanning resolves
    SARIF locations against the repository root), else the program directory itself."""
    program_dir = program_dir.resolve()
    for directory in (program_dir, *program_dir.parents):
        if (directory / ".git").exists():
            return directory
    return program_dir


@functools.lru_cache(maxsize=256)
def _relative_source_file(file: str, root: Path) -> str | None:
    # Cached: a stack has thousands of resources declared in a handful of files, and resolve() hits the disk.
    path = Path(file).resolve()
    if not path.is_relative_to(root):
        return None  # a file outside the repository is no location code scanning can show
    return path.relative_to(root).as_posix()


def _source(registration: Registration, root: Path) -> SourceLocation | None:
    relative = _relative_source_file(registration.source_file, root) if registration.source_file else None
    return SourceLocation(relative, registration.source_line) if relative else None


def _registration(data: Mapping[str, Any]) -> Registration:
    fields = dict(data)
    for key in ("dependencies", "ignore_changes", "aliases", "additional_secret_outputs", "replace_on_changes"):
        fields[key] = tuple(fields.get(key) or ())
    fields["property_dependencies"] = {k: tuple(v) for k, v in (fields.get("property_dependencies") or {}).items()}
    return Registration(**fields)


def _mode(options: CheckOptions) -> str:
    return "assume-existing" if options.assume_existing else "first-preview"


def _judge_while_running(pack: PolicyPackProcess, runs: _StackRuns, stack: str, levels_config: Mapping[str, Any],
                         ) -> tuple[list[Registration], list[Diagnostic], dict[str, str], dict[str, Any]]:
    """Each resource through the pack as the program declares it (the program and the pack share the time), then
    the program's result. A program that fails part-way is reported as failed: what was judged is dropped."""
    pack.stack = stack  # named in a timeout or crash message
    levels = pack.configure(levels_config)
    registrations: list[Registration] = []

    def declared() -> Iterator[Registration]:
        for data in runs.registrations(stack):
            registrations.append(_registration(data))
            yield registrations[-1]

    try:
        diagnostics = pack.analyze_all(declared())
    except UsageError:
        data = runs.result(stack)
        if data.get("error"):  # the program's own failure is what the user has to fix first
            return [], [], levels, data
        raise
    return registrations, diagnostics, levels, runs.result(stack)


def _analyze(pack: PolicyPackProcess, info: PackInfo, result: StackResult, data: Mapping[str, Any],
             judged: tuple[list[Registration], list[Diagnostic], dict[str, str]], root: Path,
             progress: Progress) -> None:
    """One stack's recorded program through the pack, into `result`."""
    stack = result.stack
    registrations, diagnostics, levels = judged
    result.stack_file = data.get("stackFile", result.stack_file)
    result.stack_config_note = stack_config_note(stack, result.stack_file)
    result.not_checked_inside = [OpaqueSummary(**o) for o in data.get("opaque") or ()]
    progress(f"{stack}: {len(registrations)} resources through {len(info.policies)} policies")
    diagnostics.extend(pack.analyze_stack(registrations))
    sources = {r.urn: _source(r, root) for r in registrations}
    redactor = Redactor()  # sees every input and export before it scrubs the messages
    result.resources = [
        ResourceSummary(
            urn=r.urn, type=r.type, name=r.name, parent=r.parent, protect=r.protect,
            ignore_changes=r.ignore_changes, inputs=redactor.redact(r.inputs), source=sources[r.urn],
        )
        for r in registrations
    ]
    result.outputs = redactor.redact(data.get("outputs") or {})
    result.findings = [redactor.finding(replace(f, source=sources.get(f.urn)))
                       for f in classify(diagnostics, info, levels)]
    result.recovery = recovery_from_outputs(result.outputs)


def _run_and_analyze(options: CheckOptions, stacks: list[str], configs: Mapping[str, tuple[dict[str, Any], str]],
                     program_environment: ProgramEnvironment, progress: Progress) -> tuple[PackInfo, list[StackResult]]:
    project = load_project(options.program_dir)
    root = source_root(options.program_dir)
    runs = _StackRuns(options.program_dir, stacks, options.parallel, program_environment, options.assume_existing,
                      timeout=options.program_timeout)
    try:
        progress(f"running {len(stacks)} stack program(s) and starting the policy pack")
        with PolicyPackProcess(pack_dir=options.pack_dir, project=project.name, stack=stacks[0],
                               call_timeout=options.policy_timeout) as pack:
            info = pack.info()
            for config, path in configs.values():
                if config:
                    validate_policy_config(config, info.policies, path)
            results = []
            for stack in stacks:
                stack_started = time.monotonic()
                *judged, data = _judge_while_running(pack, runs, stack, configs[stack][0])
                result = StackResult(
                    stack=stack, project=project.name, stack_file=f"Pulumi.{stack}.yaml",
                    policy_config_file=configs[stack][1], mode=_mode(options),
                    policy_config_note=policy_config_note(options, stack, configs[stack][1], info),
                )
                if data.get("error"):
                    result.error = scrub_text(data["error"]["message"])
                else:
                    _analyze(pack, info, result, data, tuple(judged), root, progress)
                    result.seconds = round(time.monotonic() - stack_started, 3)
                results.append(result)
    finally:
        runs.close()
    return info, results


def run_check(options: CheckOptions, progress: Progress = lambda _: None) -> CheckReport:
    stacks = resolve_stacks(options)
    root = source_root(options.program_dir)
    configs = {stack: load_policy_config(options, stack) for stack in stacks}
    started = time.monotonic()
    program_environment = environment.resolve(options.program_dir)  # a missing environment fails before any run
    keys: dict[str, str] = {}
    hits: dict[str, cache.Entry] = {}
    store = cache.StackCache() if options.cache else None
    if store is not None:
        prefix = program_environment.python.parent.parent if program_environment.python else None
        inputs = cache.RunInputs.of(options.program_dir, options.pack_dir, prefix)
        for stack in stacks:
            keys[stack] = inputs.key(stack, _mode(options), Path(configs[stack][1]) if configs[stack][1] else None)
            entry = store.load(keys[stack])
            if entry is not None:
                hits[stack] = entry
    by_stack = {stack: replace(entry.result, cache_note=cache.hit_note(entry), seconds=0.0)
                for stack, entry in hits.items()}
    info = next(iter(hits.values())).pack if hits else None
    missing = [stack for stack in stacks if stack not in hits]
    if missing:
        info, results = _run_and_analyze(options, missing, configs, program_environment, progress)
        for result in results:
            by_stack[result.stack] = result
            if store is not None and result.error is None:
                store.store(keys[result.stack], info, result)
    progress(f"checked {len(stacks)} stack(s) in {time.monotonic() - started:.1f}s"
             + (f" ({len(hits)} from the cache)" if hits else ""))
    program_path = options.program_dir.resolve().relative_to(root).as_posix()
    return CheckReport(pack=info, stacks=[by_stack[stack] for stack in stacks], source_root=str(root),
                       program_path="" if program_path == "." else program_path)
