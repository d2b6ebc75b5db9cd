"""The workflows hold to the parts they drive: each `uses:` resolves, each reusable call passes what the callee
declares within the permissions it grants, each `rampart` command line parses with the real CLI parser, each
variable, environment variable and JSON field a script reads is published or defined, and `pulumi up` runs under a
role able to do it. Every contract has a test that changes one side in memory and sees the check report it.

The checks live in tests/support/workflow_contracts.py and workflow_pulumi_runs.py, on what
tests/support/stack_publications.py reads from the recorded stacks; test_workflow_variables.py pins the variable
names to infra/outputs.py, while the checks here hold the workflows to what the recorded stacks really publish.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from rampart.cli import build_parser
from tests.support import workflow_contracts as contracts
from tests.support.stack_publications import Published, published_by
from tests.support.stacks import STACKS
from tests.support.workflow_pulumi_runs import pulumi_runs, pulumi_up_role_problems
from tests.support.workflows import WORKFLOW_DIR, load_all, mutated

DEPLOY_STEP = ("deploy-stack.yml: job 'deploy', step 'Migrations, then blue/green deploy gated by a smoke test on"
               " green, per service'")


def line_of(name: str, fragment: str, nth: int = 0) -> int:
    """1-based line of the nth line holding `fragment` (computed, so others' edits above it keep tests valid)."""
    lines = (WORKFLOW_DIR / name).read_text().splitlines()
    return [number for number, text in enumerate(lines, 1) if fragment in text][nth]


# Lines the messages must name, found by content so edits elsewhere in a workflow keep these tests valid.
STAGING_USES = line_of("deploy.yml", "uses: ./", 1)  # after dev's
PRODUCTION_USES = line_of("deploy.yml", "uses: ./", 2)
DEPLOY = line_of("deploy-stack.yml", "rampart deploy", 1)  # the shipping one: the first registers the built image
SNAPSHOT = line_of("deploy-stack.yml", "rampart snapshot")
ROLLBACK_RAMPART = line_of("rollback.yml", "rampart rollback")
DRIFT_REGION = line_of("drift.yml", "RAMPART_AWS_REGION_")
ROLLBACK_CLUSTER = line_of("rollback.yml", "vars.RAMPART_CLUSTER")
DRIFT_BODY = line_of("drift.yml", "found changes in")
INSTANCE_ID = line_of("deploy-stack.yml", "instanceIdentifier")
HEALTH = line_of("deploy-stack.yml", "healthCheckPath")
REVISION = line_of("deploy-stack.yml", "taskDefinitionArn")


@pytest.fixture(scope="module")
def published() -> dict[str, Published]:
    return {stack: published_by(stack) for stack in STACKS}


@pytest.fixture(scope="module")
def workflows():
    return load_all()


def changed(published, stack: str, **sections) -> dict[str, Published]:
    """What the stacks publish, with sections of one stack replaced (the stack side of a contract changing)."""
    return {**published, stack: replace(published[stack], **sections)}


def with_variable(published, stack: str, environment: str, name: str, value=None) -> dict[str, Published]:
    """One environment variable of one stack set (or, with value None, no longer published)."""
    environments = copy.deepcopy(published[stack].environments)
    environments.setdefault(environment, {}).pop(name, None)
    if value is not None:
        environments[environment][name] = value
    return changed(published, stack, environments=environments)


# Reads RAMPART_SERVICES as the rollback job once did: the JSON-read extraction must follow the shell function.
SERVICES_READER = """on:
  workflow_dispatch:
    inputs:
      stack: {type: choice, options: [dev, staging, production]}
      service: {type: string}
jobs:
  read:
    runs-on: ubuntu-24.04
    environment: ${{ inputs.stack }}
    env:
      SERVICES: ${{ vars.RAMPART_SERVICES }}
      SERVICE: ${{ inputs.service }}
    steps:
      - run: |
          @FIELD@
          echo "$(field service) $(field deploymentGroup)" "$(field containerPort)"
""".replace("@FIELD@", "field() { python3 -c 'import json,os,sys; print(json.loads(os.environ[\"SERVICES\"])"
                       "[os.environ[\"SERVICE\"]][sys.argv[1]])' \"$1\"; }")
FIELD = 15  # the `field() {` line of SERVICES_READER


# ---- uses ------------------------------------------------------------------------------------------------------

def test_every_uses_resolves_to_an_existing_callable_workflow_or_a_pinned_action(workflows):
    problems = contracts.uses_problems(workflows)
    assert not problems, str(problems)


@pytest.mark.parametrize(("edit", "expected"), [
    (("deploy.yml", "./.github/workflows/deploy-stack.yml", "$//.github/workflows/deploy-stack.yml"),
     f"deploy.yml: job 'staging', line {STAGING_USES}: uses '$//.github/workflows/deploy-stack.yml': a reusable"),
    (("deploy.yml", "./.github/workflows/deploy-stack.yml", ".github/workflows/deploy-stack.yml"),
     f"line {PRODUCTION_USES}: uses '.github/workflows/deploy-stack.yml': a reusable workflow is"),
    (("deploy.yml", "./.github/workflows/deploy-stack.yml", "./.github/workflows/deploy-stacks.yml"),
     "no such workflow"),
    (("deploy-stack.yml", "  workflow_call:", "  workflow_dispatch:"), "deploy-stack.yml has no `on: workflow_call`"),
    (("pull-request.yml", "@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2", "@v4"),
     "'actions/upload-artifact@v4' is not pinned to a full 40-hex commit SHA"),
    (("pull-request.yml", "@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2",
      "@ea165f8d65b6e75b540449e92b4886f43607fa02"), "has no `# vX.Y.Z` comment"),
])
def test_uses_contract_reports_a_broken_reference(edit, expected):
    assert expected in str(contracts.uses_problems(mutated(*edit)))


def test_the_self_repository_form_of_a_local_call_resolves_too():
    # `$/` is github.com's newer self-repository form; the workflows use `./`, which every GitHub resolves.
    assert not contracts.uses_problems(mutated("deploy.yml", "./.github/workflows/", "$/.github/workflows/"))


# ---- reusable workflow calls -------------------------------------------------------------------------------------

def test_reusable_workflow_calls_pass_the_declared_inputs_within_the_granted_permissions(workflows):
    problems = contracts.call_problems(workflows)
    assert not problems, str(problems)


@pytest.mark.parametrize(("edit", "expected"), [
    (("deploy.yml", "stack: staging", "stacks: staging"), "passes input 'stacks', which the callee does not declare"),
    (("deploy.yml", "stack: staging", "stacks: staging"), "job 'staging' calling deploy-stack.yml: does not pass"
                                                          " required input 'stack'"),
    (("deploy.yml", "stack: production", "stack: true"), "input 'stack' is declared string, got bool True"),
    (("deploy-stack.yml", "        type: string\n", "        type: string\n      region:\n        required: true\n"),
     "does not pass required input 'region'"),
    (("deploy.yml", "      id-token: write # OIDC token for the AWS role this job assumes\n", ""),
     "job 'deploy' needs `id-token: write`, the caller grants none"),
    (("deploy-stack.yml", "contents: read # check out", "contents: write # check out"),
     "needs `contents: write`, the caller grants read"),
])
def test_call_contract_reports_an_input_or_permission_mismatch(edit, expected):
    assert expected in str(contracts.call_problems(mutated(*edit)))


# ---- rampart command lines ---------------------------------------------------------------------------------------

def test_every_rampart_invocation_parses_with_the_real_cli_parser(workflows):
    problems = contracts.cli_problems(workflows)
    assert not problems, str(problems)


def test_the_extraction_finds_every_rampart_command_the_workflows_run(workflows):
    from tests.support.workflows import rampart_invocations

    found = {(i.line.step.workflow.name, i.argv[0]) for i in rampart_invocations(workflows)}
    assert {("deploy-stack.yml", c) for c in ("check", "snapshot", "migrate", "deploy", "verify")} <= found
    assert {("pull-request.yml", "check"), ("rollback.yml", "rollback")} <= found


def test_a_renamed_flag_in_a_workflow_fails_with_workflow_job_step_and_line():
    problems = str(contracts.cli_problems(mutated("deploy-stack.yml", '--smoke-url "$url"', '--smoke-urls "$url"')))
    assert f"{DEPLOY_STEP}, line {DEPLOY}: `rampart deploy" in problems
    assert "unrecognized arguments: --smoke-urls" in problems


def test_a_value_of_the_wrong_kind_fails():
    problems = str(contracts.cli_problems(mutated("deploy-stack.yml", "--keep 10", "--keep ten")))
    assert f"step 'Pre-deploy database snapshot', line {SNAPSHOT}" in problems
    assert "invalid int value: 'ten'" in problems


def _subparser(parser, name: str):
    return next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices[name]


def test_a_flag_renamed_in_the_cli_fails(workflows):
    parser = build_parser()
    snapshot = _subparser(parser, "snapshot")
    action = snapshot._option_string_actions.pop("--keep")
    action.option_strings = ["--retain"]
    snapshot._option_string_actions["--retain"] = action
    problems = str(contracts.cli_problems(workflows, parser))
    assert f"step 'Pre-deploy database snapshot', line {SNAPSHOT}: `rampart snapshot" in problems
    assert "unrecognized arguments: --keep" in problems


def test_a_new_required_flag_in_the_cli_fails(workflows):
    parser = build_parser()
    _subparser(parser, "deploy").add_argument("--approval", required=True)
    problems = str(contracts.cli_problems(workflows, parser))
    assert f"{DEPLOY_STEP}, line {DEPLOY}" in problems
    assert "the following arguments are required: --approval" in problems


def test_a_bare_rampart_needs_the_environment_on_the_path():
    problems = str(contracts.cli_problems(mutated("rollback.yml", 'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"', "true")))
    assert f"rollback.yml: job 'rollback', step 'Roll back', line {ROLLBACK_RAMPART}: bare `rampart`" in problems


# ---- GitHub variables ----------------------------------------------------------------------------------------

def test_every_variable_a_job_reads_is_published_in_a_scope_it_can_see(workflows, published):
    problems = contracts.variable_problems(workflows, published)
    assert not problems, str(problems)


def test_an_environment_variable_read_outside_an_environment_fails(published):
    edited = mutated("drift.yml", "vars[format('RAMPART_AWS_REGION_{0}', matrix.suffix)]", "vars.AWS_REGION")
    problems = str(contracts.variable_problems(edited, published))
    assert f"drift.yml: job 'drift', line {DRIFT_REGION}: reads vars.AWS_REGION" in problems
    assert "(outside any environment) the repository" in problems


def test_a_matrix_entry_must_read_its_own_stacks_variable(published):
    problems = str(contracts.variable_problems(mutated("drift.yml", "suffix: PRODUCTION", "suffix: PROD"), published))
    assert "reads vars.RAMPART_PREVIEW_ROLE_ARN_PROD, which stack 'production' does not publish" in problems


def test_a_variable_the_stack_stops_publishing_fails(workflows, published):
    edited = with_variable(published, "production", "production-rollback", "RAMPART_CLUSTER")
    problems = str(contracts.variable_problems(workflows, edited))
    expected = f"rollback.yml: job 'rollback', line {ROLLBACK_CLUSTER}: reads vars.RAMPART_CLUSTER, which stack"
    assert f"{expected} 'production' does not publish in environment 'production-rollback'" in problems


def test_a_job_in_another_environment_sees_only_that_environments_variables(published):
    edited = mutated("rollback.yml", "environment: ${{ inputs.stack }}-rollback", "environment: ${{ inputs.stack }}")
    problems = str(contracts.variable_problems(edited, published))
    assert "reads vars.RAMPART_ROLLBACK_ROLE_ARN, which stack 'staging' does not publish in environment 'staging'" in (
        problems)


# ---- environment variables in scripts -------------------------------------------------------------------------

def test_every_environment_variable_a_script_reads_is_defined(workflows):
    problems = contracts.env_problems(workflows)
    assert not problems, str(problems)


@pytest.mark.parametrize(("edit", "expected"), [
    (("drift.yml", "RUN_URL: ${{", "RUN_LINK: ${{"),
     f"step 'Open or update the drift issue', line {DRIFT_BODY}: reads $RUN_URL"),
    (("deploy-stack.yml", 'db="$(', 'database="$('),
     f"step 'Pre-deploy database snapshot', line {SNAPSHOT}: reads $db"),
])
def test_an_undefined_environment_variable_fails(edit, expected):
    assert expected in str(contracts.env_problems(mutated(*edit)))


def test_python_reads_only_exported_variables():
    assert not contracts.env_problems(load_all({"synthetic.yml": SERVICES_READER}))
    unexported = SERVICES_READER.replace("      SERVICES: ${{", "      SERVICE_MAP: ${{")
    problems = str(contracts.env_problems(load_all({"synthetic.yml": unexported})))
    assert f"synthetic.yml: job 'read', step 'step 1', line {FIELD}: python reads os.environ['SERVICES']" in problems


def test_github_env_defines_variables_only_for_later_steps():
    def workflow(first: str, second: str) -> str:
        return (f"on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: {first}\n"
                f"      - run: {second}\n")

    write, read = """echo "FOO=1" >> "$GITHUB_ENV\"""", 'echo "$FOO"'
    assert not contracts.env_problems(load_all({"synthetic.yml": workflow(write, read)}))
    assert "synthetic.yml: job 'j', step 'step 1', line 6: reads $FOO" in str(
        contracts.env_problems(load_all({"synthetic.yml": workflow(read, write)})))


# ---- JSON fields read from the stack outputs and from RAMPART_SERVICES -------------------------------------------

def test_every_json_field_a_script_reads_is_published_by_every_stack(workflows, published):
    problems = contracts.json_problems(workflows, published)
    assert not problems, str(problems)


def test_the_extraction_finds_the_json_reads_generically(workflows):
    from tests.support.workflow_scripts import json_reads

    paths = {(r.source, r.path) for r in json_reads(workflows)}
    assert ("env:OUTPUTS", ("database", "instanceIdentifier")) in paths
    assert ("env:OUTPUTS", ("services", "*", "taskDefinitionArn")) in paths
    assert ("env:OUTPUTS", ("loadBalancerDnsName",)) in paths  # through `o=json.load(…)` and `s=o[…]`
    assert ("env:OUTPUTS", ("services", "*", "healthCheckPath")) in paths  # `.get(key, default)` too
    # A `field NAME` shell function: one read per call, each with its literal argument.
    reads = {r.path for r in json_reads(load_all({"synthetic.yml": SERVICES_READER})) if r.source == "env:SERVICES"}
    assert {path[1] for path in reads if len(path) == 2} == {"service", "deploymentGroup", "containerPort"}


@pytest.mark.parametrize(("edit", "expected"), [
    (("deploy-stack.yml", '["instanceIdentifier"]', '["instanceId"]'),
     f"line {INSTANCE_ID}: reads env:OUTPUTS['database']['instanceId']; in stack 'production' ['database'] has"
     " no 'instanceId'"),
    (("deploy-stack.yml", '.get("healthCheckPath", "/")', '.get("healthPath", "/")'),
     f"{DEPLOY_STEP}, line {HEALTH}: reads env:OUTPUTS['services']['*']['healthPath']"),
    (("deploy-stack.yml", """["instanceIdentifier"])' "$OUTPUTS\"""", """["instanceIdentifier"])' "$DB_JSON\""""),
     "reads JSON from env:DB_JSON, which is neither a published variable nor the stack outputs file"),
])
def test_a_json_field_the_workflow_renames_fails(edit, expected, published):
    assert expected in str(contracts.json_problems(mutated(*edit), published))


def test_a_field_read_from_a_published_variable_is_checked(published):
    assert not contracts.json_problems(load_all({"synthetic.yml": SERVICES_READER}), published)
    renamed = load_all({"synthetic.yml": SERVICES_READER.replace("$(field containerPort)", "$(field port)")})
    problems = str(contracts.json_problems(renamed, published))
    assert f"synthetic.yml: job 'read', step 'step 1', line {FIELD}: reads env:SERVICES['*']['port']" in problems


def test_a_json_field_the_stack_stops_publishing_fails(workflows, published):
    outputs = copy.deepcopy(published["staging"].outputs)
    for service in outputs["services"].values():
        del service["taskDefinitionArn"]
    problems = str(contracts.json_problems(workflows, changed(published, "staging", outputs=outputs)))
    assert f"line {REVISION}: reads env:OUTPUTS['services']['*']['taskDefinitionArn']; in stack 'staging'" in problems
    assert "in stack 'production'" not in problems
    services = {name: {k: v for k, v in entry.items() if k != "containerPort"} for name, entry in
                json.loads(published["staging"].environments["staging"]["RAMPART_SERVICES"]).items()}
    edited = with_variable(published, "staging", "staging", "RAMPART_SERVICES", json.dumps(services))
    problems = str(contracts.json_problems(load_all({"synthetic.yml": SERVICES_READER}), edited))
    assert f"line {FIELD}: reads env:SERVICES['*']['containerPort']; in stack 'staging'" in problems


# ---- the role `pulumi up` runs under --------------------------------------------------------------------------

def test_pulumi_up_runs_under_the_infrastructure_role(workflows, published):
    problems = pulumi_up_role_problems(workflows, published)
    assert not problems, str(problems)


def test_pulumi_up_under_the_application_deploy_role_or_an_unpublished_role_fails(published):
    role = "role-to-assume: ${{ vars.RAMPART_INFRA_ROLE_ARN }}"
    deploy_role = mutated("deploy-stack.yml", role, "role-to-assume: ${{ vars.RAMPART_DEPLOY_ROLE_ARN }}")
    problems = str(pulumi_up_role_problems(deploy_role, published))
    assert "`pulumi up` runs under vars.RAMPART_DEPLOY_ROLE_ARN, the application deploy role of stack 'staging'" in (
        problems)
    unpublished = mutated("deploy-stack.yml", role, "role-to-assume: ${{ vars.RAMPART_INFRASTRUCTURE_ROLE_ARN }}")
    assert "stack 'production' does not publish vars.RAMPART_INFRASTRUCTURE_ROLE_ARN" in str(
        pulumi_up_role_problems(unpublished, published))
    [run] = [r for r in pulumi_runs(unpublished) if r.command == "up"]
    assert (run.step.workflow.name, run.role_variable) == ("deploy-stack.yml", "RAMPART_INFRASTRUCTURE_ROLE_ARN")
