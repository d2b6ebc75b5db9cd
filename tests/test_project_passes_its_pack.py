"""The project's own stacks pass their own pack: zero mandatory violations, waivers listed with reasons, and
no secret value in any report format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rampart.engine.check import CheckOptions, run_check
from rampart.engine.stackfile import SECRET_PLACEHOLDER_PREFIX

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report():
    return run_check(CheckOptions(program_dir=ROOT, pack_dir=ROOT / "policies"))


def test_every_stack_is_checked(report):
    assert [s.stack for s in report.stacks] == ["dev", "production", "staging"]
    assert all(s.error is None for s in report.stacks), [s.error for s in report.stacks]
    assert all(len(s.resources) > 100 for s in report.stacks)


def test_zero_mandatory_violations(report):
    blocking = [(s.stack, f.policy, f.resource_name, f.message) for s in report.stacks for f in s.blocking]
    assert blocking == []
    assert report.exit_code == 0


def test_every_waiver_has_a_reason_approver_and_expiry(report):
    for stack in report.stacks:
        for finding in stack.findings:
            if finding.state == "waived":
                assert len(finding.waiver.reason) >= 20 and finding.waiver.approved_by and finding.waiver.expires


def test_recovery_objectives_are_reported_and_met_in_production(report):
    production = next(s for s in report.stacks if s.stack == "production")
    recovery = production.recovery
    assert recovery.rto_minutes == 5 and recovery.rpo_minutes == 15
    assert recovery.worst_case_detection_seconds is not None and recovery.rto_met
    assert recovery.worst_case_rpo_minutes is not None and recovery.rpo_met


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
def test_no_secret_value_in_any_report(fmt, tmp_path):
    out = tmp_path / "report"
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--format", fmt, "--output", str(out)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    everything = out.read_text() + completed.stdout + completed.stderr
    if fmt == "text":
        # Each stack's recovery objectives beside the worst case its resources allow.
        assert "Recovery: RTO target 5 min, worst case 5 min (detect 240 s + reroute); RPO target 15 min" in everything
        assert "Recovery: RTO target 15 min" in everything
    assert SECRET_PLACEHOLDER_PREFIX not in everything
    for line in (ROOT / "Pulumi.production.yaml").read_text().splitlines():
        if "secure:" in line:
            assert line.split("secure:")[1].strip() not in everything
