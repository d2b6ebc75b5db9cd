"""Benchmark `rampart check`: both project stacks, then generated stacks of 1, 10 and 50 services.

Usage: `make bench` (or `.venv/bin/python bench/bench_check.py [--repeat N] [--sizes 1,10,50]`).
Prints a table and writes bench/results/latest.json. The marginal cost per resource is the slope between the
smallest and the largest generated stack: program plus pack, end to end, as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def timed_check(program: Path, stacks: list[str], repeat: int) -> tuple[float, int, int]:
    """Median wall time, resources checked, exit code."""
    times, resources, code = [], 0, 0
    for _ in range(repeat):
        args = [sys.executable, "-m", "rampart", "check", "--program", str(program), "--policy-pack",
                str(ROOT / "policies"), "--format", "json"]
        for stack in stacks:
            args += ["--stack", stack]
        started = time.perf_counter()
        completed = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - started)
        if completed.returncode == 2:
            raise SystemExit(f"rampart check failed:\n{completed.stdout}\n{completed.stderr}")
        document = json.loads(completed.stdout)
        resources = sum(s["summary"]["resources"] for s in document["stacks"])
        code = completed.returncode
    return statistics.median(times), resources, code


def generated_project(workdir: Path, sizes: list[int]) -> Path:
    """A copy of the project with one extra stack per size, each with that many services."""
    project = workdir / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.production.yaml"):
        shutil.copy(ROOT / name, project / name)
    for package in ("infra", "components"):
        shutil.copytree(ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__"))
    # Pulumi.yaml names `toolchain: uv`: the copy runs in the project's own environment, as the original does.
    (project / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    base = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())
    template = base["config"]["rampart:services"][0]
    for size in sizes:
        document = json.loads(json.dumps(base))
        document["config"]["rampart:services"] = [
            {**template, "name": f"svc{i}", "listenerRulePriority": 100 + i, "pathPatterns": [f"/svc{i}/*"]}
            for i in range(1, size + 1)
        ]
        (project / f"Pulumi.bench-{size}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    seconds, resources, code = timed_check(ROOT, ["production", "staging"], args.repeat)
    rows.append({"case": "project stacks (production + staging)", "seconds": seconds, "resources": resources,
                 "exit": code})
    with tempfile.TemporaryDirectory(prefix="rampart-bench-") as tmp:
        project = generated_project(Path(tmp), sizes)
        for size in sizes:
            seconds, resources, code = timed_check(project, [f"bench-{size}"], args.repeat)
            rows.append({"case": f"generated stack, {size} service(s)", "services": size, "seconds": seconds,
                         "resources": resources, "exit": code})

    generated = [r for r in rows if "services" in r]
    first, last = generated[0], generated[-1]
    marginal_ms = (last["seconds"] - first["seconds"]) / max(1, last["resources"] - first["resources"]) * 1000

    print(f"{'case':45} {'resources':>9} {'seconds':>8}")
    for row in rows:
        print(f"{row['case']:45} {row['resources']:>9} {row['seconds']:>8.2f}")
    print(f"marginal cost per resource (program + pack): {marginal_ms:.2f} ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"rows": rows, "marginalMsPerResource": marginal_ms,
                                                     "repeat": args.repeat}, indent=2))


if __name__ == "__main__":
    main()
