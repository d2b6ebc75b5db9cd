"""The workflows hold to the parts they drive: each `uses:` resolves, each reusable call passes what the callee
declares within the permissions it grants, each `rampart` command line parses with the real CLI parser, each
variable, environment variable and JSON field a script reads is published or defined, and `pulumi up` runs under a
role able to do it. Every contract has a test that changes one side in memory and sees the check report it.

The checks live in tests/support/workflow_contracts.py; test_workflow_variables.py pins the variable names to
infra/outputs.py, while the checks here hold the workflows to what the recorded stacks really publish.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from rampart.cli import build_parser
from tests.support import workflow_contracts as contracts
from tests.support.stacks import STACKS
from tests.support.workflows import load_all, mutated

DEPLOY_STEP = ("deploy-stack.yml: job 'deploy', step 'Migrations, then blue/green deploy gated by a smoke test on"
               " green, per service'")


@pytest.fixture(scope="module")
def published() -> dict[str, contracts.Published]:
    return {stack: contracts.published_by(stack) for stack in STACKS}


@pytest.fixture(scope="module")
def workflows():
    return load_all()


def changed(published, stack: str, **sections) -> dict[str, contracts.Published]:
    """What the stacks publish, with sections of one stack replaced (the stack side of a contract changing)."""
    return {**published, stack: replace(published[stack], **sections)}


# ---- uses ------------------------------------------------------------------------------------------------------

def test_every_uses_resolves_to_an_existing_callable_workflow_or_a_pinned_action(workflows):
    assert not contracts.uses_problems(workflows), contracts.uses_problems(workflows)


@pytest.mark.parametrize(("edit", "expected"), [
    (("deploy.yml", "$/.github/workflows/deploy-stack.yml", "$//.github/workflows/deploy-stack.yml"),
     "deploy.yml: job 'staging', line 15: uses '$//.github/workflows/deploy-stack.yml': a reusable workflow is"),
    (("deploy.yml", "$/.github/workflows/deploy-stack.yml", ".github/workflows/deploy-stack.yml"),
     "line 24: uses '.github/workflows/deploy-stack.yml': a reusable workflow is"),
    (("deploy.yml", "$/.github/workflows/deploy-stack.yml", "$/.github/workflows/deploy-stacks.yml"),
     "no such workflow"),
    (("deploy-stack.yml", "  workflow_call:", "  workflow_dispatch:"), "deploy-stack.yml has no `on: workflow_call`"),
    (("pull-request.yml", "@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2", "@v4"),
     "'actions/upload-artifact@v4' is not pinned to a full 40-hex commit SHA"),
    (("pull-request.yml", "@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2",
      "@ea165f8d65b6e75b540449e92b4886f43607fa02"), "has no `# vX.Y.Z` comment"),
])
def test_uses_contract_reports_a_broken_reference(edit, expected):
    assert expected in str(contracts.uses_problems(mutated(*edit)))


def test_the_workspace_relative_form_of_a_local_call_resolves_too():
    # `./` is what GitHub Enterprise Server and runners before 2.336.0 understand; both forms name one file.
    assert not contracts.uses_problems(mutated("deploy.yml", "$/.github/workflows/", "./.github/workflows/"))


# ---- reusable workflow calls -------------------------------------------------------------------------------------

def test_reusable_workflow_calls_pass_the_declared_inputs_within_the_granted_permissions(workflows):
    assert not contracts.call_problems(workflows), contracts.call_problems(workflows)


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
    assert not contracts.cli_problems(workflows), contracts.cli_problems(workflows)


def test_the_extraction_finds_every_rampart_command_the_workflows_run(workflows):
    from tests.support.workflows import rampart_invocations

    found = {(i.line.step.workflow.name, i.argv[0]) for i in rampart_invocations(workflows)}
    assert found == {("deploy-stack.yml", c) for c in ("check", "snapshot", "migrate", "deploy", "verify")} | {
        ("pull-request.yml", "check"), ("rollback.yml", "deploy")}


def test_a_renamed_flag_in_a_workflow_fails_with_workflow_job_step_and_line():
    problems = str(contracts.cli_problems(mutated("deploy-stack.yml", '--smoke-url "$url"', '--smoke-urls "$url"')))
    assert f"{DEPLOY_STEP}, line 88: `rampart deploy" in problems
    assert "unrecognized arguments: --smoke-urls" in problems


def test_a_value_of_the_wrong_kind_fails():
    problems = str(contracts.cli_problems(mutated("deploy-stack.yml", "--keep 10", "--keep ten")))
    assert "step 'Pre-deploy database snapshot', line 69" in problems and "invalid int value: 'ten'" in problems


def _subparser(parser, name: str):
    return next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices[name]


def test_a_flag_renamed_in_the_cli_fails(workflows):
    parser = build_parser()
    snapshot = _subparser(parser, "snapshot")
    action = snapshot._option_string_actions.pop("--keep")
    action.option_strings = ["--retain"]
    snapshot._option_string_actions["--retain"] = action
    problems = str(contracts.cli_problems(workflows, parser))
    assert "step 'Pre-deploy database snapshot', line 69: `rampart snapshot" in problems
    assert "unrecognized arguments: --keep" in problems


def test_a_new_required_flag_in_the_cli_fails(workflows):
    parser = build_parser()
    _subparser(parser, "deploy").add_argument("--approval", required=True)
    problems = str(contracts.cli_problems(workflows, parser))
    assert f"{DEPLOY_STEP}, line 88" in problems
    assert "rollback.yml: job 'rollback', step 'Roll back', line 83" in problems
    assert "the following arguments are required: --approval" in problems


def test_a_bare_rampart_needs_the_environment_on_the_path():
    problems = str(contracts.cli_problems(mutated("rollback.yml", 'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"', "true")))
    assert "rollback.yml: job 'rollback', step 'Roll back', line 83: bare `rampart`" in problems


# ---- GitHub variables ----------------------------------------------------------------------------------------

def test_every_variable_a_job_reads_is_published_in_a_scope_it_can_see(workflows, published):
    assert not contracts.variable_problems(workflows, published), contracts.variable_problems(workflows, published)


def test_an_environment_variable_read_outside_an_environment_fails(published):
    edited = mutated("drift.yml", "vars[format('RAMPART_AWS_REGION_{0}', matrix.suffix)]", "vars.AWS_REGION")
    problems = str(contracts.variable_problems(edited, published))
    assert "drift.yml: job 'drift', line 47: reads vars.AWS_REGION" in problems
    assert "no `environment:`" in problems


def test_a_matrix_entry_must_read_its_own_stacks_variable(published):
    problems = str(contracts.variable_problems(mutated("drift.yml", "suffix: PRODUCTION", "suffix: PROD"), published))
    assert "reads vars.RAMPART_PREVIEW_ROLE_ARN_PROD, which stack 'production' does not publish" in problems


def test_a_variable_the_stack_stops_publishing_fails(workflows, published):
    environment = {k: v for k, v in published["production"].environment.items() if k != "RAMPART_CLUSTER"}
    problems = str(contracts.variable_problems(workflows, changed(published, "production", environment=environment)))
    assert "rollback.yml: job 'rollback', line 42: reads vars.RAMPART_CLUSTER, which stack 'production'" in problems


# ---- environment variables in scripts -------------------------------------------------------------------------

def test_every_environment_variable_a_script_reads_is_defined(workflows):
    assert not contracts.env_problems(workflows), contracts.env_problems(workflows)


@pytest.mark.parametrize(("edit", "expected"), [
    (("drift.yml", "RUN_URL: ${{", "RUN_LINK: ${{"), "step 'Open or update the drift issue', line 64: reads $RUN_URL"),
    (("deploy-stack.yml", 'db="$(', 'database="$('), "step 'Pre-deploy database snapshot', line 69: reads $db"),
    (("rollback.yml", "      SERVICES: ${{", "      SERVICE_MAP: ${{"),
     "step 'Roll back', line 60: python reads os.environ['SERVICES']"),
])
def test_an_undefined_environment_variable_fails(edit, expected):
    assert expected in str(contracts.env_problems(mutated(*edit)))


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
    assert not contracts.json_problems(workflows, published), contracts.json_problems(workflows, published)


def test_the_extraction_finds_the_json_reads_generically(workflows):
    from tests.support.workflow_scripts import json_reads

    paths = {(r.source, r.path) for r in json_reads(workflows)}
    assert ("env:OUTPUTS", ("database", "instanceIdentifier")) in paths
    assert ("env:OUTPUTS", ("services", "*", "taskDefinitionArn")) in paths
    assert ("env:OUTPUTS", ("loadBalancerDnsName",)) in paths  # through `o=json.load(…)` and `s=o[…]`
    assert ("env:OUTPUTS", ("services", "*", "healthCheckPath")) in paths  # `.get(key, default)` too
    # rollback.yml's `field NAME` shell function: one read per call, each with its literal argument.
    assert {p[1] for s, p in paths if s == "env:SERVICES" and len(p) == 2} == {
        "application", "deploymentGroup", "service", "containerName", "containerPort"}


@pytest.mark.parametrize(("edit", "expected"), [
    (("deploy-stack.yml", '["instanceIdentifier"]', '["instanceId"]'),
     "line 68: reads env:OUTPUTS['database']['instanceId']; in stack 'production' ['database'] has no 'instanceId'"),
    (("deploy-stack.yml", '.get("healthCheckPath", "/")', '.get("healthPath", "/")'),
     f"{DEPLOY_STEP}, line 83: reads env:OUTPUTS['services']['*']['healthPath']"),
    (("rollback.yml", "$(field containerPort)", "$(field port)"),
     "rollback.yml: job 'rollback', step 'Roll back', line 60: reads env:SERVICES['*']['port']"),
    (("deploy-stack.yml", """["instanceIdentifier"])' "$OUTPUTS\"""", """["instanceIdentifier"])' "$DB_JSON\""""),
     "reads JSON from env:DB_JSON, which is neither a published variable nor the stack outputs file"),
])
def test_a_json_field_the_workflow_renames_fails(edit, expected, published):
    assert expected in str(contracts.json_problems(mutated(*edit), published))


