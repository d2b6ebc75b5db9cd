"""`rampart smoke --via-task` and `rampart deploy --smoke-task` against moto: the smoke task runs in the private
subnets with the curl checks as its command, is judged by its exit code, and its log lines reach the report.

moto's ECS tasks always stop with exit code 0 and write no logs: the container's log stream is written by the test
when RunTask returns (what awslogs would ship), and a non-zero exit takes DescribeTasks from Stubber.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest

from rampart.ops import aws as ops_aws
from rampart.ops.smoke import SmokeOptions
from rampart.ops.smoke_task import curl_command
from tests.ops import world as w
from tests.ops.conftest import REGION, run_json

FAMILY = "rampart-production-smoke"
LOG_GROUP = "/ecs/rampart-production-smoke"
URL = "https://lb.example.com:8443"


def _with_smoke_task(client, world: w.World) -> None:
    """The stack's smoke task definition and its outputs entry, as components/smoke_runner.py declares them."""
    client("ecs").register_task_definition(
        family=FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "smoke", "image": "public.ecr.aws/curlimages/curl@sha256:" + "a" * 64,
                               # container cpu/memory only because moto's RunTask adds them up
                               "cpu": 256, "memory": 512, "user": "100:101", "readonlyRootFilesystem": True,
                               "command": ["curl", "--version"],
                               "logConfiguration": {"logDriver": "awslogs", "options": {
                                   "awslogs-group": LOG_GROUP, "awslogs-region": REGION,
                                   "awslogs-stream-prefix": "smoke"}}}])
    outputs = json.loads(world.outputs_path.read_text())
    outputs["smokeTask"] = {"family": FAMILY, "containerName": "smoke", "subnetIds": [world.subnet_id],
                            "securityGroupIds": [world.security_group_id], "logGroupName": LOG_GROUP}
    world.outputs_path.write_text(json.dumps(outputs))


def _task_logs(monkeypatch, lines: list[str]) -> list[dict]:
    """Play the container: when RunTask returns, its awslogs stream holds `lines`. Returns RunTask's params."""
    sent: list[dict] = []
    original = ops_aws.Aws._create

    def create(self, service):
        made = original(self, service)
        if service == "ecs":
            def after_run_task(parsed, **_):
                task_id = parsed["tasks"][0]["taskArn"].rsplit("/", 1)[-1]
                logs = boto3.client("logs", region_name=REGION)
                stream = f"smoke/smoke/{task_id}"
                logs.create_log_group(logGroupName=LOG_GROUP)
                logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
                now = int(time.time() * 1000)
                logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=[
                    {"timestamp": now + i, "message": line} for i, line in enumerate(lines)])

            made.meta.events.register("provide-client-params.ecs.RunTask", lambda params, **_: sent.append(params))
            made.meta.events.register("after-call.ecs.RunTask", after_run_task)
        return made

    monkeypatch.setattr(ops_aws.Aws, "_create", create)
    return sent


def _smoke(world: w.World, *extra: str) -> list[str]:
    return ["smoke", "--via-task", "--stack", "production", "--outputs", str(world.outputs_path), "--url", URL,
            "--path", "/health", "--path", "/ready", *extra]


def test_runs_in_the_private_subnets_with_the_checks_and_copies_the_log(client, capsys, tmp_path, monkeypatch):
    world = w.build(client, tmp_path)
    _with_smoke_task(client, world)
    sent = _task_logs(monkeypatch, ["rampart-smoke 0 ok 200 0.012s", "rampart-smoke 1 ok 204 0.020s"])

    code, report = run_json(capsys, _smoke(world, "--insecure"))

    assert code == 0, report
    (params,) = sent
    assert params["taskDefinition"] == FAMILY and params["launchType"] == "FARGATE"
    assert params["networkConfiguration"] == {"awsvpcConfiguration": {
        "subnets": [world.subnet_id], "securityGroups": [world.security_group_id], "assignPublicIp": "DISABLED"}}
    (override,) = params["overrides"]["containerOverrides"]
    assert override["name"] == "smoke"
    script = override["command"][2]
    assert f"{URL}/health" in script and f"{URL}/ready" in script and "--insecure" in script
    assert [c["ok"] for c in report["result"]["checks"]] == [True, True]
    assert [c["status"] for c in report["result"]["checks"]] == [200, 204]
    assert report["result"]["smokeTask"]["exitCode"] == 0
    assert report["result"]["smokeTask"]["log"] == ["rampart-smoke 0 ok 200 0.012s", "rampart-smoke 1 ok 204 0.020s"]
    task = client("ecs").describe_tasks(cluster=w.CLUSTER, tasks=[report["result"]["smokeTask"]["taskArn"]])
    assert task["tasks"][0]["startedBy"] == "rampart-smoke"


