"""The IAM contract: every AWS call a CI job's commands make is allowed by the role that job assumes, as the stack
registers it, and the role grants nothing that no job uses without saying why.

Each job (tests/contracts/scenarios.py) is replayed on moto's server in a world named from the recorded stack;
every boto3 call is recorded (tests/support/aws_calls.py) and evaluated with a faithful IAM evaluator
(tests/support/iam.py) against the role's inline policies from `record_stack`, not a retyped copy.
"""

from __future__ import annotations

import functools
import http.client
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from rampart.cli import main
from rampart.engine.recorder import Recording, unwrap_secrets
from tests.contracts import scenarios as sc
from tests.ops import world as w
from tests.support import aws_calls
from tests.support.iam import (
    Request,
    assert_role_allows,
    dedupe,
    denied,
    denied_without_each,
    role_policies,
    unused_actions,
)
from tests.support.stacks import STACKS, record_stack

UNUSED_REASONS: dict[str, dict[str, str]] = {}
"""Per role: actions it grants that no replayed job uses, each with the reason it stays."""

KNOWN_DEFECTS: dict[str, str] = {}
"""Roles whose contract is known broken, with the owner's fix to make: strict, so the fix turns these green."""


def _roles_marked(roles: list[str]) -> list[Any]:
    return [pytest.param(role, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[role]))
            if role in KNOWN_DEFECTS else role for role in roles]


@functools.cache
def recording(stack: str) -> Recording:
    return record_stack(stack)


def _reset(endpoint: str) -> None:
    host, _, port = endpoint.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "/moto-api/reset")
    assert connection.getresponse().status == 200
    connection.close()


def _arrange(client: Any, spec: w.WorldSpec, outputs: dict[str, Any]) -> dict[str, str]:
    """What the jobs find in a live account: ten of our older snapshots (so the prune deletes one), and a
    deployment in flight per service (what the rollback stops). Returns the in-flight deployment per service."""
    rds = client("rds")
    for day in range(1, 11):
        rds.create_db_snapshot(
            DBInstanceIdentifier=spec.db, DBSnapshotIdentifier=f"rampart-{spec.db}-202601{day:02d}-000000",
            Tags=[{"Key": "rampart:managed-by", "Value": "rampart-snapshot"},
                  {"Key": "rampart:db-instance", "Value": spec.db}])
    codedeploy = client("codedeploy")
    running = {}
    for key, declared in outputs["services"].items():
        running[key] = codedeploy.create_deployment(
            applicationName=declared["codedeployApplication"], deploymentGroupName=declared["deploymentGroup"],
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]
    return running


