"""`rampart check` without the printing: run each stack's program, then gate it on the policy pack."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rampart.engine import cache, environment, pack_start, warm
from rampart.engine.environment import ProgramEnvironment
from rampart.engine.pack_info import DEFAULT_POLICY_TIMEOUT_SECONDS, Diagnostic, PackInfo
from rampart.engine.stack_runs import StackRuns
from rampart.engine.stackfile import discover_stacks, load_project, load_stack
from rampart.engine.values import Registration
from rampart.errors import UsageError

if TYPE_CHECKING:
    from rampart.engine.analyzer import PolicyPackProcess
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
    while_the_pack_starts: Callable[[], object] | None = None
    """Work for this process while it waits for the pack to start (about half a second, idle): `rampart check`
    loads its report renderer then, which is otherwise on the clock after the last stack. Its failure is ignored:
    whoever needs that work done does it again and sees the error then."""


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


@dataclass
class _Judged:
    """One stack's program as it declared it, each resource judged and summarised while the program still ran."""

    registrations: list[Registration]
    resources: list[ResourceSummary]
    diagnostics: list[Diagnostic]
    levels: dict[str, str]
    redactor: Redactor
    """Has seen every input; sees the exports next, then scrubs the findings' messages of what it withheld."""


def _summary(registration: Registration, redactor: Redactor, root: Path) -> ResourceSummary:
    r = registration
    return ResourceSummary(urn=r.urn, type=r.type, name=r.name, parent=r.parent, protect=r.protect,
                           ignore_changes=r.ignore_changes, inputs=redactor.redact(r.inputs), source=_source(r, root))


def _judge_while_running(pack: PolicyPackProcess, runs: StackRuns, stack: str, levels_config: Mapping[str, Any],
                         root: Path) -> tuple[_Judged, dict[str, Any]]:
    """Each resource through the pack as the program declares it (the program and the pack share the time), then
    the program's result. A program that fails part-way is reported as failed: what was judged is dropped."""
    pack.stack = stack  # named in a timeout or crash message
    judged = _Judged([], [], [], pack.configure(levels_config), Redactor())

    def declared() -> Iterator[Registration]:
        for data in runs.registrations(stack):
            registration = _registration(data)
            judged.registrations.append(registration)
            yield registration
            # Resumed once its Analyze request is on its way: the summary is built while the pack judges it and the
            # program goes on, not after the program ends.
            judged.resources.append(_summary(registration, judged.redactor, root))

    try:
        judged.diagnostics = pack.analyze_all(declared())
    except UsageError:
        data = runs.result(stack)
        if data.get("error"):  # the program's own failure is what the user has to fix first
            return _Judged([], [], [], judged.levels, Redactor()), data
        raise
    return judged, runs.result(stack)


def _analyze(pack: PolicyPackProcess, info: PackInfo, result: StackResult, data: Mapping[str, Any],
             judged: _Judged, progress: Progress) -> None:
    """One stack's recorded program through the pack, into `result`."""
    stack = result.stack
    result.stack_file = data.get("stackFile", result.stack_file)
    result.stack_config_note = stack_config_note(stack, result.stack_file)
    result.not_checked_inside = [OpaqueSummary(**o) for o in data.get("opaque") or ()]
    progress(f"{stack}: {len(judged.registrations)} resources through {len(info.policies)} policies")
    stack_diagnostics = pack.start_analyze_stack(judged.registrations)
    # While the pack judges the whole stack: the exports (the redactor has seen every input already).
    result.resources = judged.resources
    result.outputs = judged.redactor.redact(data.get("outputs") or {})
    result.recovery = recovery_from_outputs(result.outputs)
    diagnostics = [*judged.diagnostics, *stack_diagnostics()]
    sources = {summary.urn: summary.source for summary in judged.resources}
    result.findings = [judged.redactor.finding(replace(f, source=sources.get(f.urn)))
                       for f in classify(diagnostics, info, judged.levels)]


def _run_and_analyze(options: CheckOptions, stacks: list[str], configs: Mapping[str, tuple[dict[str, Any], str]],
                     program_environment: ProgramEnvironment, progress: Progress) -> tuple[PackInfo, list[StackResult]]:
    project = load_project(options.program_dir)
    root = source_root(options.program_dir)
    runs = StackRuns(options.program_dir, stacks, options.parallel, program_environment, options.assume_existing,
                      timeout=options.program_timeout)
    try:
        progress(f"running {len(stacks)} stack program(s) and starting the policy pack")
        launched = pack_start.launch(options.pack_dir, sys.executable, project.name, stacks[0])
        try:
            # Only now, with the programs and the pack already starting: gRPC and the Pulumi SDK take a few tenths
            # of a second to load, which their start-up then hides.
            from rampart.engine.analyzer import PolicyPackProcess
        except BaseException:
            launched.abandon()
            raise
        _in_background(options.while_the_pack_starts)
        with PolicyPackProcess(pack_dir=options.pack_dir, project=project.name, stack=stacks[0],
                               call_timeout=options.policy_timeout, launched=launched) as pack:
            info = pack.info()
            for config, path in configs.values():
                if config:
                    validate_policy_config(config, info.policies, path)
            results = []
            for stack in stacks:
                stack_started = time.monotonic()
                judged, data = _judge_while_running(pack, runs, stack, configs[stack][0], root)
                result = StackResult(
                    stack=stack, project=project.name, stack_file=f"Pulumi.{stack}.yaml",
                    policy_config_file=configs[stack][1], mode=_mode(options),
                    policy_config_note=policy_config_note(options, stack, configs[stack][1], info),
                )
                if data.get("error"):
                    result.error = scrub_text(data["error"]["message"])
                else:
                    _analyze(pack, info, result, data, judged, progress)
                    result.seconds = round(time.monotonic() - stack_started, 3)
                results.append(result)
    finally:
        runs.close()
    return info, results


def _in_background(work: Callable[[], object] | None) -> None:
    def quietly() -> None:
        with contextlib.suppress(Exception):
            work()

    if work is not None:
        threading.Thread(target=quietly, name="while-the-pack-starts", daemon=True).start()


def run_check(options: CheckOptions, progress: Progress = lambda _: None) -> CheckReport:
    stacks = resolve_stacks(options)
    root = source_root(options.program_dir)
    configs = {stack: load_policy_config(options, stack) for stack in stacks}
    started = time.monotonic()
    program_environment = environment.resolve(options.program_dir)  # a missing environment fails before any run
    if warm.enabled():  # a bad setting is refused before anything starts
        warm.idle_seconds()
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
