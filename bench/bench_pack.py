"""Benchmark the policy pack alone: its CPU per resource (Analyze) and per stack (AnalyzeStack).

Usage: `.venv/bin/python bench/bench_pack.py [--services 50] [--stacks production,staging] [--repeat 3]
[--recorded FILE] [--pack DIR --pack DIR] [--profile FILE]`. To compare with an older pack under the same load:
`git archive <commit> policies | tar -x -C /tmp/old` then `--pack /tmp/old/policies --pack policies`.

Records each stack's registrations once (the engine's own worker, `--assume-existing`), then sends them to the
real pack process over the analyzer protocol, exactly as `rampart check` does, and reads the pack process's own CPU
time (/proc/<pid>/stat) around `Analyze` for every resource and around the one `AnalyzeStack`.
It also prints a digest of the diagnostics: a speed change to the pack must leave it unchanged.

`--profile FILE` runs the same requests through pulumi_policy's servicer in this process under cProfile instead
(no gRPC), for finding where the pack's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_check import generated_project  # noqa: E402

from rampart.engine import analyzer as engine_analyzer  # noqa: E402
from rampart.engine import environment  # noqa: E402
from rampart.engine.analyzer import PolicyPackProcess  # noqa: E402
from rampart.engine.check import CheckOptions, _registration, load_policy_config  # noqa: E402
from rampart.engine.stack_runs import StackRuns  # noqa: E402
from rampart.engine.stackfile import load_project  # noqa: E402

PACK = ROOT / "policies"


def record(program: Path, stacks: list[str]) -> dict[str, list[Any]]:
    runs = StackRuns(program, stacks, 1, environment.resolve(program), assume_existing=True)
    try:
        recorded = {}
        for stack in stacks:
            registrations = [_registration(r) for r in runs.registrations(stack)]
            data = runs.result(stack)
            if data.get("error"):
                raise SystemExit(f"stack {stack}: {data['error']['message']}")
            recorded[stack] = registrations
        return recorded
    finally:
        runs.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def digest(diagnostics: list[Any]) -> str:
    lines = sorted(f"{d.policy}|{d.enforcement}|{d.urn}|{d.message}" for d in diagnostics)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def measure(pack_dir: Path, project: str, stack: str, registrations: list[Any],
            config: dict[str, Any]) -> dict[str, Any]:
    """One fresh pack process: its CPU over Analyze (every resource) and over AnalyzeStack."""
    with PolicyPackProcess(pack_dir=pack_dir, project=project, stack=stack) as pack:
        assert pack._process is not None
        pid = pack._process.pid
        pack.configure(config)
        cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
        diagnostics = pack.analyze_all(registrations)
        cpu1, wall1 = cpu_seconds(pid), time.perf_counter()
        diagnostics += pack.analyze_stack(registrations)
        cpu2, wall2 = cpu_seconds(pid), time.perf_counter()
    return {"analyzeCpu": cpu1 - cpu0, "analyzeWall": wall1 - wall0, "stackCpu": cpu2 - cpu1,
            "stackWall": wall2 - wall1, "digest": digest(diagnostics), "diagnostics": len(diagnostics)}


def profile(project: str, stack: str, registrations: list[Any], config: dict[str, Any], out: str) -> None:
    """The same requests through pulumi_policy's servicer in this process, under cProfile."""
    os.environ.update({"PULUMI_PROJECT": project, "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true"})
    sys.path.insert(0, str(PACK))
    from guardrails import all_rules
    from guardrails.adapter import build_policies
    from guardrails.speedups import install
    from pulumi.runtime.proto import analyzer_pb2
    from pulumi_policy import EnforcementLevel
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    install()
    servicer = _PolicyAnalyzerServicer("rampart-guardrails", "0.0.1", build_policies(all_rules()),
                                       EnforcementLevel.ADVISORY)
    entries = {}
    for name, value in config.items():
        if isinstance(value, dict):
            struct = engine_analyzer.struct_pb2.Struct()
            struct.update({k: v for k, v in value.items() if k != "enforcementLevel"})
            level = engine_analyzer._ENFORCEMENT_VALUES[value.get("enforcementLevel", "advisory")]
            entries[name] = analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=struct)
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=entries), None)
    requests = [engine_analyzer._analyze_request(r) for r in registrations]
    stack_request = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type=r.type, properties=engine_analyzer._to_struct(r.inputs), urn=r.urn,
                                      name=r.name, options=engine_analyzer._options(r), parent=r.parent,
                                      dependencies=list(r.dependencies),
                                      propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                                            for k, v in r.property_dependencies.items()})
        for r in registrations])
    profiler = cProfile.Profile()
    profiler.enable()
    for request in requests:
        servicer.Analyze(request, None)
    servicer.AnalyzeStack(stack_request, None)
    profiler.disable()
    profiler.dump_stats(out)
    print(f"profile of {len(requests)} Analyze + 1 AnalyzeStack written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--stacks", default="", help="project stacks to measure too, e.g. production,staging")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pack", action="append", type=Path,
                        help="pack directory (default policies/); give it twice, e.g. a copy of an older commit's "
                        "policies/ from `git archive`, to compare: runs alternate so both see the same load")
    parser.add_argument("--profile", default="", help="write a cProfile of the in-process run of the first stack")
    parser.add_argument("--recorded", default="", help="keep the recorded stacks in this file and reuse them "
                        "(recording takes longer than the measurement; delete it after a program change)")
    args = parser.parse_args()
    stacks = [f"bench-{args.services}", *[s for s in args.stacks.split(",") if s]]
    saved = Path(args.recorded) if args.recorded else None
    if saved is not None and saved.is_file():
        project, recorded = pickle.loads(saved.read_bytes())  # noqa: S301 (a file this script wrote)
    else:
        with tempfile.TemporaryDirectory(prefix="rampart-bench-pack-") as tmp:
            program = generated_project(Path(tmp), [args.services])
            recorded = record(program, stacks)
            project = load_project(program).name
        if saved is not None:
            saved.write_bytes(pickle.dumps((project, recorded)))
    missing = [s for s in stacks if s not in recorded]
    if missing:
        raise SystemExit(f"--recorded {saved}: no recording of {', '.join(missing)}; delete it to record again")
    options = CheckOptions(program_dir=ROOT, pack_dir=PACK)
    if args.profile:
        profile(project, stacks[0], recorded[stacks[0]], load_policy_config(options, stacks[0])[0], args.profile)
        return
    packs = args.pack or [PACK]
    print(f"{'stack':14} {'resources':>9} {'Analyze CPU s':>13} {'ms/resource':>11} {'AnalyzeStack CPU s':>18} "
          f"{'diagnostics':>11}  digest  pack")
    for stack in stacks:
        config = load_policy_config(options, stack)[0]
        runs: dict[Path, list[dict[str, Any]]] = {pack: [] for pack in packs}
        for _ in range(args.repeat):
            for pack in packs:
                runs[pack].append(measure(pack, project, stack, recorded[stack], config))
        count = len(recorded[stack])
        for pack in packs:
            analyze = statistics.median(r["analyzeCpu"] for r in runs[pack])
            stack_cpu = statistics.median(r["stackCpu"] for r in runs[pack])
            digests = ",".join(sorted({r["digest"] for r in runs[pack]}))
            print(f"{stack:14} {count:>9} {analyze:>13.2f} {analyze / count * 1000:>11.3f} {stack_cpu:>18.2f} "
                  f"{runs[pack][0]['diagnostics']:>11}  {digests}  {pack}")

if __name__ == "__main__":
    main()
