"""`rampart rollback` against moto's server: both paths, an empty history, a failed verification, bad flags, and a
permission denied midway.

moto keeps every CodeDeploy deployment in `Created` and has no API that moves one on. The history a rollback reads
is therefore arranged with real CreateDeployment calls whose status and creation time are then set in moto's own
(in-process) backend, and a new deployment is walked through its statuses by a botocore hook on the command's
GetDeployment calls, doing what CodeDeploy does at the shift: the target revision's task set becomes PRIMARY in
moto's ECS. moto also has no ContinueDeployment, no StopDeployment, no rollbackInfo and no GetDeploymentConfig, and
enforces no IAM per call: those, and only those, are served by botocore's Stubber (each test says which and why).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from rampart.cli import main
from rampart.ops import aws as ops_aws
from rampart.ops.deploy import appspec
from rampart.ops.report import Report
from rampart.ops.rollback import default_timeout, revision_arn, same_revision
from tests.ops import world as w
from tests.ops.conftest import REGION, run_json

ACCOUNT = "123456789012"  # moto's default account
REASON = "5xx spike after v2"


def _backends() -> tuple[Any, Any]:
    from moto.codedeploy.models import codedeploy_backends
    from moto.ecs.models import ecs_backends

    return codedeploy_backends[ACCOUNT][REGION], ecs_backends[ACCOUNT][REGION]


def _revisions(client, world: w.World, count: int) -> list[str]:
    """The world's revision 1 and `count - 1` more of the same family (registered; not necessarily ever run)."""
    ecs = client("ecs")
    base = ecs.describe_task_definition(taskDefinition=world.task_definition_arn)["taskDefinition"]
    arns = [world.task_definition_arn]
    for _ in range(count - 1):
        arns.append(ecs.register_task_definition(
            family=w.FAMILY, containerDefinitions=base["containerDefinitions"], networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"], cpu="256", memory="512")["taskDefinition"]["taskDefinitionArn"])
    return arns


def _serving(client, arn: str, running: int = 2) -> None:
    """What CodeDeploy leaves after a shift: a task set of `arn` is PRIMARY and runs `running` tasks."""
    ecs = client("ecs")
    task_set = ecs.create_task_set(cluster=w.CLUSTER, service=w.ECS_SERVICE, taskDefinition=arn,
                                   launchType="FARGATE")["taskSet"]["taskSetArn"]
    ecs.update_service_primary_task_set(cluster=w.CLUSTER, service=w.ECS_SERVICE, primaryTaskSet=task_set)
    _, ecs_backend = _backends()
    for candidate in ecs_backend.services[f"{w.CLUSTER}:{w.ECS_SERVICE}"].task_sets:
        if candidate.task_set_arn == task_set:
            candidate.runningCount = running  # moto keeps no task count for a task set


def _history(client, *entries: tuple[str, str]) -> list[str]:
    """Deployments of (revision, status), oldest first, one minute apart."""
    codedeploy, ids = client("codedeploy"), []
    backend, _ = _backends()
    start = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    for index, (arn, status) in enumerate(entries):
        content = appspec(arn, w.CONTAINER, w.PORT)
        deployment_id = codedeploy.create_deployment(
            applicationName=w.APPLICATION, deploymentGroupName=w.GROUP,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}})["deploymentId"]
        backend.deployments[deployment_id].status = status
        backend.deployments[deployment_id].create_time = start + datetime.timedelta(minutes=index)
        ids.append(deployment_id)
    return ids


class _CodeDeploy:
    """Walks each deployment the command creates through `statuses`, one per GetDeployment; at Baking or
    Succeeded it makes the deployment's revision PRIMARY in moto's ECS, as CodeDeploy does (unless `swap` is off)."""

    def __init__(self, client, arranged: list[str], statuses: tuple[str, ...], swap: bool = True,
                 running: int = 2) -> None:
        self.client, self.arranged, self.statuses, self.swap = client, set(arranged), list(statuses), swap
        self.running = running

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        deployment_id = params.get("deploymentId")
        if deployment_id in self.arranged or not self.statuses:
            return
        backend, _ = _backends()
        deployment = backend.deployments[deployment_id]
        deployment.status = self.statuses.pop(0)
        if deployment.status in ("Baking", "Succeeded") and self.swap:
            self.swap = False
            _serving(self.client, str(revision_arn({"revision": deployment.revision})), self.running)


@pytest.fixture
def codedeploy_walk(monkeypatch):
    def install(director: _CodeDeploy) -> None:
        original = ops_aws.Aws._create

        def create(self: ops_aws.Aws, name: str) -> Any:
            made = original(self, name)
            if name == "codedeploy":
                made.meta.events.register("before-parameter-build.codedeploy.GetDeployment", director)
            return made

        monkeypatch.setattr(ops_aws.Aws, "_create", create)

    return install


