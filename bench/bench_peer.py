"""Rampart against its peer: the equivalent AWS CDK app synthesized with cdk-nag (bench/cdk/app.js).

Usage: `make bench` (or `.venv/bin/python bench/bench_peer.py [--repeat N] [--sizes 1,10,50]`).
The machine is shared, so every figure comes from interleaved runs: for each size and repetition, Rampart and the
peer run back to back (the order alternating between repetitions), and the main figure is the median of the
per-pair ratios, which cancels most of the load both saw. Beside wall time, each run's CPU time (user + sys of
the process and everything it waited for: the program workers, the pack, node) is far less sensitive to load.
Rampart runs as the project gate runs it (`rampart check --assume-existing`) and, for reference, as a new user's
first preview (`rampart check`), both as a person runs checks one after another: forked by warm servers
(rampart/engine/warm.py) that an untimed first check started. `cold-start` is the gate's check with new processes
(`RAMPART_WARM=0`), as a CI job's single check runs: reported beside, with its own ratios. The CPU of a run
counts what the servers' children spent for it.
Writes bench/results/peer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import generated_project, warm_servers  # noqa: E402 (bench scripts run as files, not as a package)

ROOT = Path(__file__).resolve().parents[1]
CDK_APP = ROOT / "bench" / "cdk" / "app.js"
RESULTS = ROOT / "bench" / "results"
RATIO_TARGETS = {1: 0.5, 10: 0.5, 50: 1.0}
PROJECT_TARGET_SECONDS = 2.0
MARGINAL_TARGET_MS = 2.5
MODES = {"assume-existing": ["--assume-existing"], "first-preview": [], "cold-start": ["--assume-existing"]}
MODE_ENV = {"cold-start": {"RAMPART_WARM": "0"}}
"""Beyond the flags: `cold-start` starts every process afresh; the other modes use the warm servers."""


@dataclass
class Series:
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """CPU seconds (user + sys) of each run's child processes."""
    resources: int = 0

    def add(self, seconds: float, cpu: float, resources: int) -> None:
        self.seconds.append(seconds)
        self.cpu.append(cpu)
        self.resources = resources

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _servers_cpu() -> float:
    """CPU seconds of this benchmark's warm servers and the children they reaped (a check's program runner and pack
    host are the servers' children, not the check's)."""
    runtime = os.environ.get("RAMPART_RUNTIME_DIR", "")
    total = 0.0
    for entry in os.listdir("/proc") if runtime else ():
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes()
            if b"rampart.engine.warm_server" in argv and runtime.encode() in argv:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            continue
    return total


