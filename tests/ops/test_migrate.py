"""`rampart migrate` against moto: a one-off task in the service's network, its exit code, its log stream.

moto's ECS tasks always stop with exit code 0: the non-zero case takes DescribeTasks from Stubber, nothing else.
"""

from __future__ import annotations

import http.client
import json
import time

import boto3

from rampart.cli import main as rampart_main
from rampart.ops import aws as ops_aws
from tests.ops import world as w
from tests.ops.conftest import REGION, run_json

MIGRATE_SENTINEL = "sentinel-migrate-pw-0c7d"


def _migrate(world: w.World, *extra: str) -> list[str]:
    return ["migrate", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
            "--command", "python manage.py migrate --noinput", "--wait-delay", "0.05", "--timeout", "5", *extra]


def _task_writes_logs(monkeypatch, lines: list[str]) -> list[dict]:
    """Play the container: when RunTask returns, its awslogs stream appears with `lines` (what ECS would ship)."""
    sent: list[dict] = []
    original = ops_aws.Aws._create

    def create(self, service):
        made = original(self, service)
        if service == "ecs":
            def after_run_task(http_response, parsed, model, **_):
                task_id = parsed["tasks"][0]["taskArn"].rsplit("/", 1)[-1]
                logs = boto3.client("logs", region_name=REGION)
                stream = f"api/{w.CONTAINER}/{task_id}"
                logs.create_log_group(logGroupName=w.LOG_GROUP)
                logs.create_log_stream(logGroupName=w.LOG_GROUP, logStreamName=stream)
                now = int(time.time() * 1000)  # CloudWatch rejects events older than 14 days
                logs.put_log_events(logGroupName=w.LOG_GROUP, logStreamName=stream, logEvents=[
                    {"timestamp": now + i, "message": line} for i, line in enumerate(lines)])

            def capture_params(params, **_):
                sent.append(dict(params))

            made.meta.events.register("provide-client-params.ecs.RunTask", capture_params)
            made.meta.events.register("after-call.ecs.RunTask", after_run_task)
        return made

    monkeypatch.setattr(ops_aws.Aws, "_create", create)
    return sent


def test_runs_in_the_service_network_and_prints_the_log(client, capsys, tmp_path, monkeypatch):
    world = w.build(client, tmp_path)
    sent = _task_writes_logs(monkeypatch, ["Applying app.0042_orders... OK", "done"])

    code, report = run_json(capsys, _migrate(world))

    assert code == 0, report
    # Private like the service: never a public IP on a task that holds database credentials.
    assert sent[0]["networkConfiguration"] == {"awsvpcConfiguration": {
        "subnets": [world.subnet_id], "securityGroups": [world.security_group_id], "assignPublicIp": "DISABLED"}}
    assert sent[0]["count"] == 1
    assert report["result"]["exitCode"] == 0
    assert report["result"]["log"] == ["Applying app.0042_orders... OK", "done"]
    task = client("ecs").describe_tasks(cluster=w.CLUSTER, tasks=[report["result"]["taskArn"]])["tasks"][0]
    assert task["taskDefinitionArn"] == world.task_definition_arn
    assert task["startedBy"] == "rampart-migrate"
    assert task["launchType"] == "FARGATE"
    assert task["overrides"]["containerOverrides"] == [
        {"name": w.CONTAINER, "command": ["python", "manage.py", "migrate", "--noinput"]}]
    eni = client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[d["value"] for d in task["attachments"][0]["details"] if d["name"] == "networkInterfaceId"]
    )["NetworkInterfaces"][0]
    assert eni["SubnetId"] == world.subnet_id
    assert [g["GroupId"] for g in eni["Groups"]] == [world.security_group_id]


def test_text_output_prints_the_log_stream(client, capsys, tmp_path, monkeypatch):
    from rampart.cli import main

    world = w.build(client, tmp_path)
    _task_writes_logs(monkeypatch, ["migrated 3 tables"])

    assert main(_migrate(world)) == 0
    out = capsys.readouterr().out
    assert "--- task log ---" in out and "migrated 3 tables" in out