def test_a_non_zero_exit_fails_the_checks_with_the_log_line(client, stub_call, capsys, tmp_path, monkeypatch):
    world = w.build(client, tmp_path)
    _with_smoke_task(client, world)
    _task_logs(monkeypatch, ["rampart-smoke 0 ok 200 0.010s",
                             "rampart-smoke 1 fail curl: (22) The requested URL returned error: 503 503 0.3s"])
    # moto's tasks always exit 0: Stubber answers DescribeTasks (waiter, then the result) with the failed curl.
    stubber = stub_call("ecs", "describe_tasks")
    stopped = {"tasks": [{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/rampart-production/abc",
                          "lastStatus": "STOPPED", "containers": [{"name": "smoke", "exitCode": 1}]}], "failures": []}
    stubber.add_response("describe_tasks", stopped)
    stubber.add_response("describe_tasks", stopped)

    code, report = run_json(capsys, _smoke(world))

    assert code == 1, report
    checks = report["result"]["checks"]
    assert [c["ok"] for c in checks] == [True, False]
    assert checks[1]["status"] == 503 and "returned error: 503" in checks[1]["problems"][-1]


def test_without_log_lines_the_exit_code_alone_judges(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    _with_smoke_task(client, world)
    stubber = stub_call("ecs", "describe_tasks")
    stopped = {"tasks": [{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/rampart-production/abc",
                          "lastStatus": "STOPPED", "containers": [{"name": "smoke", "exitCode": 7}]}], "failures": []}
    stubber.add_response("describe_tasks", stopped)
    stubber.add_response("describe_tasks", stopped)

    code, report = run_json(capsys, _smoke(world))

    assert code == 1, report
    assert not any(c["ok"] for c in report["result"]["checks"])


def test_missing_smoke_task_output_is_a_usage_error(client, capsys, tmp_path):
    from rampart.cli import main

    world = w.build(client, tmp_path)
    assert main(_smoke(world)) == 2
    assert "smokeTask.family" in capsys.readouterr().err


def test_stack_flags_need_via_task(capsys, tmp_path):
    from rampart.cli import main

    assert main(["smoke", "--url", URL, "--stack", "production"]) == 2
    assert "--stack: only with --via-task" in capsys.readouterr().err


def test_curl_command_retries_fails_on_http_errors_and_is_insecure_only_when_asked():
    secure = curl_command(SmokeOptions(url=URL + "/", paths=("/health",), attempts=4))
    assert secure[:2] == ["sh", "-c"]
    assert "--fail" in secure[2] and "--retry 3" in secure[2] and "--retry-all-errors" in secure[2]
    assert "--insecure" not in secure[2] and f"{URL}/health" in secure[2]
    assert "--insecure" in curl_command(SmokeOptions(url=URL, insecure=True))[2]
    hostile = curl_command(SmokeOptions(url=URL, paths=("/x; rm -rf /",)))[2]
    assert "'https://lb.example.com:8443/x; rm -rf /'" in hostile  # quoted, never run as shell


def test_deploy_gate_runs_the_smoke_task_and_continues(client, stub_call, capsys, tmp_path, monkeypatch):
    world = w.build(client, tmp_path)
    _with_smoke_task(client, world)
    sent = _task_logs(monkeypatch, ["rampart-smoke 0 ok 200 0.010s"])
    # moto's CodeDeploy never holds a deployment in Ready nor continues one: those three calls come from Stubber.
    group = {"deploymentGroupInfo": {"applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP,
                                     "blueGreenDeploymentConfiguration": {"deploymentReadyOption": {
                                         "actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}}}}
    stub_call("codedeploy", "get_deployment_group").add_response("get_deployment_group", group)
    statuses = stub_call("codedeploy", "get_deployment")
    for status in ("Ready", "Succeeded"):
        statuses.add_response("get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": status}})
    stub_call("codedeploy", "continue_deployment").add_response("continue_deployment", {})

    code, report = run_json(capsys, [
        "deploy", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
        "--task-definition", world.task_definition_arn, "--smoke-url", URL, "--smoke-path", "/health",
        "--smoke-task", "--poll", "0.01", "--timeout", "30"])

    assert code == 0, report
    assert len(sent) == 1 and sent[0]["taskDefinition"] == FAMILY
    assert report["result"]["smoke"]["checks"][0]["ok"] is True


def test_deploy_smoke_task_needs_a_smoke_url(capsys, tmp_path):
    from rampart.cli import main

    assert main(["deploy", "--service", "api", "--task-definition", "arn:x", "--smoke-task", "--timeout", "5",
                 "--cluster", "c", "--ecs-service", "s", "--application", "a", "--deployment-group", "g",
                 "--container", "app", "--container-port", "80"]) == 2
    assert "--smoke-task: needs --smoke-url" in capsys.readouterr().err


@pytest.mark.parametrize(("answer", "verdict"), [("200 0.01s", "ok"), ("204 0.01s", "ok"), ("302 0.01s", "fail"),
                                                 ("301 0.01s", "fail")])
def test_the_task_script_passes_only_a_2xx(tmp_path, answer, verdict):
    import os
    import subprocess

    fake = tmp_path / "curl"  # curl --fail exits 0 on a 3xx: the script itself must judge the status
    fake.write_text(f"#!/bin/sh\nprintf '%s' '{answer}'\n")
    fake.chmod(0o755)
    script = curl_command(SmokeOptions(url=URL, paths=("/health",)))
    run = subprocess.run(script, capture_output=True, text=True, timeout=10,
                         env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert run.stdout.split()[:3] == ["rampart-smoke", "0", verdict], run.stdout
    assert run.returncode == (0 if verdict == "ok" else 1)
