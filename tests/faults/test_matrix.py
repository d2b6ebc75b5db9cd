"""Every ops command under every representative fault: exit code, what it says it left behind, and the proofs."""

from __future__ import annotations

import pytest

from tests.faults.matrix import CASES, RESULTS, run_case

QUICK = [c for c in CASES if c.quick]


@pytest.mark.parametrize("case", QUICK, ids=[f"{c.command}-{c.fault.replace(' ', '-')}" for c in QUICK])
def test_command_under_fault(case, direct, proxy, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    outcome = run_case(case, direct, proxy, tmp_path)
    RESULTS.append(outcome)
    assert "TRACEBACK" not in outcome.message, outcome
    assert outcome.code == case.expect, outcome
    assert outcome.foreign_intact, outcome
    assert not outcome.unlabelled, outcome
    assert not outcome.unnamed, outcome
    assert not outcome.stray_writes, outcome
