"""Each job's `timeout-minutes` covers the worst case of what it runs, as infra/timing.py derives it per stack.

A timeout is either a literal, or `${{ fromJSON(vars[format('<NAME>_{0}', inputs.stack)] || '<fallback>') }}` /
`${{ fromJSON(vars.<NAME> || '<fallback>') }}` of a repository variable the stack publishes (taken from the
recorded registrations, not retyped). Environment variables read empty where GitHub evaluates timeout-minutes
(before the job enters its environment), so a timeout read from one would silently be no timeout at all.
The commands the deploy job runs must also fit the budget the function gives them.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from infra import outputs, timing
from infra.config import StackConfig
from rampart.cli import build_parser
from tests.support.stack_publications import Published, published_by, variable
from tests.support.stacks import STACKS, stack_config
from tests.support.workflows import PLACEHOLDER, Workflow, load_all, mutated, rampart_invocations

# (workflow, job) -> its worst case in seconds for one stack.
WORST_CASE: dict[tuple[str, str], Callable[[StackConfig], int]] = {
    ("deploy-stack.yml", "deploy"): timing.deploy_job_seconds,
    ("rollback.yml", "rollback"): timing.rollback_job_seconds,
}
_FROM_VARIABLE = re.compile(
    r"^\$\{\{\s*fromJSON\(\s*vars(?:\.([A-Z0-9_]+)|\[format\('([A-Z0-9_]+)_\{0\}',\s*inputs\.stack\)\])"
    r"\s*(?:\|\|\s*'(\d+)'\s*)?\)\s*\}\}$"
)


@functools.cache
def published(stack: str) -> Published:
    return published_by(stack)


def timeout_problems(workflows: Mapping[str, Workflow], stack: str, publisher=published) -> list[str]:
    """Why a job's timeout-minutes could fire before the worst case of what it runs in `stack`."""
    cfg = stack_config(stack)
    problems: list[str] = []
    for (name, job_name), worst_case in WORST_CASE.items():
        job = dict(workflows[name].jobs())[job_name]
        needed = math.ceil(worst_case(cfg) / 60)
        where = f"{name}: job {job_name!r} in {stack}"
        for source, minutes in _timeout_minutes(job.get("timeout-minutes"), stack, publisher):
            if minutes is None:
                problems.append(f"{where}: timeout-minutes {source} is not published by the stack")
            elif minutes < needed:
                problems.append(f"{where}: timeout-minutes {source} = {minutes} < worst case {needed}")
    return problems


def _timeout_minutes(value: Any, stack: str, publisher) -> list[tuple[str, int | None]]:
    """Every value the timeout can take: a literal; or the variable (and its fallback while unpublished)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [("literal", value)]
    match = _FROM_VARIABLE.match(str(value or "").strip())
    if not match:
        return [(f"{value!r} (expected a literal or fromJSON of a published variable)", None)]
    plain, per_stack, fallback = match.groups()
    if per_stack:
        name, fmt = outputs.repository_variable(per_stack + "_{STACK}", stack), per_stack + "_{STACK}"
    else:
        name, fmt = plain, plain
    found: list[tuple[str, int | None]] = []
    if fmt not in outputs.GITHUB_REPOSITORY_VARIABLE_FORMATS:
        found.append((f"vars.{name} (not a repository variable: it reads empty at timeout-minutes)", None))
    held = variable(publisher(stack), None, name)
    found.append((f"vars.{name}", int(held) if held is not None else None))
    if fallback is not None:
        found.append((f"fallback of vars.{name}", int(fallback)))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_job_timeout_covers_its_worst_case(stack):
    assert timeout_problems(load_all(), stack) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_published_timeout_is_the_derived_one(stack):
    name = outputs.repository_variable("RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_{STACK}", stack)
    assert variable(published(stack), None, name) == str(timing.deploy_job_minutes(stack_config(stack)))


@pytest.mark.parametrize(("old", "new", "problem"), [
    # The timeout before it was derived: two production services one after the other did not fit.
    ("timeout-minutes: ${{ fromJSON(vars[format('RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_{0}', inputs.stack)] || '360') }}",
     "timeout-minutes: 120", "timeout-minutes literal = 120 < worst case"),
    # An environment variable reads empty where timeout-minutes is evaluated.
    ("vars[format('RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_{0}', inputs.stack)]", "vars.RAMPART_SERVICES",
     "not a repository variable"),
    ("|| '360'", "|| '30'", "fallback of vars.RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_PRODUCTION = 30"),
])
def test_a_timeout_that_does_not_hold_is_found(old, new, problem):
    problems = timeout_problems(mutated("deploy-stack.yml", old, new), "production")
    assert any(problem in p for p in problems), problems


def test_an_unpublished_variable_is_found():
    def nothing_published(stack: str) -> Published:
        return Published(environments={}, repository={}, outputs={})

    problems = timeout_problems(load_all(), "production", publisher=nothing_published)
    assert any("is not published by the stack" in p for p in problems), problems


def test_a_longer_deployment_raises_the_derived_timeout():
    cfg = stack_config("production")
    longer = cfg.model_copy(update={"deployment": cfg.deployment.model_copy(update={"ready_wait_minutes": 60})})
    assert timing.deploy_job_minutes(longer) == timing.deploy_job_minutes(cfg) + 2 * 30  # two services


def test_the_deploy_job_commands_fit_their_budgets():
    """What the job runs is what the budget assumes: the snapshot and migration waits, and `rampart deploy`
    taking its default --timeout (the derived untilShiftedSeconds) from the outputs file."""
    parser = build_parser()
    defaults = {}
    for invocation in rampart_invocations({"deploy-stack.yml": load_all()["deploy-stack.yml"]}):
        argv = invocation.argv
        sub = argv[0]
        if sub == "deploy":
            assert "--outputs" in argv and "--timeout" not in argv, argv
        if sub in ("snapshot", "migrate"):
            flag = "--wait-timeout" if sub == "snapshot" else "--timeout"
            value = argv[argv.index(flag) + 1] if flag in argv else None
            assert value != PLACEHOLDER, f"rampart {sub} {flag}: a runtime value the budget cannot see"
            parsed = parser.parse_args([sub, *([flag, value] if value else []), *_required(sub)])
            defaults[sub] = getattr(parsed, flag.removeprefix("--").replace("-", "_"))
    assert defaults["snapshot"] * 2 <= timing.SNAPSHOT_SECONDS  # instance available, then the snapshot
    assert defaults.get("migrate", parser.parse_args(["migrate", *_required("migrate")]).timeout) <= (
        timing.MIGRATION_SECONDS)


def _required(sub: str) -> list[str]:
    return {"snapshot": [], "migrate": ["--service", "api", "--command", "true"]}[sub]
