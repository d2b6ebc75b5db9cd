"""Secrets hygiene past the laptop: every pull request runs the secret scan `make lint` runs and audits the locked
dependencies, in a job the production ruleset requires. Offline here, so the audit is proven to parse and to read
the lock file, not to reach the OSV database."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from tests.support.stacks import stack_config
from tests.support.workflows import load_all

ROOT = Path(__file__).resolve().parents[2]
HYGIENE_JOB = "hygiene"


def _make_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target, with the Makefile's variables as `make -n` expands them."""
    completed = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT, capture_output=True,
                               text=True, check=True)
    return [line for line in completed.stdout.splitlines() if line.strip()]


def _hygiene_job() -> dict:
    workflow = load_all()["pull-request.yml"]
    assert "pull_request" in workflow.triggers and "pull_request_target" not in workflow.triggers
    return dict(workflow.jobs())[HYGIENE_JOB]


def _runs(job: dict) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def test_the_pull_request_job_runs_the_same_secret_scan_as_make_lint():
    lint = [line for line in Path(ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
            .splitlines() if "scan_secrets" in line]
    assert lint and all(line.rstrip().endswith("python tools/scan_secrets.py") for line in lint)
    scans = [run for run in _runs(_hygiene_job()) if "tools/scan_secrets.py" in run]
    # Exactly the check mode: `--update` would rewrite the baseline and pass whatever it found.
    assert scans == [".venv/bin/python tools/scan_secrets.py"]


def test_the_pull_request_job_audits_the_lock_file_through_make():
    job = _hygiene_job()
    assert "make audit" in _runs(job)
    assert job["permissions"] == {"contents": "read"}  # forks run it too: nothing to write, no token to mint
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["persist-credentials"] is False
    audit = _make_recipe("audit")
    assert len(audit) == 1
    argv = shlex.split(audit[0])
    assert argv[:2] == [".bootstrap/bin/uv", "audit"]
    # --frozen: audit uv.lock as it is (never re-resolve to something else and judge that).
    assert "--frozen" in argv


def test_the_audit_command_parses_and_reads_the_lock_file():
    argv = shlex.split(_make_recipe("audit")[0])
    uv = ROOT / argv[0]
    assert uv.exists(), "run `make setup` first: the pinned uv is what CI runs"
    # --offline stops it right before the network: past argument parsing and the lock file, never a usage error.
    completed = subprocess.run([str(uv), *argv[1:], "--offline"], cwd=ROOT, capture_output=True, text=True,
                               timeout=120, check=False)
    assert "unexpected argument" not in completed.stderr and "Usage:" not in completed.stderr, completed.stderr
    assert "requires network access" in completed.stderr, completed.stderr
    broken = subprocess.run([str(uv), *argv[1:], "--no-such-flag", "--offline"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert "unexpected argument" in broken.stderr  # the check above can tell a bad command line apart


def test_production_ruleset_requires_the_hygiene_job():
    name = _hygiene_job()["name"]
    assert name in stack_config("production").github.required_status_checks
    # The name the ruleset waits for is the job's rendered check name: no expression in it.
    assert not re.search(r"\$\{\{", name)

