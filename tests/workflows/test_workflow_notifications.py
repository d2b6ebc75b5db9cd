"""Every failure path of the pipeline notifies (issue 13.3): for each step that runs `pulumi up`, a snapshot, a
migration, a deploy (with its smoke gate), verify or a rollback, a `rampart notify` runs after it even when it
fails, its flags parse against the real CLI, and the role it publishes under may publish to the stack's topic."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from rampart.cli import build_parser
from tests.support.iam import Request, assert_role_allows, denied, role_policies
from tests.support.stacks import record_stack
from tests.support.workflows import (
    Problems,
    Step,
    Workflow,
    load_all,
    mutated,
    parse_error,
    script_lines,
    simple_commands,
    steps,
)

PIPELINE = re.compile(r"\brampart (snapshot|migrate|deploy|verify|rollback)\b")
"""Commands whose failure must reach chat (a `pulumi up` step is recognised by its action, below)."""
ROLE_VARIABLES = {"RAMPART_DEPLOY_ROLE_ARN": "-github-deploy", "RAMPART_ROLLBACK_ROLE_ARN": "-github-rollback"}
WORKFLOWS = ("deploy-stack.yml", "rollback.yml")


def _notifies(step: Step) -> list[list[str]]:
    return [words[1:] for line in script_lines(step) for words in simple_commands(line.text)
            if words[:2] == ["rampart", "notify"]]


def _runs_on_failure(step: Step) -> bool:
    condition = str(step.data.get("if", ""))
    return "always()" in condition or "failure()" in condition


def _is_pipeline_step(step: Step) -> bool:
    uses, command = str(step.data.get("uses", "")), str((step.data.get("with") or {}).get("command", ""))
    return (uses.startswith("pulumi/actions@") and command == "up") or bool(PIPELINE.search(str(step.data.get("run"))))


def notify_problems(workflows: Mapping[str, Workflow]) -> Problems:
    problems = Problems()
    for name in WORKFLOWS:
        job_steps = [s for s in steps({name: workflows[name]})]
        for index, step in enumerate(job_steps):
            if not _is_pipeline_step(step):
                continue
            later = [s for s in job_steps[index + 1:] if s.job_name == step.job_name and _runs_on_failure(s)
                     and any("--outcome" in argv for argv in _notifies(s))]
            if not later:
                problems.add(f"{step.where()}: no `rampart notify` runs after it when it fails (if: always() or "
                             "failure())")
            for notify in later:
                env = notify.data.get("env") or {}
                outcome = str(env.get("OUTCOME", ""))
                if "job.status" not in outcome:
                    problems.add(f"{notify.where()}: the outcome must come from job.status, got {outcome!r}")
                if not any(f"vars.{v}" in str(env.get("RAMPART_ROLE_ARN", "")) for v in ROLE_VARIABLES):
                    problems.add(f"{notify.where()}: RAMPART_ROLE_ARN must name the deploy or rollback role")
                failed_step = str(env.get("FAILED_STEP", f"steps.{step.data.get('id')}.outcome"))
                if step.data.get("id") and f"steps.{step.data['id']}.outcome" not in failed_step:
                    problems.add(f"{notify.where()}: FAILED_STEP does not name step id {step.data['id']!r}")
            if "id-token" not in (step.job.get("permissions") or {}):
                problems.add(f"{step.where()}: the job needs id-token: write for the notify role")
    return problems


@pytest.fixture(scope="module")
def workflows() -> dict[str, Workflow]:
    return load_all()


def test_every_pipeline_step_notifies_when_it_fails(workflows):
    assert not notify_problems(workflows), str(notify_problems(workflows))


def test_the_check_sees_every_pipeline_step(workflows):
    found = {(s.workflow.name, s.data.get("id") or s.label) for n in WORKFLOWS for s in steps({n: workflows[n]})
             if _is_pipeline_step(s)}
    assert {("deploy-stack.yml", i) for i in ("up", "snapshot", "release", "verify")} <= found
    assert any(w == "rollback.yml" for w, _ in found)


@pytest.mark.parametrize("name, old, new, expected", [
    ("deploy-stack.yml", "      - name: Notify the outcome\n        if: always()\n",
     "      - name: Notify the outcome\n", "no `rampart notify` runs after it"),
    ("rollback.yml", "      - name: Notify the outcome\n        if: always()\n",
     "      - name: Notify the outcome\n        if: success()\n", "no `rampart notify` runs after it"),
    ("deploy-stack.yml", "steps.snapshot.outcome == 'failure' && 'snapshot'", "false && 'snapshot'",
     "FAILED_STEP does not name step id 'snapshot'"),
    ("rollback.yml", "          OUTCOME: ${{ job.status }}\n", "          OUTCOME: success\n", "job.status"),
])
def test_a_failure_path_without_a_notification_is_reported(name, old, new, expected):
    assert expected in str(notify_problems(mutated(name, old, new)))


def test_a_failed_migration_or_deploy_names_its_service_and_revision(workflows):
    deploy_stack = {"deploy-stack.yml": workflows["deploy-stack.yml"]}
    (release,) = [s for s in steps(deploy_stack) if s.data.get("id") == "release"]
    failures = [argv for argv in _notifies(release) if argv[argv.index("--outcome") + 1] == "failure"]
    assert {argv[argv.index("--step") + 1] for argv in failures} == {"migrate", "deploy"}
    assert all("--service" in argv and "--revision" in argv for argv in failures)


def test_every_notify_line_parses_with_the_real_cli(workflows):
    parser = build_parser()
    argvs = [argv for n in WORKFLOWS for s in steps({n: workflows[n]}) for argv in _notifies(s)]
    assert len(argvs) >= 6
    errors = [(argv, parse_error(parser, argv)) for argv in argvs]
    assert not [e for e in errors if e[1]], errors


@pytest.mark.parametrize("role", sorted(set(ROLE_VARIABLES.values())))
def test_the_role_a_notify_step_names_may_publish_to_the_stacks_topic_and_no_other(role):
    recording = record_stack("production")
    topic = recording.outputs["notificationTopicArn"]
    policies = role_policies(recording, role)
    assert_role_allows(policies, [Request("sns:Publish", topic)], role=f"production *{role}")
    other = topic.rsplit(":", 1)[0] + ":someone-elses-topic"
    assert denied(policies, [Request("sns:Publish", other)]), f"*{role} may publish to any topic"
