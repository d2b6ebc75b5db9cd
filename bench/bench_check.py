"""Benchmark `rampart check`: both project stacks, then generated stacks of 1, 10 and 50 services.

Usage: `make bench` (or `.venv/bin/python bench/bench_check.py [--repeat N] [--sizes 1,10,50]`).
Prints a table and writes bench/results/latest.json. The marginal cost per resource is the slope between the
smallest and the largest generated stack: program plus pack, end to end, as a user runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def timed_check(program: Path, stacks: list[str], repeat: int, env: dict[str, str]) -> tuple[float, int, int]:
    """Median wall time, resources checked, exit code; after one untimed run (the warm servers load the modules
    the program names, as for a person's second check)."""
    times, resources, code = [], 0, 0
    for run in range(repeat + 1):
        # --no-cache: every repetition does the work (cold); a cached stack would time the cache instead.
        args = [sys.executable, "-m", "rampart", "check", "--program", str(program), "--policy-pack",
                str(ROOT / "policies"), "--format", "json", "--no-cache"]
        for stack in stacks:
            args += ["--stack", stack]
        started = time.perf_counter()
        completed = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
        if run:
            times.append(time.perf_counter() - started)
        if completed.returncode == 2:
            raise SystemExit(f"rampart check failed:\n{completed.stdout}\n{completed.stderr}")
        document = json.loads(completed.stdout)
        resources = sum(s["summary"]["resources"] for s in document["stacks"])
        code = completed.returncode
    return statistics.median(times), resources, code


PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "Pulumi.production.yaml", "Pulumi.staging.yaml", "infra",
                 "components")


def committed_program(workdir: Path) -> Path:
    """The project's program as committed (HEAD), in `workdir/project`: on a tree that several people edit at once,
    someone's half-made change must not break or skew a benchmark of the engine."""
    project = workdir / "project"
    project.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", *PROGRAM_FILES], cwd=ROOT,  # noqa: S607
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(project)], input=archive, check=True)  # noqa: S607
    # Pulumi.yaml names `toolchain: uv`: the copy runs in the project's own environment, as the original does.
    (project / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    return project


def _lift_job_limit(timing: Path) -> None:
    """The generated stacks are load for the engine, not deployable configs: 50 services deployed one after the
    other exceed GitHub's six-hour job limit, which the program rightly refuses. The copy lifts that one limit so
    the stack still builds every resource; nothing else in the program changes."""
    text = timing.read_text(encoding="utf-8")
    limit = "GITHUB_JOB_LIMIT_MINUTES = 360\n"
    if limit not in text:
        raise SystemExit(f"{timing}: expected {limit.strip()!r} to lift for the generated stacks; update bench_check")
    timing.write_text(text.replace(limit, "GITHUB_JOB_LIMIT_MINUTES = 10**9\n"), encoding="utf-8")


def generated_project(workdir: Path, sizes: list[int]) -> Path:
    """The committed project with one extra stack per size, each with that many services."""
    project = committed_program(workdir)
    _lift_job_limit(project / "infra" / "timing.py")
    base = yaml.safe_load((project / "Pulumi.production.yaml").read_text())
    template = base["config"]["rampart:services"][0]
    for size in sizes:
        document = json.loads(json.dumps(base))
        document["config"]["rampart:services"] = [
            {**template, "name": f"svc{i}", "listenerRulePriority": 100 + i, "pathPatterns": [f"/svc{i}/*"]}
            for i in range(1, size + 1)
        ]
        (project / f"Pulumi.bench-{size}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return project


@contextlib.contextmanager
def warm_servers(workdir: Path) -> Iterator[None]:
    """This benchmark's own warm servers (rampart/engine/warm.py, a private runtime directory), stopped at its end."""
    runtime = workdir / "run"
    os.environ.update(RAMPART_WARM="1", RAMPART_RUNTIME_DIR=str(runtime))
    try:
        yield
    finally:
        subprocess.run(["pkill", "-f", f"rampart.engine.warm_server .* {runtime}/"], check=False)  # noqa: S607


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    with tempfile.TemporaryDirectory(prefix="rampart-bench-") as tmp:
        project = generated_project(Path(tmp), sizes)
        cases = [("project stacks (production + staging)", ["production", "staging"], None),
                 *((f"generated stack, {size} service(s)", [f"bench-{size}"], size) for size in sizes)]
        with warm_servers(Path(tmp)):
            # New processes for every check as well (RAMPART_WARM=0), as a CI job's one check runs.
            env, cold_env = dict(os.environ), {**os.environ, "RAMPART_WARM": "0"}
            for case, stacks, size in cases:
                seconds, resources, code = timed_check(project, stacks, args.repeat, env)
                cold_seconds, _, _ = timed_check(project, stacks, args.repeat, cold_env)
                rows.append({"case": case, **({"services": size} if size else {}), "seconds": seconds,
                             "coldStartSeconds": cold_seconds, "resources": resources, "exit": code})

    generated = [r for r in rows if "services" in r]
    first, last = generated[0], generated[-1]
    marginal_ms = (last["seconds"] - first["seconds"]) / max(1, last["resources"] - first["resources"]) * 1000
    cold_marginal_ms = ((last["coldStartSeconds"] - first["coldStartSeconds"])
                        / max(1, last["resources"] - first["resources"]) * 1000)

    print(f"{'case':45} {'resources':>9} {'seconds':>8} {'cold start':>10}")
    for row in rows:
        print(f"{row['case']:45} {row['resources']:>9} {row['seconds']:>8.2f} {row['coldStartSeconds']:>10.2f}")
    print(f"marginal cost per resource (program + pack): {marginal_ms:.2f} ms; cold start {cold_marginal_ms:.2f} ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"rows": rows, "marginalMsPerResource": marginal_ms,
                                                     "coldStartMarginalMsPerResource": cold_marginal_ms,
                                                     "repeat": args.repeat}, indent=2))


if __name__ == "__main__":
    main()
