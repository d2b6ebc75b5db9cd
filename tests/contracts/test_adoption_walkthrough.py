"""The adoption guide walked in order, as a new adopter runs it (issue 11, "How it is checked").

docs/operations.md "Bootstrap an account", then docs/adopting-workflows.md "Steps for a new repository", "The first
image" and "A first deploy and a rollback". Every `rampart` command comes from the guide (tests/support/
adoption_guide.py), so a command removed from or renamed in it breaks this walkthrough; the deploy job's and the
rollback job's commands run on moto's server in one world named from the recorded stack (the IAM contract's own
replay, tests/contracts/test_iam_contract.py), each call judged against the role the job assumes.
What the guide does outside `rampart` (pulumi login/stack init/config set, `pulumi up`, the image push) cannot run
here: the bootstrap's printed lines are checked against the stack files' shapes instead.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.core import DEFAULT_ACCOUNT_ID

from infra.config import GithubConfig
from rampart.cli import main
from rampart.engine.recorder import unwrap_secrets
from rampart.ops.deploy import appspec
from tests.contracts import scenarios as sc
from tests.contracts import test_iam_contract as contract
from tests.ops.conftest import run_json
from tests.support import aws_calls
from tests.support.adoption_guide import ROOT, GuideMismatch, plan
from tests.support.iam import assert_role_allows, role_policies
from tests.support.stack_publications import ENVIRONMENT_VARIABLE

STACK = "production"
REASON = "5xx after v2"


def _bootstrap_lines(next_commands: list[str]) -> dict[str, Any]:
    """The printed lines, checked in the shapes the project's stack files hold (Pulumi.<stack>.yaml)."""
    words = [shlex.split(line) for line in next_commands]
    assert [w[:3] for w in words[:2]] == [["pulumi", "login", words[0][2]], ["pulumi", "stack", "init"]], words
    login = words[0][2]
    provider = next(w.split("=", 1)[1] for w in words[1] if w.startswith("--secrets-provider="))
    config = {w[4]: w[5] for w in words[2:] if w[:4] == ["pulumi", "config", "set", "--path"]}
    assert len(config) == len(words) - 2 == 3, next_commands
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    shape_s3, shape_kms = r"s3://[a-z0-9.-]+\?region=[a-z0-9-]+", r"awskms://[0-9a-f-]{36}\?region=[a-z0-9-]+"
    for value, shape, ours in ((login, shape_s3, stack_file["config"]["rampart:github"]["stateBackendUrl"]),
                               (provider, shape_kms, stack_file["secretsprovider"])):
        assert re.fullmatch(shape, value) and re.fullmatch(shape, ours), (value, ours)
    aliases = {f.alias for f in GithubConfig.model_fields.values()}
    keys = {key.removeprefix("rampart:github.") for key in config}
    assert all(k.startswith("rampart:github.") for k in config) and keys <= aliases, (keys, aliases)
    assert config["rampart:github.stateBackendUrl"] == login
    key_id = provider.removeprefix("awskms://").split("?")[0]
    assert config["rampart:github.secretsProviderKeyArn"].endswith(f":key/{key_id}")
    return config


@contextmanager
def _not_recorded() -> Iterator[None]:
    """Arranging the world is not a call of the job: the recorder skips calls made while it looks facts up."""
    aws_calls._state.looking_up = True
    try:
        yield
    finally:
        aws_calls._state.looking_up = False


def _rollback_services(stack: str) -> str:
    """RAMPART_SERVICES as the stack publishes it to the `<stack>-rollback` environment (rollback.yml reads it)."""
    for registration in contract.recording(stack).by_type(ENVIRONMENT_VARIABLE):
        inputs = unwrap_secrets(registration.plain_inputs())
        if inputs["environment"] == f"{stack}-rollback" and inputs["variableName"] == "RAMPART_SERVICES":
            return str(inputs["value"])
    raise AssertionError(f"{stack} publishes no RAMPART_SERVICES to {stack}-rollback")


def _arrange_rollback(argv: list[str], stub_call: Any, region: str) -> None:
    """What a rollback finds after a bad release, in the stack-named world: one deployment in flight (the others
    the deploy job left in moto's `Created` are settled), blue PRIMARY at its desired count. moto has no
    StopDeployment, no rollbackInfo and keeps no task-set count: those, and only those, are served or set here
    (as tests/ops/test_rollback_paths.py does for its world)."""
    from moto.codedeploy.models import codedeploy_backends
    from moto.ecs.models import ecs_backends

    args = {argv[i]: argv[i + 1] for i in range(1, len(argv) - 1) if argv[i].startswith("--")}
    declared = json.loads(args["--services-json"])[args["--service"]]
    application, group, cluster = declared["application"], declared["deploymentGroup"], args["--cluster"]
    outputs = unwrap_secrets(contract.recording(STACK).outputs)
    blue = outputs["services"][args["--service"]]["taskDefinitionArn"]
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {
        "content": appspec(blue, declared["containerName"], int(declared["containerPort"]))}}
    with _not_recorded():
        codedeploy = boto3.client("codedeploy", region_name=region)
        ids = codedeploy.list_deployments(applicationName=application, deploymentGroupName=group)["deployments"]
        # The rollback deployment CodeDeploy starts on the stop: a real one, so its id resolves to an ARN.
        back = codedeploy.create_deployment(applicationName=application, deploymentGroupName=group,
                                            revision=revision)["deploymentId"]
        ecs = boto3.client("ecs", region_name=region)
        task_set = ecs.create_task_set(cluster=cluster, service=declared["service"], taskDefinition=blue,
                                       launchType="FARGATE")["taskSet"]["taskSetArn"]
        ecs.update_service_primary_task_set(cluster=cluster, service=declared["service"], primaryTaskSet=task_set)
    backend = codedeploy_backends[DEFAULT_ACCOUNT_ID][region]
    bad = ids[0]
    for other in [*ids[1:], back]:
        backend.deployments[other].status = "Succeeded"
    for candidate in ecs_backends[DEFAULT_ACCOUNT_ID][region].services[f"{cluster}:{declared['service']}"].task_sets:
        candidate.runningCount = 2 if candidate.task_set_arn == task_set else 0

    stub_call("codedeploy", "get_deployment_group").add_response(
        "get_deployment_group", contract._group(outputs, args["--service"]))
    stub_call("codedeploy", "stop_deployment").add_response(
        "stop_deployment", {"status": "Pending"}, expected_params={"deploymentId": bad, "autoRollbackEnabled": True})
    followed = stub_call("codedeploy", "get_deployment")
    for deployment_id, status, more in ((bad, "InProgress", {}),
                                        (bad, "Stopped", {"rollbackInfo": {"rollbackDeploymentId": back}}),
                                        (back, "Succeeded", {"revision": revision})):
        followed.add_response("get_deployment", {"deploymentInfo": {
            "deploymentId": deployment_id, "applicationName": application, "deploymentGroupName": group,
            "status": status, **more}}, expected_params={"deploymentId": deployment_id})


