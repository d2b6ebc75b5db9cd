"""`rampart check` on this project's own program: a bad stack file stops with exit 2 and one clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


from tests.support.project_copy import copy_project  # noqa: E402


def test_bad_stack_value_exits_2_naming_file_key_and_expectation(tmp_path):
    project = copy_project(tmp_path)
    document = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    document["config"]["rampart:services"][0]["cpu"] = 300
    (project / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(project), "--policy-pack",
         str(ROOT / "tests" / "fixtures" / "packs" / "tiny")],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Pulumi.staging.yaml: invalid stack configuration" in completed.stdout
    assert "rampart:services[0].cpu: Input should be 256, 512, 1024, 2048 or 4096" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