def test_runs_the_given_revision(client, capsys, tmp_path):
    world = w.build(client, tmp_path)
    ecs = client("ecs")
    current = ecs.describe_task_definition(taskDefinition=world.task_definition_arn)["taskDefinition"]
    new = ecs.register_task_definition(
        family=w.FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=current["containerDefinitions"],
    )["taskDefinition"]["taskDefinitionArn"]

    # The command holds a credential: it runs as given, and the report does not print its arguments.
    command = f"python manage.py migrate --database=postgres://app:{MIGRATE_SENTINEL}@db/app"
    code, report = run_json(capsys, _migrate(world, "--task-definition", new, "--command", command))

    assert code == 0, report
    assert MIGRATE_SENTINEL not in json.dumps(report)
    assert "python and 3 argument(s)" in next(s["detail"] for s in report["steps"] if s["name"] == "task started")
    task = ecs.describe_tasks(cluster=w.CLUSTER, tasks=[report["result"]["taskArn"]])["tasks"][0]
    assert task["taskDefinitionArn"] == new
    assert task["overrides"]["containerOverrides"][0]["command"][-1].endswith(f"{MIGRATE_SENTINEL}@db/app")
    assert any(s["name"] == "logs" and s["status"] == "skip" for s in report["steps"])  # no stream was written


def test_exits_with_the_container_exit_code(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    # moto's tasks always stop with exit code 0; Stubber answers DescribeTasks (the command's read of the result).
    stubber = stub_call("ecs", "describe_tasks")
    stopped = {"tasks": [{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/rampart-production/abc",
                          "lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
                          "containers": [{"name": w.CONTAINER, "exitCode": 3, "lastStatus": "STOPPED"}]}],
               "failures": []}
    stubber.add_response("describe_tasks", stopped)  # the tasks_stopped waiter
    stubber.add_response("describe_tasks", stopped)  # the result

    code, report = run_json(capsys, _migrate(world))

    assert code == 3
    assert report["exitCode"] == 3 and report["result"]["exitCode"] == 3
    assert report["steps"][-1] == {"name": "migration failed", "status": "fail", "detail": "exit code 3"}


def test_container_without_exit_code_fails(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    stubber = stub_call("ecs", "describe_tasks")  # moto always reports an exit code
    stopped = {"tasks": [{"lastStatus": "STOPPED", "stoppedReason": "CannotPullContainerError: no such image",
                          "containers": [{"name": w.CONTAINER, "lastStatus": "STOPPED"}]}]}
    stubber.add_response("describe_tasks", stopped)
    stubber.add_response("describe_tasks", stopped)

    code, report = run_json(capsys, _migrate(world))

    assert code == 1
    assert "CannotPullContainerError" in report["steps"][-1]["detail"]


def test_task_still_running_at_timeout_is_left_running_and_fails(client, aws_env, capsys, tmp_path):
    world = w.build(client, tmp_path)
    # moto's state manager: keep tasks RUNNING (moto stops them at once by default).
    _moto_api(aws_env, "set-transition", {"model_name": "ecs::task",
                                          "transition": {"progression": "manual", "times": 10_000}})
    try:
        code, report = run_json(capsys, _migrate(world, "--timeout", "0.3"))
    finally:
        _moto_api(aws_env, "unset-transition", {"model_name": "ecs::task"})

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert "still running after 0.3s" in detail and "left running" in detail
    task = client("ecs").describe_tasks(cluster=w.CLUSTER, tasks=[report["result"]["taskArn"]])["tasks"][0]
    assert task["desiredStatus"] == "RUNNING"  # not stopped by us


def _moto_api(endpoint: str, action: str, body: dict) -> None:
    host, _, port = endpoint.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", f"/moto-api/state-manager/{action}", body=json.dumps(body))
    assert connection.getresponse().status < 300
    connection.close()


def test_missing_service_is_a_clear_failure(client, capsys, tmp_path):
    world = w.build(client, tmp_path)

    code, report = run_json(capsys, _migrate(world, "--ecs-service", "no-such-service"))

    assert code == 1
    assert "no-such-service" in report["steps"][-1]["detail"] and "not found" in report["steps"][-1]["detail"]


def test_an_unsplittable_command_is_refused_without_echoing_it(client, capsys, tmp_path):
    """A migration command can carry a password (`--password=...`, a database URL): the error names the flag and
    why it cannot be split, never the command."""
    world = w.build(client, tmp_path)
    argv = _migrate(world, "--command", f"psql 'postgres://app:{MIGRATE_SENTINEL}@db/app")  # unclosed quote

    code = rampart_main([*argv, "--format", "json"])
    printed = "".join(capsys.readouterr())

    assert code != 0 and MIGRATE_SENTINEL not in printed
    assert "--command: cannot split" in printed and "No closing quotation" in printed
