"""A small Pulumi program written by a test, checked as a user checks it: `rampart check --program` in a
subprocess on its production stack, against the project's pack, with a JSON report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_program(project: Path, main: str, name: str, stack_config: str) -> Path:
    """`project` holding `__main__.py`, `Pulumi.yaml` and `Pulumi.production.yaml` (`stack_config`: its config
    section's lines)."""
    project.mkdir()
    (project / "__main__.py").write_text(main)
    (project / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (project / "Pulumi.production.yaml").write_text(f"config:\n{stack_config}")
    return project


def check_production(project: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(project), "--stack", "production",
         "--policy-pack", str(ROOT / "policies"), "--format", "json", "--output", str(report)],
        capture_output=True, text=True, cwd=report.parent, check=False,
    )
