"""The project's own gate (`make check`) previews its stacks as deployed ones (`--assume-existing`): every rule
judges every resource, none is left undeterminable, and none blocks. The first preview of a new stack leaves
most IAM and security-group rules undeterminable (their documents name ARNs and ids created in the same run),
which never blocks but would leave the gate judging little."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rampart.engine.check import CheckOptions, run_check

ROOT = Path(__file__).resolve().parents[2]


def test_make_check_previews_the_deployed_stacks():
    recipe = re.search(r"^check:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe and "rampart check --assume-existing" in recipe.group(1)


def test_every_workflow_gate_previews_the_deployed_stacks_too():
    # The PR gate and the deploy job's gate judge what `make check` judges: a gate that leaves the IAM and
    # network rules undeterminable would let a mandatory violation through.
    calls = [line for path in sorted((ROOT / ".github" / "workflows").glob("*.yml"))
             for line in path.read_text().splitlines()
             if re.search(r"rampart check\b", line) and not line.strip().startswith(("name:", "#"))]
    assert len(calls) >= 3
    assert [line.strip() for line in calls if "--assume-existing" not in line] == []


@pytest.fixture(scope="module")
def gate():
    return run_check(CheckOptions(program_dir=ROOT, pack_dir=ROOT / "policies", assume_existing=True))


def test_the_gate_judges_every_rule_and_nothing_blocks(gate):
    assert [s.stack for s in gate.stacks] == ["dev", "production", "staging"]
    assert [(s.stack, s.error) for s in gate.stacks if s.error] == []
    assert [(s.stack, f.policy, f.resource_name) for s in gate.stacks for f in s.findings
            if f.state == "undeterminable"] == []
    assert gate.exit_code == 0
    assert all(s.mode == "assume-existing" and not s.not_checked_inside for s in gate.stacks)
    assert all(s.policy_config_note == f"Pack config: {ROOT / 'policies' / 'config' / (s.stack + '.json')}"
               for s in gate.stacks)