def test_a_json_field_the_stack_stops_publishing_fails(workflows, published):
    outputs = copy.deepcopy(published["staging"].outputs)
    for service in outputs["services"].values():
        del service["taskDefinitionArn"]
    services = {name: {k: v for k, v in entry.items() if k != "containerName"}
                for name, entry in json.loads(published["staging"].environment["RAMPART_SERVICES"]).items()}
    environment = {**published["staging"].environment, "RAMPART_SERVICES": json.dumps(services)}
    problems = str(contracts.json_problems(workflows, changed(published, "staging", outputs=outputs,
                                                               environment=environment)))
    assert "line 76: reads env:OUTPUTS['services']['*']['taskDefinitionArn']; in stack 'staging'" in problems
    assert "line 60: reads env:SERVICES['*']['containerName']; in stack 'staging'" in problems
    assert "in stack 'production'" not in problems


# ---- the role `pulumi up` runs under --------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="issue 11: deploy-stack.yml runs `pulumi up` under the application deploy"
                                       " role until the infrastructure role and its variable exist")
def test_pulumi_up_runs_under_the_infrastructure_role(workflows, published):
    assert not contracts.pulumi_up_role_problems(workflows, published), contracts.pulumi_up_role_problems(
        workflows, published)


def test_the_pulumi_up_role_check_accepts_a_separate_published_role_and_nothing_else(published):
    edited = mutated("deploy-stack.yml", "role-to-assume: ${{ vars.RAMPART_DEPLOY_ROLE_ARN }}",
                     "role-to-assume: ${{ vars.RAMPART_INFRASTRUCTURE_ROLE_ARN }}")
    assert "does not publish vars.RAMPART_INFRASTRUCTURE_ROLE_ARN" in str(
        contracts.pulumi_up_role_problems(edited, published))
    with_role = published
    for stack in STACKS:
        environment = {**published[stack].environment,
                       "RAMPART_INFRASTRUCTURE_ROLE_ARN": f"arn:aws:iam::123456789012:role/rampart-{stack}-infra"}
        with_role = changed(with_role, stack, environment=environment)
    assert not contracts.pulumi_up_role_problems(edited, with_role)
    [run] = [r for r in contracts.pulumi_runs(edited) if r.command == "up"]
    assert (run.step.workflow.name, run.role_variable) == ("deploy-stack.yml", "RAMPART_INFRASTRUCTURE_ROLE_ARN")