@pytest.fixture
def walk(aws_env: str, stub_call: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         tmp_path: Path) -> dict[str, Any]:
    """The whole guide, in order, once; each step's outcome for the tests below (one moto world, one replay)."""
    guide = plan()
    outcome: dict[str, Any] = {}
    # 1. Bootstrap an account (operations.md code block), on moto.
    outcome["bootstrap"] = run_json(capsys, guide.bootstrap)
    # 2. "Run `rampart check` until it passes" (prose): the offline gate as the workflows run it.
    outcome["check"] = main(["check", "--program", str(ROOT), "--assume-existing"])
    # 3. The first image, step 1 (prose): every service `awaitingImage: true`; the gate of a new stack's first up.
    from tests.test_first_run_passes_its_pack import first_run_project

    outcome["first image"] = main(["check", "--program", str(first_run_project(tmp_path))])
    capsys.readouterr()
    # 4 and 5. A first deploy (the deploy job's application commands the guide lists) and a rollback (rollback.yml's
    # line), replayed by the IAM contract in its stack-named world with every call recorded.
    services_json = _rollback_services(STACK)
    placeholders = sc.placeholders
    monkeypatch.setattr(sc, "placeholders", lambda *a: [{**n, "services_json": services_json, "reason": REASON}
                                                         for n in placeholders(*a)])
    monkeypatch.setattr(sc, "JOBS", {"deploy": guide.deploy_steps, "rollback": [guide.rollback]})
    region = unwrap_secrets(contract.recording(STACK).outputs)["region"]

    def run(argv: list[str]) -> int:
        if argv[0] == "rollback":
            _arrange_rollback(argv, stub_call, region)
        return main(argv)

    monkeypatch.setattr(contract, "main", run)
    outcome["jobs"] = contract.replay(STACK, endpoint=aws_env, stub_call=stub_call, monkeypatch=monkeypatch,
                                      capsys=capsys, tmp_path=tmp_path)
    return outcome


def test_the_guide_walked_in_order_reaches_a_deploy_and_a_rollback(walk):
    code, report = walk["bootstrap"]
    assert code == 0, report
    _bootstrap_lines(report["result"]["nextCommands"])
    assert walk["check"] == 0, "rampart check --assume-existing on the project"
    assert walk["first image"] == 0, "rampart check on the first-run (awaitingImage) project"
    # replay() already asserted that every command exited as expected (rollback included: 0 = landed, verified).
    policies = {role: role_policies(contract.recording(STACK), role) for role in ("-github-deploy", "-github-rollback")}
    assert_role_allows(policies["-github-deploy"], walk["jobs"]["deploy"], role=f"{STACK} *-github-deploy")
    assert_role_allows(policies["-github-rollback"], walk["jobs"]["rollback"], role=f"{STACK} *-github-rollback")
    rollback_calls = {r.action for r in walk["jobs"]["rollback"]}
    assert {"codedeploy:StopDeployment", "ecs:DescribeServices", "cloudwatch:DescribeAlarms"} <= rollback_calls


@pytest.mark.parametrize(("document", "old", "new"), [
    ("operations", "rampart snapshot --db-instance", "rampart snap --db-instance"),   # renamed
    ("operations", "--keep 10`", "--keep 5`"),                                         # a literal value changed
    ("operations", "`rampart verify --stack <stack>`", "the verify step"),            # removed
    ("operations", "--smoke-path <healthCheckPath>", "--smoke-paths <healthCheckPath>"),
    ("operations", "rampart bootstrap --state-bucket example", "rampart bootstrap --bucket example"),
    ("adopting", "`rampart bootstrap --state-bucket", "`rampart bootstrap --bucket"),
    ("adopting", "Run `rampart check` until", "Run the check until"),
    ("adopting", "`rampart rollback` stops", "the rollback stops"),
    ("workflow", "--reason \"$REASON\"", "--why \"$REASON\""),
])
def test_a_changed_guide_command_breaks_the_walkthrough(document, old, new):
    from tests.support import adoption_guide as guide

    texts = {"adopting": guide.ADOPTING.read_text(), "operations": guide.OPERATIONS.read_text(),
             "workflow": guide.ROLLBACK_WORKFLOW.read_text()}
    assert old in texts[document], f"the mutation no longer applies: {old!r} is not in {document}"
    plan(**texts)  # the guide as it is passes
    texts[document] = texts[document].replace(old, new)
    with pytest.raises(GuideMismatch):
        plan(**texts)
