"""The shipped workflows are part of the product: their hardening is pinned on the parsed YAML.

actionlint and zizmor lint the same files (`make lint`, and the test at the bottom); these tests hold the rules
those linters do not state as policy: least privilege per job, OIDC only where a role is assumed, SHA pins,
timeouts, one deploy per stack at a time, and no untrusted code with a privileged token.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
READ_ONLY = {"read", "none"}
ASSUMES_ROLE = "aws-actions/configure-aws-credentials@"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the `on` key as the boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def jobs(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return list(load(path)["jobs"].items())


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def test_the_four_product_workflows_exist():
    names = {p.stem for p in WORKFLOWS}
    assert {"pull-request", "deploy", "rollback", "drift"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_top_level_permissions_grant_nothing(path):
    assert load(path).get("permissions") == {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout(path):
    for name, job in jobs(path):
        if "uses" in job:  # a reusable-workflow call: the called jobs carry their own timeouts
            continue
        timeout = job.get("timeout-minutes")
        # A literal, or an expression over a variable the stack derives (tests/workflows/test_workflow_timeouts.py
        # proves it covers the job's worst case) with a literal fallback for a stack that has not published it.
        derived = isinstance(timeout, str) and timeout.startswith("${{ fromJSON(vars[") and "|| '" in timeout
        assert isinstance(timeout, int) or derived, f"{path.name}:{name} has no bounded timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_id_token_only_on_jobs_that_assume_a_role(path):
    for name, job in jobs(path):
        permissions = job.get("permissions", {})
        assumes = any(str(s.get("uses", "")).startswith(ASSUMES_ROLE) for s in steps(job))
        calls_deploy = str(job.get("uses", "")).endswith("/deploy-stack.yml")
        if permissions.get("id-token") == "write":
            assert assumes or calls_deploy, f"{path.name}:{name} asks for id-token without assuming a role"
        if assumes:
            assert permissions.get("id-token") == "write", f"{path.name}:{name} assumes a role without OIDC"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_write_permissions_are_only_the_ones_each_job_needs(path):
    allowed_writes = {"id-token", "security-events", "pull-requests", "issues"}
    for name, job in jobs(path):
        for scope, level in job.get("permissions", {}).items():
            assert level in READ_ONLY or scope in allowed_writes, f"{path.name}:{name} writes {scope}"
            assert scope != "contents" or level == "read", f"{path.name}:{name} writes repository contents"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_full_commit_sha(path):
    for name, job in jobs(path):
        for step in steps(job):
            uses = step.get("uses")
            if uses and not uses.startswith(("./", "$/")):
                assert SHA_PIN.match(uses), f"{path.name}:{name} uses {uses} without a full commit SHA"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_persist_the_token(path):
    for name, job in jobs(path):
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}:{name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target(path):
    assert "pull_request_target" not in (load(path)["on"] or {})


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts_never_interpolate_untrusted_expressions(path):
    # Inputs and event fields reach scripts through env, never spliced into shell text.
    for name, job in jobs(path):
        for step in steps(job):
            script = step.get("run", "")
            assert "${{" not in script, f"{path.name}:{name} interpolates an expression into a script"


def environment_jobs():
    for path in WORKFLOWS:
        for name, job in jobs(path):
            if "environment" in job:
                yield pytest.param(path, name, job, id=f"{path.name}:{name}")


@pytest.mark.parametrize(("path", "name", "job"), list(environment_jobs()))
def test_one_deploy_per_environment_at_a_time(path, name, job):
    concurrency = job.get("concurrency")
    assert isinstance(concurrency, dict), f"{path.name}:{name} deploys without a concurrency group"
    # One deploy per stack at a time; a rollback has its own group so it never queues behind the deploy it stops.
    prefix = "rollback-" if path.name == "rollback.yml" else "deploy-"
    # restore-rehearsal.yml queues in the deploy group of its matrix's stack: never a restore during a deploy.
    stack = "matrix.stack" if path.name == "restore-rehearsal.yml" else "inputs.stack"
    assert concurrency["group"].startswith(prefix) and stack in concurrency["group"]
    assert concurrency.get("cancel-in-progress") is False, "cancelling a deploy midway strands a traffic shift"
    assert stack in str(job["environment"])


def test_a_rollback_never_waits_for_the_deployment_it_stops():
    deploy = dict(jobs(WORKFLOW_DIR / "deploy-stack.yml"))["deploy"]
    rollback = dict(jobs(WORKFLOW_DIR / "rollback.yml"))["rollback"]
    assert deploy["concurrency"]["group"] != rollback["concurrency"]["group"]
    # Its own environment: no wait timer, and the rollback role is trusted there only.
    assert rollback["environment"] == "${{ inputs.stack }}-rollback"


def test_production_deploys_only_after_staging():
    deploy = dict(jobs(WORKFLOW_DIR / "deploy.yml"))
    assert deploy["production"]["needs"] == "staging"
    assert deploy["production"]["with"]["stack"] == "production"


def test_pull_request_check_runs_for_forks_and_preview_only_for_same_repository():
    workflow = dict(jobs(WORKFLOW_DIR / "pull-request.yml"))
    assert "if" not in workflow["check"], "the offline gate must run on every pull request, forks included"
    assert "secrets." not in yaml.safe_dump(workflow["check"])
    assert workflow["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert workflow["check"]["name"] == "rampart check"  # the required status check the ruleset names


def test_deploy_refreshes_and_applies_the_policy_pack():
    [(_, job)] = jobs(WORKFLOW_DIR / "deploy-stack.yml")
    [up] = [s for s in steps(job) if s.get("with", {}).get("command") == "up"]
    assert up["with"]["refresh"] is True
    assert up["with"]["policyPacks"] == "policies"
    assert up["with"]["policyPackConfigs"] == "policies/config/${{ inputs.stack }}.json"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in the project environment (make setup installs it)")
    return found


def test_actionlint_finds_nothing():
    result = subprocess.run([_tool("actionlint"), "-no-color"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    result = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", str(WORKFLOW_DIR)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_ships_the_revision_pulumi_just_registered():
    [(_, job)] = jobs(WORKFLOW_DIR / "deploy-stack.yml")
    script = "\n".join(s.get("run", "") for s in steps(job))
    joined = script.replace("\\\n", " ")
    registered = [line for line in joined.splitlines() if "rampart deploy" in line and "--register-only" in line]
    deploy_lines = [line for line in joined.splitlines() if "rampart deploy" in line and line not in registered]
    migrate_lines = [line for line in joined.splitlines() if "rampart migrate" in line]
    assert deploy_lines and all('--task-definition "$revision"' in line for line in deploy_lines)
    assert migrate_lines and all('--task-definition "$revision"' in line for line in migrate_lines)
    # The image built from the commit lands on top of that revision, which the migration then runs from.
    assert all('--from-task-definition "$revision"' in line for line in registered)
    assert '["taskDefinitionArn"]' in script
    # Order: snapshot, the built image registered, migrations, the traffic shift, verify.
    order = [script.index(word) for word in ("rampart snapshot", "--register-only", "rampart migrate",
                                             "--smoke-url", "rampart verify")]
    assert order == sorted(order)
    # Green is smoke-tested on the test listener before production traffic moves.
    assert all("--smoke-url" in line for line in deploy_lines)


def test_rollback_names_everything_it_needs_without_a_stack_outputs_file():
    # A rollback runs from a bare checkout: every name comes from RAMPART_SERVICES and RAMPART_CLUSTER, passed
    # straight through to `rampart rollback`, which picks and verifies the target itself.
    [(_, job)] = jobs(WORKFLOW_DIR / "rollback.yml")
    script = "\n".join(s.get("run", "") for s in steps(job)).replace("\\\n", " ")
    [rollback] = [line for line in script.splitlines() if "rampart rollback" in line]
    for flag in ("--stack", "--service", "--reason", "--cluster", "--services-json"):
        assert f"{flag} " in rollback, flag
    assert "--outputs" not in rollback and "rampart deploy" not in script and "aws " not in script
