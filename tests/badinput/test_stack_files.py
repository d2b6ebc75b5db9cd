"""Every broken stack file of the table: one message naming its file and key, exit 2, no traceback, never the
planted secret.

Every case goes through the engine's config-loading path in this process (tests/badinput/config_path.py); a
sample of them also through the real `rampart check` entry point on the project's real `__main__.py`, in one
multi-stack run (a broken stack file must not keep the others from reporting), whose messages must equal the
fast path's: the proof that the shortcut shows what the CLI shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rampart.cli import main
from tests.badinput.cases import render, stack_cases
from tests.badinput.config_path import stack_error
from tests.badinput.harness import judge
from tests.support.project_copy import copy_project

TINY_PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tiny"
CASES = stack_cases()
# Every raw-bytes case (each fails before any program runs: cheap); one in twelve of the others, one per section.
END_TO_END = [c for i, c in enumerate(CASES) if c.raw is not None or i % 12 == 0]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("badinput"))
    for case in CASES:
        (project / f"Pulumi.{case.id}.yaml").write_bytes(render(case))
    return project


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_broken_stack_file_is_one_message_naming_file_and_key(project, case):
    error = stack_error(project, case.id)
    # `rampart check` exits 2 for any stack error (CheckReport.exit_code); the end-to-end test below checks that.
    judge(2 if error else 0, error, expected_code=2, must_name=(f"Pulumi.{case.id}.yaml", case.fragment),
          via="the config path")


def test_rampart_check_says_what_the_config_path_says(project, tmp_path):
    sample = tmp_path / "project"
    sample.mkdir()
    for name in ("Pulumi.yaml", "__main__.py", ".venv", "infra", "components"):
        (sample / name).symlink_to(project / name)
    for case in END_TO_END:
        (sample / f"Pulumi.{case.id}.yaml").symlink_to(project / f"Pulumi.{case.id}.yaml")
    report = tmp_path / "report.json"
    code = main(["check", "--program", str(sample), "--policy-pack", str(TINY_PACK), "--format", "json",
                 "--output", str(report), "--program-timeout", "120"])
    stacks = {s["stack"]: s for s in json.loads(report.read_text(encoding="utf-8"))["stacks"]}
    assert code == 2
    assert sorted(stacks) == sorted(c.id for c in END_TO_END)
    for case in END_TO_END:
        error = stacks[case.id]["error"]
        judge(2 if error else 0, error or "", expected_code=2, must_name=(f"Pulumi.{case.id}.yaml", case.fragment))
        assert error == stack_error(sample, case.id), case.id