def _group(stub_call) -> None:
    """moto answers GetDeploymentGroup with an empty alarmConfiguration (a TODO in moto): Stubber serves the
    world's group as CodeDeploy would, with its alarms, so the verification and the default timeout see them."""
    stubber = stub_call("codedeploy", "get_deployment_group")
    stubber.add_response("get_deployment_group", {"deploymentGroupInfo": {
        "applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP, "computePlatform": "ECS",
        "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": name} for name in w.ALARMS]}}},
        expected_params={"applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP})


def _rollback(world: w.World, *extra: str) -> list[str]:
    return ["rollback", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
            "--reason", REASON, "--poll", "0.02", *extra]


def _services_json(world: w.World) -> list[str]:
    """As the rollback workflow passes RAMPART_SERVICES (infra/stack.py), deployTimeoutSeconds included."""
    declared = world.outputs["services"][w.SERVICE]
    variable = {w.SERVICE: {"service": declared["serviceName"], "deploymentGroup": declared["deploymentGroup"],
                            "application": declared["codedeployApplication"], "containerName": w.CONTAINER,
                            "containerPort": w.PORT, "deployTimeoutSeconds": 2970}}
    return ["rollback", "--stack", "production", "--service", w.SERVICE, "--reason", REASON, "--poll", "0.02",
            "--cluster", w.CLUSTER, "--services-json", json.dumps(variable)]


def _step(report: dict, name: str) -> dict:
    return next(s for s in report["steps"] if s["name"] == name)


def _deployments(client) -> list[str]:
    return client("codedeploy").list_deployments(applicationName=w.APPLICATION, deploymentGroupName=w.GROUP)[
        "deployments"]


# --- the redeploy path ---------------------------------------------------------------------------------------


def test_redeploys_the_revision_that_served_traffic_before(client, stub_call, codedeploy_walk, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2, rev3, _rev4 = _revisions(client, world, 4)  # rev4: registered by a later `pulumi up`, never run
    # rev2 failed and never served: "the revision before rev3" by number would be the wrong answer.
    arranged = _history(client, (rev1, "Succeeded"), (rev2, "Failed"), (rev3, "Succeeded"))
    _serving(client, rev3)
    _group(stub_call)
    codedeploy_walk(_CodeDeploy(client, arranged, ("InProgress", "Ready", "InProgress", "Baking")))
    # moto has no ContinueDeployment: Stubber answers it, checking the held deployment is the one released.
    continued = stub_call("codedeploy", "continue_deployment")
    released = _Captured()
    continued.add_response("continue_deployment", {},
                           expected_params={"deploymentId": released, "deploymentWaitType": "READY_WAIT"})

    code, report = run_json(capsys, _rollback(world))

    assert code == 0, report
    result = report["result"]
    assert (result["path"], result["targetTaskDefinitionArn"], result["status"]) == ("redeploy", rev1, "Baking")
    assert result["verified"] == {"revision": True, "tasks": True, "alarms": True}
    # Derived default: 600 s start-up + 300 s canary (ECSCanary10Percent5Minutes) + 3 x 60 s + 60 s detection.
    assert result["timeoutSeconds"] == 1140
    continued.assert_no_pending_responses()
    assert released.value == result["deploymentId"]
    created = client("codedeploy").get_deployment(deploymentId=result["deploymentId"])["deploymentInfo"]
    assert revision_arn(created) == rev1 and REASON in created["description"]
    assert json.loads(created["revision"]["appSpecContent"]["content"])["Resources"][0]["TargetService"][
        "Properties"]["LoadBalancerInfo"] == {"ContainerName": w.CONTAINER, "ContainerPort": w.PORT}
    assert _step(report, "served before")["detail"].startswith(f"{rev1} (deployment {arranged[0]}")
    # Nothing registered: still the four revisions.
    assert len(client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"]) == 4


@pytest.mark.parametrize(("entries", "message"), [
    ((), "is not the target of any Succeeded deployment"),
    ((("rev1", "Succeeded"), ("rev2", "Failed")), "nothing to roll back to"),
])
def test_nothing_in_history_to_roll_back_to(client, capsys, tmp_path, entries, message):
    world = w.build(client, tmp_path)
    revisions = dict(zip(("rev1", "rev2"), _revisions(client, world, 2), strict=True))
    _history(client, *((revisions[name], status) for name, status in entries))
    _serving(client, revisions["rev1"])
    before = _deployments(client)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert message in detail and w.GROUP in detail
    assert f"left: nothing changed; the service still runs {revisions['rev1']}" in detail
    assert _deployments(client) == before  # no deployment created


@pytest.mark.parametrize("failure", ["alarm", "revision", "tasks"])
def test_verification_failing_exits_1_and_says_what_it_left(client, stub_call, codedeploy_walk, capsys, tmp_path,
                                                            failure):
    world = w.build(client, tmp_path)
    _group(stub_call)
    rev1, rev2 = _revisions(client, world, 2)
    arranged = _history(client, (rev1, "Succeeded"), (rev2, "Succeeded"))
    _serving(client, rev2, running=2)
    # "revision": CodeDeploy reports the shift but the service never moved; "tasks": only one task came up.
    codedeploy_walk(_CodeDeploy(client, arranged, ("InProgress", "Succeeded"), swap=failure != "revision",
                                running=1 if failure == "tasks" else 2))
    if failure == "alarm":
        client("cloudwatch").set_alarm_state(AlarmName=w.ALARMS[0], StateValue="ALARM", StateReason="5xx")

    code, report = run_json(capsys, _rollback(world, "--timeout", "3"))

    assert code == 1, report
    expected = {"alarm": "alarms", "revision": "revision", "tasks": "tasks"}[failure]
    assert report["result"]["verified"][expected] is False
    assert sum(not passed for passed in report["result"]["verified"].values()) == 1
    landed = _step(report, "not landed")["detail"]
    assert "did not land after 3s; left:" in landed
    if failure == "alarm":
        assert f"in ALARM: {w.ALARMS[0]}" in landed
    if failure == "revision":
        assert f"primary runs {rev2} (target {rev1})" in landed
    if failure == "tasks":
        assert "1 running of 2 desired" in landed


# --- the stop path -------------------------------------------------------------------------------------------


def _info(deployment_id: str, status: str, arn: str | None = None, **more: Any) -> dict:
    info = {"deploymentId": deployment_id, "applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP,
            "status": status, **more}
    if arn:
        info["revision"] = {"revisionType": "AppSpecContent",
                            "appSpecContent": {"content": appspec(arn, w.CONTAINER, w.PORT)}}
    return {"deploymentInfo": info}


def test_stops_an_in_flight_deployment_and_follows_its_rollback(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    [_, bad] = _history(client, (rev1, "Succeeded"), (rev2, "InProgress"))
    _serving(client, rev1)  # blue: CodeDeploy's rollback has rerouted to it
    _group(stub_call)
    # moto has no StopDeployment and never fills rollbackInfo: Stubber serves both, ListDeployments is moto's.
    stopped = stub_call("codedeploy", "stop_deployment")
    stopped.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"},
                         expected_params={"deploymentId": bad, "autoRollbackEnabled": True})
    followed = stub_call("codedeploy", "get_deployment")
    for deployment_id, info in ((bad, _info(bad, "InProgress", rev2)),
                                (bad, _info(bad, "Stopped", rev2, rollbackInfo={"rollbackDeploymentId": "d-RB"})),
                                ("d-RB", _info("d-RB", "InProgress", rev1)),
                                ("d-RB", _info("d-RB", "Succeeded", rev1))):
        followed.add_response("get_deployment", info, expected_params={"deploymentId": deployment_id})

    code, report = run_json(capsys, _services_json(world))  # as the workflow calls it: no outputs file

    assert code == 0, report
    result = report["result"]
    assert result["path"] == "stop" and result["stoppedDeploymentIds"] == [bad]
    assert (result["rollbackDeploymentId"], result["targetTaskDefinitionArn"]) == ("d-RB", rev1)
    assert result["timeoutSeconds"] == 2970  # the stack's published figure, not the runtime derivation
    assert all(result["verified"].values())
    stopped.assert_no_pending_responses()
    followed.assert_no_pending_responses()
    assert len(_deployments(client)) == 2  # nothing created: CodeDeploy's own rollback did the work


# --- permission denied midway --------------------------------------------------------------------------------


def test_denied_stop_says_the_deployment_still_runs(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    [_, bad] = _history(client, (rev1, "Succeeded"), (rev2, "Ready"))
    # moto enforces no IAM per call (and has no StopDeployment): Stubber answers AccessDenied.
    stub_call("codedeploy", "stop_deployment").add_client_error(
        "stop_deployment", "AccessDeniedException", "not authorized to perform codedeploy:StopDeployment", 400)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert f"deployment {bad} (Ready) could not be stopped" in detail
    assert "permission denied" in detail and "codedeploy:StopDeployment" in detail
    assert "left: it continues under CodeDeploy's own alarms and rollback; stopped so far: none" in detail


def test_denied_continue_says_the_rollback_is_held_in_ready(client, stub_call, codedeploy_walk, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    arranged = _history(client, (rev1, "Succeeded"), (rev2, "Succeeded"))
    _serving(client, rev2)
    codedeploy_walk(_CodeDeploy(client, arranged, ("InProgress", "Ready")))
    # moto enforces no IAM per call (and has no ContinueDeployment): Stubber answers AccessDenied.
    stub_call("codedeploy", "continue_deployment").add_client_error(
        "continue_deployment", "AccessDeniedException", "not authorized", 400)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert "codedeploy:ContinueDeployment" in detail and "permission denied" in detail
    assert f"left: rollback deployment {report['result']['deploymentId']} running in CodeDeploy" in detail


def test_denied_create_changes_nothing(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    _history(client, (rev1, "Succeeded"), (rev2, "Succeeded"))
    _serving(client, rev2)
    # moto enforces no IAM per call: Stubber answers AccessDenied for CreateDeployment only.
    stub_call("codedeploy", "create_deployment").add_client_error(
        "create_deployment", "AccessDeniedException", "not authorized", 400)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert "codedeploy:CreateDeployment" in detail and f"left: nothing changed; the service still runs {rev2}" in detail


# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["--reason", "  "], "--reason: expected a non-empty reason"),
    (["--timeout", "0"], "--timeout and --poll: expected positive seconds"),
    (["--services-json", "{not json", "--cluster", "c"], "--services-json: not valid JSON"),
    (["--services-json", "{}"], "--cluster: required with --services-json"),
    (["--services-json", '{"web": {}}', "--cluster", "c"], "--services-json: no service 'api' (has: web)"),
    (["--services-json", '{"api": {"service": "s"}}', "--cluster", "c"], "api.application is missing"),
    (["--services-json", "{}", "--cluster", "c", "--outputs", "x.json"], "--services-json: not with --outputs"),
    (["--outputs", "no-such.json"], "no-such.json: stack outputs file not found"),
])
def test_bad_flags_exit_2_before_any_call(aws_env, capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    base = ["rollback", "--stack", "production", "--service", "api", "--reason", REASON]
    assert main([*base, *argv]) == 2
    assert message in capsys.readouterr().err


def test_reason_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["rollback", "--stack", "production", "--service", "api"])
    assert exit_info.value.code == 2
    assert "--reason" in capsys.readouterr().err


# --- units ---------------------------------------------------------------------------------------------------


def test_revision_from_a_yaml_appspec_and_a_short_task_definition_name():
    content = "version: 0.0\nResources:\n  - web:\n      Type: AWS::ECS::Service\n      Properties:\n" \
              "        TaskDefinition: api:7\n"
    info = {"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}}
    assert revision_arn(info) == "api:7"
    assert same_revision("arn:aws:ecs:eu-west-1:1:task-definition/api:7", "api:7")
    assert not same_revision("arn:aws:ecs:eu-west-1:1:task-definition/api:7", "api:17")
    assert revision_arn({"revision": {"revisionType": "S3", "s3Location": {}}}) is None


@pytest.mark.parametrize(("config", "shift"), [
    ("CodeDeployDefault.ECSAllAtOnce", 0),
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", 900),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 1800),
])
def test_default_timeout_of_predefined_configs(config, shift):
    report = Report("rollback")
    alarms = {"a": {"Period": 60, "EvaluationPeriods": 3}, "b": {"Period": 300, "EvaluationPeriods": 2}}
    assert default_timeout(None, {"deploymentConfigName": config}, alarms, report) == 600 + shift + 660


def test_default_timeout_reads_a_custom_config():
    # moto has no GetDeploymentConfig: Stubber answers it (a stack's own canary config, as production's).
    codedeploy = boto3.client("codedeploy", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(codedeploy) as stubber:
        stubber.add_response("get_deployment_config", {"deploymentConfigInfo": {"trafficRoutingConfig": {
            "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}}},
            expected_params={"deploymentConfigName": "rampart-production-api-canary"})
        report = Report("rollback")
        assert default_timeout(codedeploy, {"deploymentConfigName": "rampart-production-api-canary"}, {},
                               report) == 900
    assert "300 traffic shift" in report.steps[-1].detail


class _Captured:
    """Matches any non-empty string in expected_params, and keeps it."""

    def __init__(self) -> None:
        self.value: str | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) and other:
            self.value = other
            return True
        return False


def test_a_services_json_value_of_the_wrong_type_is_named_not_echoed(aws_env, capsys, tmp_path, monkeypatch):
    """RAMPART_SERVICES is a CI variable: a value of the wrong type there is named by key and type, never printed."""
    monkeypatch.chdir(tmp_path)
    sentinel = "sentinel-services-json-8e0a"
    services = json.dumps({"api": {"service": "s", "application": {"token": sentinel}}})
    argv = ["rollback", "--stack", "production", "--service", "api", "--reason", REASON, "--cluster", "c",
            "--services-json", services]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert sentinel not in err
    assert "--services-json: api.application is invalid (an object, expected a string); pass --application" in err
