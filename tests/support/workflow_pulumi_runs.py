"""The steps of the workflows that run the Pulumi engine, each with the role assumed before it, and the contract
that `pulumi up` runs under a role able to do it (issue 11, deliverable 7), used by
tests/workflows/test_workflow_contracts.py like the checks of tests/support/workflow_contracts.py."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tests.support.stack_publications import Published, variable
from tests.support.workflow_contracts import job_environments
from tests.support.workflows import Problems, Step, Workflow
from tests.support.workflows import steps as all_steps

# ---- `pulumi up` runs under a role able to do it ---------------------------------------------------------------

@dataclass(frozen=True)
class PulumiRun:
    step: Step
    command: str  # up, preview, refresh, destroy
    role_variable: str | None  # vars.<NAME> of the role-to-assume in effect, None if no role is assumed first


def pulumi_runs(workflows: Mapping[str, Workflow]) -> Iterator[PulumiRun]:
    """Each step that runs the Pulumi engine, with the role assumed before it in its job (the last
    configure-aws-credentials step wins, as it overwrites the job's AWS environment)."""
    for step in all_steps(workflows):
        command = None
        if str(step.data.get("uses", "")).startswith("pulumi/actions@"):
            command = (step.data.get("with") or {}).get("command")
        elif match := re.search(r"(?:^|[\s;&|])pulumi\s+(up|preview|refresh|destroy)\b", str(step.data.get("run"))):
            command = match.group(1)
        if command is None:
            continue
        role = None
        for earlier in step.job["steps"][: step.index]:
            if str(earlier.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                found = re.search(r"vars\.(\w+)", str((earlier.get("with") or {}).get("role-to-assume", "")))
                role = found.group(1) if found else None
        yield PulumiRun(step, command, role)


def pulumi_up_role_problems(workflows: Mapping[str, Workflow], published: Mapping[str, Published]) -> Problems:
    """The hook for the infrastructure role: each `pulumi up` must assume a published role that is not the
    application deploy role (which by design cannot change the VPC, IAM, KMS, ELB, RDS, … a stack declares).
    The IAM contract test is where that role's policies are proven to cover the stack."""
    problems = Problems()
    for run in (r for r in pulumi_runs(workflows) if r.command == "up"):
        where = run.step.where(run.step.line_of("uses") or run.step.line_of("run"))
        if run.role_variable is None:
            problems.add(f"{where}: `pulumi up` runs without assuming a role first")
            continue
        environments = job_environments(workflows, run.step.workflow, run.step.job, list(published))
        for stack, p in published.items():
            arn = variable(p, environments.get(stack), run.role_variable)
            if arn is None:
                problems.add(f"{where}: stack {stack!r} does not publish vars.{run.role_variable}")
            elif arn == p.outputs["github"]["deployRoleArn"]:
                problems.add(f"{where}: `pulumi up` runs under vars.{run.role_variable}, the application deploy"
                             f" role of stack {stack!r} ({arn}), which cannot manage the stack's infrastructure")
    return problems
