"""`rampart deploy --smoke-url` against moto: green is smoke-tested on the test listener while CodeDeploy holds it
in Ready, then the deployment continues, or stops with rollback; the group must hold green for it.

moto has no ContinueDeployment, never reaches `Ready`, and cannot update a deployment group (so no ready option can
be added to the world's group). These tests serve GetDeployment / ContinueDeployment / StopDeployment /
GetDeploymentGroup from Stubber; registration and CreateDeployment still reach moto, and the smoke checks hit a
real HTTP server on loopback.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rampart.cli import main
from tests.ops import world as w
from tests.ops.conftest import run_json
from tests.ops.deploy_support import _AnyDeployment, _deploy, _info, _latest_deployment

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