def timed(args: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds of one subprocess run (RUSAGE_CHILDREN counts every descendant that was waited for;
    the warm servers' children are counted through the servers)."""
    cpu, started = _children_cpu() + _servers_cpu(), time.perf_counter()
    completed = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603
    return time.perf_counter() - started, _children_cpu() + _servers_cpu() - cpu, completed


def run_rampart(program: Path, stacks: list[str], flags: list[str], cache_flags: list[str],
                source: Path = ROOT, cache_dir: Path | None = None,
                expect_hit: bool = False, mode_env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """`source`: the directory `python -m rampart` imports rampart from (a baseline's exported tree).
    `cache_dir`: the stack cache to use (warm runs); `expect_hit`: fail unless every stack came from it."""
    args = [sys.executable, "-m", "rampart", "check", "--program", str(program), "--policy-pack",
            str(ROOT / "policies"), "--format", "json", *flags, *cache_flags]
    for stack in stacks:
        args += ["--stack", stack]
    # PYTHONPATH as well as cwd: the program worker runs with the program as cwd and must import the same rampart
    # (not the one installed in the environment, which may be another checkout's).
    env = {**os.environ, "PYTHONPATH": str(source), **({"RAMPART_CACHE_DIR": str(cache_dir)} if cache_dir else {}),
           **(mode_env or {})}
    elapsed, cpu, completed = timed(args, cwd=source, env=env)
    if completed.returncode == 2:
        raise SystemExit(f"rampart check failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    document = json.loads(completed.stdout)
    if expect_hit and not all(s.get("cacheNote") for s in document["stacks"]):
        raise SystemExit(f"warm run of {stacks}: expected every stack from the cache, but some were run")
    if not expect_hit and any(s.get("cacheNote") for s in document["stacks"]):
        raise SystemExit(f"cold run of {stacks} from {source}: a stack was answered from the stack cache")
    return elapsed, cpu, sum(s["summary"]["resources"] for s in document["stacks"])


def run_peer(services: int, outdir: Path) -> tuple[float, float, int]:
    # CDK_VALIDATION=false: only cdk-nag judges the app. CDK 2.27x also runs a built-in CloudFormation schema
    # validation on synth by default; left on it makes the peer several times slower, so leaving it off is the
    # stricter comparison for Rampart.
    env = {**os.environ, "CDK_VALIDATION": "false"}
    elapsed, cpu, completed = timed(["node", str(CDK_APP), str(services), str(outdir)], env=env)
    if completed.returncode != 0:
        raise SystemExit(f"the CDK peer failed:\n{completed.stderr[-3000:]}")
    return elapsed, cpu, json.loads(completed.stdout.strip().splitlines()[-1])["resources"]


def paired(size: int, program: Path, repeat: int, modes: list[str], outdir: Path,
           cache_flags: list[str], baseline: Path | None) -> dict[str, Series]:
    """Rampart (each mode) and the peer, interleaved; the order rotates so neither always runs first."""
    series = {name: Series() for name in [*modes, "cdk", *(["baseline"] if baseline else [])]}
    runners = [(m, lambda m=m: run_rampart(program, [f"bench-{size}"], MODES[m], cache_flags,
                                           mode_env=MODE_ENV.get(m))) for m in modes]
    for mode, runner in runners:  # untimed: the warm servers load the modules this program names
        if mode not in MODE_ENV:
            runner()
    if baseline:
        # Cold too, when the baseline has the flag (one from before the stack cache has no cache to hit).
        baseline_cache_flags = cache_flags if _has_no_cache_flag(baseline) else []
        runners.append(("baseline", lambda: run_rampart(program, [f"bench-{size}"], MODES[modes[0]],
                                                        baseline_cache_flags, baseline)))
    runners.append(("cdk", lambda: run_peer(size, outdir)))
    for rep in range(repeat):
        shift = rep % len(runners)
        for name, runner in runners[shift:] + runners[:shift]:
            series[name].add(*runner())
    return series


def pair_ratio(rampart: Series, cdk: Series) -> float:
    return statistics.median(r / c for r, c in zip(rampart.seconds, cdk.seconds, strict=True))


def cpu_ratio(rampart: Series, cdk: Series) -> float:
    return statistics.median(r / c for r, c in zip(rampart.cpu, cdk.cpu, strict=True))


def marginal_ms(small: Series, large: Series) -> float:
    return (large.median - small.median) / max(1, large.resources - small.resources) * 1000


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(project: Series, by_size: dict[int, dict[str, Series]], modes: list[str], load: tuple[str, str],
           cold_project: Series | None = None) -> dict:
    main_mode = modes[0]
    lines = [f"machine load average (1/5/15 min) at start: {load[0]}; at end: {load[1]}",
             "", f"{'case':34} {'resources':>9} {'median s':>9} {'cpu s':>7}   per-pair ratio to CDK: wall, cpu"]
    lines.append(f"{'project stacks (' + main_mode + ')':34} {project.resources:>9} {project.median:>9.2f} "
                 f"{project.cpu_median:>7.2f}")
    rows = []
    for size, series in by_size.items():
        cdk = series["cdk"]
        lines.append(f"{'CDK + cdk-nag, ' + str(size) + ' service(s)':34} {cdk.resources:>9} {cdk.median:>9.2f} "
                     f"{cdk.cpu_median:>7.2f}")
        for mode in modes:
            ratio = pair_ratio(series[mode], cdk)
            lines.append(f"{'rampart ' + mode + ', ' + str(size):34} {series[mode].resources:>9} "
                         f"{series[mode].median:>9.2f} {series[mode].cpu_median:>7.2f}   {ratio:.2f}x, "
                         f"{cpu_ratio(series[mode], cdk):.2f}x")
            rows.append({"services": size, "mode": mode, "seconds": series[mode].seconds, "cpuSeconds":
                         series[mode].cpu, "resources": series[mode].resources, "cdkSeconds": cdk.seconds,
                         "cdkCpuSeconds": cdk.cpu, "cdkResources": cdk.resources, "ratio": ratio,
                         "cpuRatio": cpu_ratio(series[mode], cdk)})
        if "baseline" in series:
            before = series["baseline"]
            lines.append(f"{'  baseline (' + main_mode + '), ' + str(size):34} {before.resources:>9} "
                         f"{before.median:>9.2f} {before.cpu_median:>7.2f}   {pair_ratio(before, cdk):.2f}x; "
                         f"now/baseline wall {pair_ratio(series[main_mode], before):.2f}, "
                         f"cpu {cpu_ratio(series[main_mode], before):.2f}")
            rows.append({"services": size, "mode": "baseline", "seconds": before.seconds, "cpuSeconds": before.cpu,
                         "ratioToCurrent": pair_ratio(series[main_mode], before),
                         "cpuRatioToCurrent": cpu_ratio(series[main_mode], before)})
    sizes = sorted(by_size)
    marginal = {}
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        for name in [*modes, "cdk"]:
            marginal[name] = marginal_ms(by_size[small][name], by_size[large][name])
        for mode in modes[1:]:
            lines.append(f"marginal ms/resource, rampart {mode}: {marginal[mode]:.2f}")
    targets = _targets(project, by_size, main_mode, marginal)
    lines += ["", f"{'target (rampart ' + main_mode + ')':38} {'target':>10} {'measured':>24}  verdict"]
    lines += [f"{name:38} {target:>10} {measured:>24}  {verdict(ok)}" for name, target, measured, ok in targets]
    document = {"load": load, "project": {"seconds": project.seconds, "cpuSeconds": project.cpu,
                                          "resources": project.resources}, "rows": rows,
                "marginalMsPerResource": marginal,
                "targets": [{"name": n, "target": t, "measured": m, "met": ok} for n, t, m, ok in targets]}
    if cold_project is not None and "cold-start" in modes:
        cold = _targets(cold_project, by_size, "cold-start", marginal)
        lines += ["", f"{'the same, cold start (RAMPART_WARM=0)':38} {'target':>10} {'measured':>24}  verdict"]
        lines += [f"{name:38} {target:>10} {measured:>24}  {verdict(ok)}" for name, target, measured, ok in cold]
        document["coldStart"] = {
            "project": {"seconds": cold_project.seconds, "cpuSeconds": cold_project.cpu},
            "targets": [{"name": n, "target": t, "measured": m, "met": ok} for n, t, m, ok in cold]}
    print("\n".join(lines))
    return document


def _targets(project: Series, by_size: dict[int, dict[str, Series]], mode: str,
             marginal: dict[str, float]) -> list[tuple[str, str, str, bool]]:
    targets = [("both project stacks", f"< {PROJECT_TARGET_SECONDS:.1f} s", f"{project.median:.2f} s",
                project.median < PROJECT_TARGET_SECONDS)]
    for size in sorted(by_size):
        if size in RATIO_TARGETS:
            ratio = pair_ratio(by_size[size][mode], by_size[size]["cdk"])
            targets.append((f"{size} service(s) vs CDK", f"<= {RATIO_TARGETS[size]:.1f}x", f"{ratio:.2f}x",
                            ratio <= RATIO_TARGETS[size]))
    if mode in marginal:
        sizes = sorted(by_size)
        targets.append((f"marginal ms/resource ({sizes[-2]}->{sizes[-1]})", f"< {MARGINAL_TARGET_MS} ms",
                        f"{marginal[mode]:.2f} ms (CDK {marginal['cdk']:.2f})", marginal[mode] < MARGINAL_TARGET_MS))
    return targets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--modes", default="assume-existing,first-preview,cold-start",
                        help="rampart modes; the first is the one judged against the targets")
    parser.add_argument("--baseline", type=Path,
                        help="a directory holding an earlier `rampart` package and the pack it bundles "
                             "(git archive REV rampart policies | tar -x -C DIR), run interleaved as a before/after "
                             "pair")
    parser.add_argument("--no-warm", action="store_true",
                        help="skip the warm figures (unchanged stacks answered from rampart's stack cache), which are "
                             "reported apart from the cold ones the targets judge")
    args = parser.parse_args()
    if not (CDK_APP.parent / "node_modules" / "aws-cdk-lib").is_dir():
        raise SystemExit("bench/cdk/node_modules missing: run `make bench` (npm ci --prefix bench/cdk)")
    if args.baseline and not all((args.baseline / p).is_dir() for p in ("rampart", "policies")):
        # Without its own policies/, the baseline's rampart finds no bundled pack and fails on every run.
        raise SystemExit(f"--baseline {args.baseline}: expected rampart/ and policies/ from "
                         "`git archive REV rampart policies | tar -x -C DIR`")
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    # Cold, always: every figure judged against the targets does the work (--no-cache); warm ones are apart.
    cache_flags = ["--no-cache"] if _has_no_cache_flag() else []
    load_start = _load()
    project = Series()
    with tempfile.TemporaryDirectory(prefix="rampart-peer-") as tmp, warm_servers(Path(tmp)):
        program = generated_project(Path(tmp), sizes)  # the committed program (see bench_check.committed_program)
        run_rampart(program, ["production", "staging"], MODES[modes[0]], cache_flags)  # untimed: starts the servers
        cold_project = Series() if "cold-start" in modes else None
        for _ in range(args.repeat):
            project.add(*run_rampart(program, ["production", "staging"], MODES[modes[0]], cache_flags))
            if cold_project is not None:
                cold_project.add(*run_rampart(program, ["production", "staging"], MODES["cold-start"], cache_flags,
                                              mode_env=MODE_ENV["cold-start"]))
        by_size = {size: paired(size, program, args.repeat, modes, Path(tmp) / f"cdk.out-{size}", cache_flags,
                                args.baseline) for size in sizes}
        warm = {} if args.no_warm or not cache_flags else warm_runs(program, sizes, args.repeat, MODES[modes[0]],
                                                                    Path(tmp) / "cache")
    load_end = _load()
    document = report(project, by_size, modes, (load_start, load_end), cold_project)
    document["warm"] = report_warm(warm, project, by_size, modes[0])
    document.update({"repeat": args.repeat, "cacheFlags": cache_flags})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "peer.json").write_text(json.dumps(document, indent=2))


def warm_runs(program: Path, sizes: list[int], repeat: int, flags: list[str], cache_dir: Path) -> dict[str, Series]:
    """Each case run once to fill a private stack cache, then `repeat` times answered from it."""
    cases = {"project stacks": ["production", "staging"], **{f"{size} service(s)": [f"bench-{size}"] for size in sizes}}
    warm = {}
    for case, stacks in cases.items():
        run_rampart(program, stacks, flags, [], cache_dir=cache_dir)
        warm[case] = Series()
        for _ in range(repeat):
            warm[case].add(*run_rampart(program, stacks, flags, [], cache_dir=cache_dir, expect_hit=True))
    return warm


def report_warm(warm: dict[str, Series], project: Series, by_size: dict[int, dict[str, Series]],
                mode: str) -> list[dict]:
    if not warm:
        return []
    cold = {"project stacks": project, **{f"{size} service(s)": series[mode] for size, series in by_size.items()}}
    lines = ["", f"warm: every stack unchanged since the previous run, answered from the stack cache ({mode}); "
             "NOT the cold figures the targets judge", f"{'case':34} {'median s':>9} {'cpu s':>7}   cold median s"]
    rows = []
    for case, series in warm.items():
        lines.append(f"{case:34} {series.median:>9.2f} {series.cpu_median:>7.2f}   {cold[case].median:.2f}")
        rows.append({"case": case, "seconds": series.seconds, "cpuSeconds": series.cpu})
    print("\n".join(lines))
    return rows


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _has_no_cache_flag(source: Path = ROOT) -> bool:
    completed = subprocess.run([sys.executable, "-m", "rampart", "check", "--help"], capture_output=True, text=True,
                               check=False, cwd=source, env={**os.environ, "PYTHONPATH": str(source)})  # noqa: S603
    return "--no-cache" in completed.stdout


if __name__ == "__main__":
    main()
