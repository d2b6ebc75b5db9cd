"""Issue 11: a job whose `rampart` commands can run longer than one role session must let rampart refresh its
own credentials (RAMPART_ROLE_ARN, the same role the job assumed, and `id-token: write`); the credentials
aws-actions/configure-aws-credentials hands out end after `role-duration-seconds`, mid-deploy.

The worst case of each job's rampart steps comes from infra/timing.py, the same figures the job's
`timeout-minutes` is derived from; a job not in WORST_CASE that runs an AWS-calling command fails the test, so a
new job cannot slip past it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from components.github_oidc import MAX_SESSION_SECONDS
from infra import timing
from infra.config import StackConfig
from rampart.cli import COMMAND_MODULES
from tests.support.stacks import stack_config
from tests.support.workflows import Problems, Step, Workflow, load_all, mutated, rampart_invocations

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "production")
CONFIGURE = "aws-actions/configure-aws-credentials@"

# The commands that call AWS: the ones whose handler builds an Aws session.
AWS_COMMANDS = frozenset(
    name for name in COMMAND_MODULES if "Aws(" in (ROOT / "rampart" / "commands" / f"{name}.py").read_text()
)

# (workflow file, job) -> worst case of its rampart steps after the role is assumed, in seconds.
WORST_CASE: dict[tuple[str, str], Callable[[StackConfig], int]] = {
    ("deploy-stack.yml", "deploy"): lambda cfg: (
        timing.deploy_job_seconds(cfg) - timing.JOB_SETUP_SECONDS - timing.PULUMI_UP_SECONDS
    ),
    ("rollback.yml", "rollback"): lambda cfg: timing.rollback_job_seconds(cfg) - timing.JOB_SETUP_SECONDS,
    # `rampart metrics`: a few list calls per service and one GitHub page per deployment; minutes at most.
    ("metrics.yml", "metrics"): lambda cfg: 600,
    # `rampart restore --wait-timeout 3600`, then the hardening check and the discard: a few calls.
    ("restore-rehearsal.yml", "rehearse"): lambda cfg: 3600 + 300,
}


def _assumed_role(step: Step) -> tuple[str | None, int]:
    """The role-to-assume expression of the last configure-aws-credentials step before `step`, and its session."""
    role, seconds = None, 0
    for earlier in step.job["steps"][: step.index]:
        if str(earlier.get("uses", "")).startswith(CONFIGURE):
            given = earlier.get("with") or {}
            role = str(given.get("role-to-assume", "")).strip()
            seconds = min(int(given.get("role-duration-seconds", 3600)), MAX_SESSION_SECONDS)
    return role, seconds


def _compact(expression: object) -> str:
    return re.sub(r"\s+", "", str(expression))


def session_problems(workflows: Mapping[str, Workflow], configs: Mapping[str, StackConfig]) -> Problems:
    problems = Problems()
    for invocation in rampart_invocations(workflows):
        command = invocation.argv[0] if invocation.argv else ""
        if command not in AWS_COMMANDS:
            continue
        step = invocation.line.step
        where = invocation.line.where
        worst_case = WORST_CASE.get((step.workflow.name, step.job_name))
        if worst_case is None:
            problems.add(f"{where}: `rampart {command}` in a job with no worst case here: add it to WORST_CASE")
            continue
        role, session = _assumed_role(step)
        longest = max(worst_case(cfg) for cfg in configs.values())
        if role is None or longest <= session:
            continue
        env = {**(step.job.get("env") or {}), **(step.data.get("env") or {})}
        if _compact(env.get("RAMPART_ROLE_ARN")) != _compact(role):
            problems.add(
                f"{where}: `rampart {command}` can run {longest // 60} min, beyond the {session // 60}-min role "
                f"session, without RAMPART_ROLE_ARN: {role} in its env (rampart refreshes its own credentials)"
            )
        if (step.job.get("permissions") or {}).get("id-token") != "write":
            problems.add(f"{where}: RAMPART_ROLE_ARN needs `id-token: write` in the job's permissions")
    return problems


@pytest.fixture(scope="module")
def configs() -> dict[str, StackConfig]:
    return {stack: stack_config(stack) for stack in STACKS}


def test_rampart_outlives_the_role_session_in_every_shipped_job(configs):
    problems = session_problems(load_all(), configs)
    assert not problems, str(problems)


def test_the_deploy_loop_outlasts_one_session_in_production(configs):
    """Guards the test's premise: without it, the contract below would hold vacuously."""
    assert WORST_CASE[("deploy-stack.yml", "deploy")](configs["production"]) > MAX_SESSION_SECONDS


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("          RAMPART_ROLE_ARN: ${{ vars.RAMPART_DEPLOY_ROLE_ARN }}\n        run: |\n          python3",
         "        run: |\n          python3", "`rampart deploy` can run"),
        ("          RAMPART_ROLE_ARN: ${{ vars.RAMPART_DEPLOY_ROLE_ARN }}\n        run: |\n          python3",
         "          RAMPART_ROLE_ARN: ${{ vars.RAMPART_INFRA_ROLE_ARN }}\n        run: |\n          python3",
         "`rampart migrate` can run"),
        ("      id-token: write # OIDC token for the AWS role this job assumes",
         "      id-token: none", "needs `id-token: write`"),
    ],
    ids=["deploy-loop-without-role", "another-role", "no-id-token"],
)
def test_a_long_job_without_refreshable_credentials_fails(configs, old, new, expected):
    problems = session_problems(mutated("deploy-stack.yml", old, new), configs)
    assert expected in str(problems)


def test_an_unknown_job_running_an_aws_command_fails(configs):
    problems = session_problems(
        mutated("rollback.yml", "  rollback:\n", "  rollback-again:\n"), configs
    )
    assert "add it to WORST_CASE" in str(problems)
