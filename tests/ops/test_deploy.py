"""`rampart deploy` against moto: revision registration, AppSpec, following the deployment, rollback on timeout.

moto keeps every CodeDeploy deployment in `Created` and has no StopDeployment: where a test needs a deployment to
progress, or to be stopped, Stubber serves GetDeployment / StopDeployment only; all other calls reach moto.

The smoke gate: moto has no ContinueDeployment, never reaches `Ready`, and cannot update a deployment group (so
no ready option can be added to the world's group). Those tests serve GetDeployment / ContinueDeployment /
StopDeployment / GetDeploymentGroup from Stubber; registration and CreateDeployment still reach moto, and the
smoke checks hit a real HTTP server on loopback.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rampart.cli import main
from tests.ops import world as w
from tests.ops.conftest import run_json

NEW_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v2"


def _deploy(world: w.World, *extra: str) -> list[str]:
    # The world's outputs carry no services.<s>.deployment, so the timeout is given (the derived default is
    # tested in test_deploy_timing.py); a later --timeout in `extra` wins.
    return ["deploy", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
            "--image", NEW_IMAGE, "--poll", "0.02", "--timeout", "60", *extra]


def _info(deployment_id: str, status: str, **more) -> dict:
    return {"deploymentInfo": {"deploymentId": deployment_id, "applicationName": w.APPLICATION,
                               "deploymentGroupName": w.GROUP, "status": status, **more}}


def _latest_deployment(codedeploy) -> dict:
    ids = codedeploy.list_deployments(applicationName=w.APPLICATION, deploymentGroupName=w.GROUP)["deployments"]
    assert len(ids) == 1
    return codedeploy.get_deployment(deploymentId=ids[0])["deploymentInfo"]


def test_registers_revision_and_creates_deployment_with_appspec(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    stubber = stub_call("codedeploy", "get_deployment")  # moto never moves a deployment past Created
    for status in ("InProgress", "InProgress", "Baking", "Succeeded"):
        stubber.add_response("get_deployment", _info("d-STUB", status))

    # --wait-for-bake: follow the whole walk (by default the command returns at Baking).
    code, report = run_json(capsys, _deploy(world, "--wait-for-bake"))

    assert code == 0, report
    new_arn = report["result"]["taskDefinitionArn"]
    assert new_arn != world.task_definition_arn and new_arn.endswith(":2")
    ecs = client("ecs")
    described = ecs.describe_task_definition(taskDefinition=new_arn, include=["TAGS"])
    new = described["taskDefinition"]
    images = {c["name"]: c["image"] for c in new["containerDefinitions"]}
    assert images == {w.CONTAINER: NEW_IMAGE, "sidecar": "public.ecr.aws/xray/aws-xray-daemon:3.3"}
    # Everything else is carried over from the running revision.
    app = next(c for c in new["containerDefinitions"] if c["name"] == w.CONTAINER)
    assert app["portMappings"][0]["containerPort"] == w.PORT
    assert app["logConfiguration"]["options"]["awslogs-group"] == w.LOG_GROUP
    assert app["environment"] == [{"name": "MODE", "value": "production"}]
    assert (new["networkMode"], new["cpu"], new["memory"]) == ("awsvpc", "256", "512")
    assert new["executionRoleArn"].endswith("role/exec") and new["taskRoleArn"].endswith("role/task")
    assert new["requiresCompatibilities"] == ["FARGATE"]
    assert described["tags"] == [{"key": "rampart:stack", "value": "production"}]

    deployment = _latest_deployment(client("codedeploy"))
    assert report["result"]["deploymentId"] == deployment["deploymentId"]
    content = deployment["revision"]["appSpecContent"]["content"]
    target = json.loads(content)["Resources"][0]["TargetService"]
    assert target["Type"] == "AWS::ECS::Service"
    assert target["Properties"]["TaskDefinition"] == new_arn
    assert target["Properties"]["LoadBalancerInfo"] == {"ContainerName": w.CONTAINER, "ContainerPort": w.PORT}

    statuses = [s["name"] for s in report["steps"] if s["name"].startswith("status ")]
    assert statuses == ["status InProgress", "status Baking", "status Succeeded"]  # transitions only
    stubber.assert_no_pending_responses()


def test_failed_deployment_reports_rollback_and_exits_1(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    stubber = stub_call("codedeploy", "get_deployment")
    stubber.add_response("get_deployment", _info("d-STUB", "InProgress"))
    stubber.add_response("get_deployment", _info(
        "d-STUB", "Failed",
        errorInformation={"code": "ALARM_ACTIVE", "message": "alarm rampart-production-api-5xx fired"},
        rollbackInfo={"rollbackDeploymentId": "d-ROLLBACK", "rollbackMessage": "rolled back on alarm"},
    ))

    code, report = run_json(capsys, _deploy(world))

    assert code == 1
    assert report["result"]["status"] == "Failed"
    assert report["result"]["rollbackDeploymentId"] == "d-ROLLBACK"
    names = [s["name"] for s in report["steps"]]
    assert "deployment failed" in names and "rolled back" in names
    assert "ALARM_ACTIVE" in next(s["detail"] for s in report["steps"] if s["name"] == "deployment failed")


def test_timeout_stops_the_deployment_with_rollback(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    # moto has no StopDeployment; GetDeployment is real (moto keeps it in Created, which is what times out).
    stubber = stub_call("codedeploy", "stop_deployment")
    stubber.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping; rolling back"},
                         expected_params={"deploymentId": _AnyDeployment(), "autoRollbackEnabled": True})

    code, report = run_json(capsys, _deploy(world, "--timeout", "0.2"))

    assert code == 1
    assert report["result"]["status"] == "TimedOut"
    assert report["result"]["stopStatus"] == "Pending"
    assert [s["name"] for s in report["steps"]][-2:] == ["timed out", "rollback requested"]
    stubber.assert_no_pending_responses()  # the stop was sent, with autoRollbackEnabled=True


class _AnyDeployment:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) > 0


def test_missing_deployment_group_fails_before_registering(client, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False)

    code, report = run_json(capsys, _deploy(world))

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert "not found" in detail and w.GROUP in detail
    revisions = client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"]
    assert revisions == [world.task_definition_arn]


def test_register_only_prints_the_new_revision(client, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False)

    code, report = run_json(capsys, _deploy(world, "--register-only"))

    assert code == 0, report
    assert report["result"]["taskDefinitionArn"].endswith(":2")
    assert "deploymentId" not in report["result"]


def test_register_from_the_revision_pulumi_registered_not_the_running_one(client, capsys, tmp_path):
    # `pulumi up` registers a revision with the stack's latest settings (cpu, environment, secret versions) while the
    # service keeps running the old one (CodeDeploy owns it): the built image must land on top of the new settings.
    world = w.build(client, tmp_path, with_group=False)
    ecs = client("ecs")
    running = ecs.describe_task_definition(taskDefinition=world.task_definition_arn)["taskDefinition"]
    keep = {k: running[k] for k in ("family", "networkMode", "requiresCompatibilities", "executionRoleArn")
            if k in running}
    containers = [{**c, "environment": [{"name": "FEATURE", "value": "on"}]} for c in running["containerDefinitions"]]
    pulumi_revision = ecs.register_task_definition(**keep, cpu="512", memory="1024",
                                                   containerDefinitions=containers)["taskDefinition"]
    built = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:" + "ab" * 32

    argv = _deploy(world, "--register-only", "--from-task-definition", pulumi_revision["taskDefinitionArn"])
    argv[argv.index(NEW_IMAGE)] = built
    code, report = run_json(capsys, argv)

    assert code == 0, report
    new = ecs.describe_task_definition(taskDefinition=report["result"]["taskDefinitionArn"])["taskDefinition"]
    assert new["revision"] == pulumi_revision["revision"] + 1
    assert (new["cpu"], new["memory"]) == ("512", "1024")
    container = next(c for c in new["containerDefinitions"] if c["name"] == world.outputs["services"][w.SERVICE][
        "containerName"])
    assert container["image"] == built
    assert {"name": "FEATURE", "value": "on"} in container["environment"]


def test_from_task_definition_needs_an_image(client, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False)
    argv = _deploy(world, "--from-task-definition", world.task_definition_arn)
    argv[argv.index("--image"):argv.index("--image") + 2] = ["--task-definition", world.task_definition_arn]
    assert main(argv) == 2
    assert "--from-task-definition: needs --image" in capsys.readouterr().err


def test_deploys_a_given_revision_without_registering(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    stubber = stub_call("codedeploy", "get_deployment")
    stubber.add_response("get_deployment", _info("d-STUB", "Succeeded"))
    argv = _deploy(world)
    argv[argv.index("--image"):argv.index("--image") + 2] = ["--task-definition", world.task_definition_arn]

    code, report = run_json(capsys, argv)

    assert code == 0, report
    assert client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"] == [
        world.task_definition_arn]
    content = _latest_deployment(client("codedeploy"))["revision"]["appSpecContent"]["content"]
    assert json.loads(content)["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == \
        world.task_definition_arn


def test_flags_override_outputs(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**world.outputs, "clusterName": "no-such-cluster"}))
    stubber = stub_call("codedeploy", "get_deployment")
    stubber.add_response("get_deployment", _info("d-STUB", "Succeeded"))

    code, report = run_json(capsys, ["deploy", "--outputs", str(broken), "--service", w.SERVICE, "--cluster",
                                     w.CLUSTER, "--image", NEW_IMAGE, "--poll", "0.02", "--timeout", "60"])

    assert code == 0, report


def test_missing_service_key_is_a_usage_error(client, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False)
    assert main(["deploy", "--outputs", str(world.outputs_path), "--service", "web", "--image", NEW_IMAGE]) == 2
    err = capsys.readouterr().err
    assert "services.web" in err and str(world.outputs_path) in err


def test_missing_outputs_file_is_a_usage_error(aws_env, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "--stack", "staging", "--service", "api", "--image", NEW_IMAGE]) == 2
    assert ".rampart/outputs/staging.json" in capsys.readouterr().err


def test_text_report(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    stubber = stub_call("codedeploy", "get_deployment")
    stubber.add_response("get_deployment", _info("d-STUB", "Succeeded"))

    assert main(_deploy(world)) == 0
    out = capsys.readouterr().out
    assert "deployment started" in out and "Succeeded" in out and "deploy: ok" in out


# --- the smoke gate ---------------------------------------------------------------------------------------------


class _Listener(BaseHTTPRequestHandler):
    """The test listener: /health answers 200, anything else 500."""

    hits: Counter[str] = Counter()
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with self.lock:
            self.hits[self.path] += 1
        body = b"ok\n"
        self.send_response(200 if self.path == "/health" else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def listener():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _Captured:
    """Matches any non-empty string in expected_params, and keeps it to compare with the created deployment."""

    def __init__(self) -> None:
        self.value: str | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) and other:
            self.value = other
            return True
        return False


def _group(action: str | None) -> dict:
    blue_green = {"deploymentReadyOption": {"actionOnTimeout": action, "waitTimeInMinutes": 30}} if action else {}
    return {"deploymentGroupInfo": {"applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP,
                                    "computePlatform": "ECS", "blueGreenDeploymentConfiguration": blue_green}}


def _gated_group(stub_call, action: str | None = "STOP_DEPLOYMENT"):
    stubber = stub_call("codedeploy", "get_deployment_group")
    stubber.add_response("get_deployment_group", _group(action),
                         expected_params={"applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP})
    return stubber


def _statuses(stub_call, *statuses: str):
    stubber = stub_call("codedeploy", "get_deployment")
    for status in statuses:
        stubber.add_response("get_deployment", _info("d-STUB", status))
    return stubber


def _names(report: dict) -> list[str]:
    return [s["name"] for s in report["steps"]]


def test_smoke_pass_continues_the_deployment(client, stub_call, capsys, tmp_path, listener):
    world = w.build(client, tmp_path)
    group = _gated_group(stub_call)
    deployment = _statuses(stub_call, "InProgress", "Ready", "InProgress", "Baking", "Succeeded")
    continued = stub_call("codedeploy", "continue_deployment")
    deployment_id = _Captured()
    continued.add_response("continue_deployment", {},
                           expected_params={"deploymentId": deployment_id, "deploymentWaitType": "READY_WAIT"})
    before = _Listener.hits["/health"]

    code, report = run_json(capsys, _deploy(world, "--smoke-url", listener, "--smoke-path", "/health",
                                            "--wait-for-bake"))

    assert code == 0, report
    continued.assert_no_pending_responses()
    assert deployment_id.value == report["result"]["deploymentId"] == _latest_deployment(client("codedeploy"))[
        "deploymentId"]
    assert _Listener.hits["/health"] == before + 1
    names = _names(report)
    # Smoke between Ready and the go-ahead, then the deployment is followed to the end.
    gate = names.index("green ready on the test listener")
    assert names[gate:gate + 3] == ["green ready on the test listener", "GET /health", "traffic shifting"]
    assert names[-1] == "status Succeeded"
    assert report["result"]["status"] == "Succeeded"
    assert report["result"]["smoke"]["checks"][0]["ok"] is True
    group.assert_no_pending_responses()
    deployment.assert_no_pending_responses()


def test_smoke_failure_stops_with_rollback_and_names_the_path(client, stub_call, capsys, tmp_path, listener):
    world = w.build(client, tmp_path)
    _gated_group(stub_call)
    _statuses(stub_call, "InProgress", "Ready")
    # No response queued: a ContinueDeployment would surface as an "error" step, which the step list rules out.
    stub_call("codedeploy", "continue_deployment")
    stopped = stub_call("codedeploy", "stop_deployment")
    stopped.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping; rolling back"},
                         expected_params={"deploymentId": _AnyDeployment(), "autoRollbackEnabled": True})

    code, report = run_json(capsys, _deploy(world, "--smoke-url", listener, "--smoke-path", "/health",
                                            "--smoke-path", "/fail", "--smoke-attempts", "1"))

    assert code == 1
    stopped.assert_no_pending_responses()
    names = _names(report)
    assert "traffic shifting" not in names and "error" not in names
    assert names[-5:] == ["green ready on the test listener", "GET /health", "GET /fail", "smoke failed",
                          "rollback requested"]
    detail = next(s["detail"] for s in report["steps"] if s["name"] == "smoke failed")
    assert "GET /fail: HTTP 500" in detail and "/health" not in detail
    assert report["result"]["status"] == "SmokeFailed" and report["result"]["stopStatus"] == "Pending"


def test_smoke_failure_when_the_stop_fails_says_so(client, stub_call, capsys, tmp_path, listener):
    world = w.build(client, tmp_path)
    _gated_group(stub_call)
    _statuses(stub_call, "Ready")
    stopped = stub_call("codedeploy", "stop_deployment")
    stopped.add_client_error("stop_deployment", "AccessDeniedException", "not allowed", 400)

    code, report = run_json(capsys, _deploy(world, "--smoke-url", listener, "--smoke-path", "/fail",
                                            "--smoke-attempts", "1"))

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert report["steps"][-1]["name"] == "error"
    assert "GET /fail" in detail and "could not be stopped" in detail and "ready wait expires" in detail


@pytest.mark.parametrize("action", [None, "CONTINUE_DEPLOYMENT"])
def test_group_without_ready_wait_is_a_usage_error_before_any_deployment(client, stub_call, capsys, tmp_path,
                                                                         listener, action):
    world = w.build(client, tmp_path)
    if action is not None:
        _gated_group(stub_call, action)
    # else: moto's own group, created with no blue/green configuration at all

    # A short --timeout: were the check missing, moto's deployment would sit in Created until then.
    assert main(_deploy(world, "--smoke-url", listener, "--timeout", "2")) == 2

    err = capsys.readouterr().err
    assert w.GROUP in err and "STOP_DEPLOYMENT" in err and (action or "not set") in err
    codedeploy = client("codedeploy")
    assert codedeploy.list_deployments(applicationName=w.APPLICATION, deploymentGroupName=w.GROUP)[
        "deployments"] == []
    assert client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"] == [
        world.task_definition_arn]


def test_shift_without_ready_reports_the_bypassed_gate(client, stub_call, capsys, tmp_path, listener):
    world = w.build(client, tmp_path)
    _gated_group(stub_call)  # the group changed between the check and the deployment
    _statuses(stub_call, "InProgress", "Succeeded")
    before = sum(_Listener.hits.values())

    code, report = run_json(capsys, _deploy(world, "--smoke-url", listener))

    assert code == 2
    assert _names(report)[-1] == "smoke gate bypassed"
    assert "without waiting in Ready" in report["steps"][-1]["detail"]
    assert sum(_Listener.hits.values()) == before


def test_without_smoke_url_ready_is_only_followed(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)  # moto's group has no ready option: not checked without --smoke-url
    _statuses(stub_call, "Ready", "Succeeded")
    stub_call("codedeploy", "continue_deployment")  # nothing queued: a call would be an "error" step

    code, report = run_json(capsys, _deploy(world))

    assert code == 0, report
    assert _names(report)[-2:] == ["status Ready", "status Succeeded"]
    assert "smoke" not in report["result"]


def test_continue_when_ready_lets_a_held_rollback_go_on(client, stub_call, capsys, tmp_path):
    # A rollback deploys a revision that already served traffic: no smoke gate, but the group still holds it.
    world = w.build(client, tmp_path)
    _statuses(stub_call, "InProgress", "Ready", "Baking", "Succeeded")
    continued = stub_call("codedeploy", "continue_deployment")
    deployment_id = _Captured()
    continued.add_response("continue_deployment", {},
                           expected_params={"deploymentId": deployment_id, "deploymentWaitType": "READY_WAIT"})

    code, report = run_json(capsys, _deploy(world, "--continue-when-ready"))

    assert code == 0, report
    continued.assert_no_pending_responses()
    assert deployment_id.value == report["result"]["deploymentId"]
    names = _names(report)
    assert names[names.index("status Ready") + 1] == "traffic shifting"


@pytest.mark.parametrize(("extra", "message"), [
    (["--smoke-url", "http://127.0.0.1:1", "--continue-when-ready"], "--continue-when-ready: not with --smoke-url"),
    (["--smoke-path", "/health"], "--smoke-path: needs --smoke-url"),
    (["--insecure"], "--insecure: needs --smoke-url"),
    (["--smoke-url", "ftp://example.com"], "--smoke-url: expected an http:// or https:// URL"),
    (["--smoke-url", "http://127.0.0.1:1", "--smoke-attempts", "0"], "--smoke-attempts: expected at least 1"),
    (["--smoke-url", "http://127.0.0.1:1", "--register-only"], "--register-only"),
])
def test_smoke_flag_usage_errors(client, capsys, tmp_path, extra, message):
    world = w.build(client, tmp_path)

    assert main(_deploy(world, *extra)) == 2

    assert message in capsys.readouterr().err
    assert client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"] == [
        world.task_definition_arn]