def _group(outputs: dict[str, Any], key: str) -> dict[str, Any]:
    """The service's deployment group as CodeDeploy describes it (moto keeps no ready option nor alarms)."""
    declared = outputs["services"][key]
    return {"deploymentGroupInfo": {
        "applicationName": declared["codedeployApplication"], "deploymentGroupName": declared["deploymentGroup"],
        "computePlatform": "ECS",
        "blueGreenDeploymentConfiguration": {"deploymentReadyOption": {
            "actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}},
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": a} for a in declared["alarmNames"]]},
        "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
    }}


def _stub_codedeploy(stub_call: Any, names: dict[str, str], outputs: dict[str, Any], variant: str) -> None:
    """What moto cannot do: a group holding green in Ready, a deployment moving through it, Continue/Stop."""
    group = _group(outputs, names["service"])
    stub_call("codedeploy", "get_deployment_group").add_response("get_deployment_group", group)
    statuses = stub_call("codedeploy", "get_deployment")
    walk = ("InProgress", "Ready") if variant == "smoke-fails" else ("InProgress", "Ready", "InProgress", "Succeeded")
    for status in walk:
        statuses.add_response("get_deployment", {"deploymentInfo": {
            "deploymentId": "d-STUB", "applicationName": names["application"],
            "deploymentGroupName": names["group"], "status": status}})
    if variant == "smoke-fails":
        stub_call("codedeploy", "stop_deployment").add_response("stop_deployment", {"status": "Pending"})
    else:
        stub_call("codedeploy", "continue_deployment").add_response("continue_deployment", {})


def replay(stack: str, *, endpoint: str, stub_call: Any, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict[str, list[Request]]:
    """Run every job's steps in one fresh moto world named from the stack; per job, the IAM requests of its calls."""
    _reset(endpoint)
    rec = recording(stack)
    spec = sc.world_spec(rec)
    account = unwrap_secrets(rec.outputs)["github"]["deployRoleArn"].split(":")[4]
    assert account == DEFAULT_ACCOUNT_ID, f"the stack's account {account} is not moto's {DEFAULT_ACCOUNT_ID}"
    monkeypatch.setenv("AWS_REGION", spec.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", spec.region)

    def client(service: str) -> Any:
        return boto3.client(service, region_name=spec.region)

    folder = tmp_path / stack
    world = w.build(client, folder, with_db=True, spec=spec)
    outputs = sc.outputs_file(rec, world, folder / "outputs.json")
    for key, declared in outputs["services"].items():
        assert world.task_definition_arns[key] == declared["taskDefinitionArn"], "world and stack disagree"
    sc.create_topic(client, rec)
    sc.harden_database(client, rec, spec, world)
    running = _arrange(client, spec, outputs)

    def run_rampart(step: sc.Rampart, argv: list[str], names: dict[str, str]) -> int:
        if argv[0] == "deploy":
            _stub_codedeploy(stub_call, names, outputs, step.variant)
        if argv[0] == "verify":
            groups = stub_call("codedeploy", "get_deployment_group")
            for key in sorted(outputs["services"]):
                groups.add_response("get_deployment_group", _group(outputs, key))
        code = main([*argv, "--format", "json"])
        report = json.loads(capsys.readouterr().out or "{}")
        if argv[0] == "verify":
            # moto starts no tasks, and its DB is the ops tests' (not sized as declared): drift there is not an
            # IAM matter; any other failing check (a denied or unstubbed call) is.
            drift = [s for s in report.get("steps", []) if s["status"] == "fail"
                     and not s["name"].endswith(": desired count") and not s["name"].startswith("database: ")]
            assert not drift, drift
            return 0
        return code

    found: dict[str, list[Request]] = {}
    with sc.smoke_listener() as url:
        names = [{**n, "smoke_url": url, "failing_smoke_url": f"{url}/failing", "running": running[n["service"]]}
                 for n in sc.placeholders(outputs, folder / "outputs.json", stack)]
        for job, steps in sc.JOBS.items():
            with aws_calls.recording(account, spec.region, endpoint) as recorded:
                ran = sc.run_steps(steps, names, recorded, run_rampart)
            failed = [(line, code) for line, code, expected in ran if code != expected]
            assert not failed, f"{job} on {stack}: commands did not finish: {failed}"
            found[job] = dedupe(recorded.requests())
    return found


_REPLAYED: dict[str, dict[str, list[Request]]] = {}


@pytest.fixture
def job_requests(aws_env: str, stub_call: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 tmp_path: Path):
    """(stack, job) -> the job's IAM requests, replayed once per stack and test process."""
    def get(stack: str, job: str) -> list[Request]:
        if stack not in _REPLAYED:
            _REPLAYED[stack] = replay(stack, endpoint=aws_env, stub_call=stub_call, monkeypatch=monkeypatch,
                                      capsys=capsys, tmp_path=tmp_path)
        return _REPLAYED[stack][job]
    return get


def role_requests(job_requests: Any, stack: str, role: str) -> list[Request]:
    return dedupe(r for job in sc.ROLE_JOBS[role] for r in job_requests(stack, job))


@pytest.mark.parametrize("role", _roles_marked(list(sc.ROLE_JOBS)))
@pytest.mark.parametrize("stack", STACKS)
def test_jobs_are_allowed_by_the_role_they_assume(stack, role, job_requests):
    for job in sc.ROLE_JOBS[role]:
        assert_role_allows(role_policies(recording(stack), role), job_requests(stack, job),
                           role=f"{stack} *{role} ({job})")


@pytest.mark.parametrize("role", _roles_marked(list(sc.ROLE_JOBS)))
def test_removing_any_needed_action_breaks_the_contract(role, job_requests):
    stack = "production"
    policies = role_policies(recording(stack), role)
    requests = role_requests(job_requests, stack, role)
    assert not denied(policies, requests), "the role must allow its jobs first (see the test above)"
    refused = denied_without_each(policies, requests, sorted({r.action for r in requests}), own_requests_only=True)
    unnoticed = [action for action, decisions in refused.items() if not decisions]
    assert not unnoticed, f"removing these from *{role} went unnoticed by its jobs' calls: {unnoticed}"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("role", list(sc.ROLE_JOBS))
def test_every_granted_action_is_used_or_has_a_reason(role, stack, job_requests):
    unused = unused_actions(role_policies(recording(stack), role), role_requests(job_requests, stack, role))
    reasons = UNUSED_REASONS.get(role, {})
    unexplained = [a for a in unused if a not in reasons]
    stale = [a for a in reasons if a not in unused]
    assert not unexplained, (
        f"{stack} *{role} grants actions no job uses: {unexplained}; remove them from the role, or add each to "
        "UNUSED_REASONS with the reason it stays")
    assert not stale, f"UNUSED_REASONS for *{role} names actions that are used or no longer granted: {stale}"


def test_the_world_is_named_from_the_stack():
    spec = sc.world_spec(recording("production"))
    outputs = unwrap_secrets(recording("production").outputs)
    assert spec.cluster == outputs["clusterName"] and spec.region == outputs["region"]
    assert {s.family for s in spec.services} == {s["taskDefinitionFamily"] for s in outputs["services"].values()}
    assert json.dumps(spec.services[0].task_role_arn).count(DEFAULT_ACCOUNT_ID) == 1
