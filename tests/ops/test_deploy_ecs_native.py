"""`rampart deploy` for an ECS-native blue/green service: a new revision, UpdateService, the service deployment
followed through the smoke gate at its pause hook, rollback on smoke failure and on timeout before the shift.

Registration, DescribeTaskDefinition, UpdateService and DescribeAlarms reach moto. Stubber serves the rest, because
moto 5.2.5 has none of ListServiceDeployments, DescribeServiceDeployments, ContinueServiceDeployment and
StopServiceDeployment, and keeps no `deploymentConfiguration` (strategy, alarms, lifecycle hooks) on a service,
so its DescribeServices cannot say whether a service is ECS-native blue/green.
"""

from __future__ import annotations

import json

import pytest

from rampart.cli import main
from tests.ops import world as w
from tests.ops.conftest import run_json
from tests.ops.deploy_support import NEW_IMAGE
from tests.ops.test_deploy_smoke_gate import listener  # noqa: F401 - the smoke listener fixture

ACCOUNT = "123456789012"
DEPLOYMENT = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service-deployment/{w.CLUSTER}/{w.ECS_SERVICE}/Abc123"
HOOK = "ecs-pause-e7tK9G"
URL_SENTINEL = "sentinel-listener-pw-2f8a"
PAUSE = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
         "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": 30}}


def _native_world(client, tmp_path, *, traffic_control: str | None = "ECS") -> w.World:
    world = w.build(client, tmp_path)
    if traffic_control:
        outputs = json.loads(world.outputs_path.read_text())
        outputs["services"][w.SERVICE]["trafficControl"] = traffic_control
        world.outputs_path.write_text(json.dumps(outputs))
    return world


def _service(world: w.World, client, *, strategy: str = "BLUE_GREEN", hooks=(PAUSE,)) -> dict:
    """moto's own description, with the deployment configuration moto drops."""
    [described] = client("ecs").describe_services(cluster=w.CLUSTER, services=[w.ECS_SERVICE])["services"]
    described = {k: v for k, v in described.items() if k not in ("taskSets", "createdAt", "deployments", "events")}
    described["deploymentController"] = {"type": "ECS"}
    described["deploymentConfiguration"] = {
        "strategy": strategy, "bakeTimeInMinutes": 30, "lifecycleHooks": list(hooks),
        "alarms": {"alarmNames": list(world.outputs["services"][w.SERVICE]["alarmNames"]), "enable": True,
                   "rollback": True}}
    return {"services": [described], "failures": []}


def _stub_service(stub_call, world, client, **kwargs):
    stubber = stub_call("ecs", "describe_services")
    stubber.add_response("describe_services", _service(world, client, **kwargs),
                         expected_params={"cluster": w.CLUSTER, "services": [w.ECS_SERVICE]})
    return stubber


def _deployment(status: str, stage: str, *, awaiting: bool = False) -> dict:
    hooks = [{"hookId": HOOK, "targetType": "PAUSE", "status": "AWAITING_ACTION"}] if awaiting else []
    return {"serviceDeployments": [{"serviceDeploymentArn": DEPLOYMENT, "status": status, "lifecycleStage": stage,
                                    "lifecycleHookDetails": hooks}]}


def _walk(stub_call, *steps: tuple) -> None:
    listed = stub_call("ecs", "list_service_deployments")
    listed.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "PENDING"}]})
    described = stub_call("ecs", "describe_service_deployments")
    for step in steps:
        described.add_response("describe_service_deployments", _deployment(*step[:2], awaiting=len(step) > 2),
                               expected_params={"serviceDeploymentArns": [DEPLOYMENT]})


def _deploy(world: w.World, *extra: str) -> list[str]:
    return ["deploy", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
            "--image", NEW_IMAGE, "--poll", "0.01", "--timeout", "60", *extra]


def test_smoke_gate_at_the_pause_hook_then_shift(client, stub_call, capsys, tmp_path, listener):  # noqa: F811
    world = _native_world(client, tmp_path)
    _stub_service(stub_call, world, client)
    _walk(stub_call, ("IN_PROGRESS", "TEST_TRAFFIC_SHIFT"), ("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", "hook"),
          ("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"), ("IN_PROGRESS", "BAKE_TIME"))
    resumed = stub_call("ecs", "continue_service_deployment")
    resumed.add_response("continue_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                         expected_params={"serviceDeploymentArn": DEPLOYMENT, "hookId": HOOK, "action": "CONTINUE"})

    # user:password in the URL (basic auth in front of a test listener) is never printed.
    with_credentials = listener.replace("://", f"://deploy:{URL_SENTINEL}@", 1)
    code, report = run_json(capsys, _deploy(world, "--smoke-url", with_credentials, "--smoke-path", "/health"))

    assert code == 0, report
    assert URL_SENTINEL not in json.dumps(report)
    result = report["result"]
    assert result["smoke"]["url"] == listener
    assert result["status"] == "Baking" and result["shifted"] is True
    assert result["serviceDeploymentArn"] == DEPLOYMENT and result["smoke"]["checks"][0]["ok"]
    resumed.assert_no_pending_responses()
    # UpdateService reached moto: the service now runs the new revision, and no CodeDeploy deployment exists.
    [service] = client("ecs").describe_services(cluster=w.CLUSTER, services=[w.ECS_SERVICE])["services"]
    assert service["taskDefinition"] == result["taskDefinitionArn"] != world.task_definition_arn
    assert not client("codedeploy").list_deployments(applicationName=w.APPLICATION,
                                                     deploymentGroupName=w.GROUP)["deployments"]


def test_smoke_failure_rolls_back_at_the_hook(client, stub_call, capsys, tmp_path, listener):  # noqa: F811
    world = _native_world(client, tmp_path)
    _stub_service(stub_call, world, client)
    _walk(stub_call, ("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", "hook"))
    resumed = stub_call("ecs", "continue_service_deployment")
    resumed.add_response("continue_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                         expected_params={"serviceDeploymentArn": DEPLOYMENT, "hookId": HOOK, "action": "ROLLBACK"})

    code, report = run_json(capsys, _deploy(world, "--smoke-url", listener, "--smoke-path", "/fail",
                                            "--smoke-attempts", "1"))

    assert code == 1
    assert report["result"]["status"] == "SmokeFailed"
    resumed.assert_no_pending_responses()


def test_timeout_before_the_shift_stops_with_rollback(client, stub_call, capsys, tmp_path):
    world = _native_world(client, tmp_path)
    _stub_service(stub_call, world, client, hooks=())
    _walk(stub_call, *[("IN_PROGRESS", "SCALE_UP")] * 400)
    stopped = stub_call("ecs", "stop_service_deployment")
    stopped.add_response("stop_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                         expected_params={"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"})

    code, report = run_json(capsys, _deploy(world, "--timeout", "0.2"))

    assert code == 1
    assert report["result"]["status"] == "TimedOut"
    stopped.assert_no_pending_responses()


def test_a_rolling_service_is_refused_before_anything_is_registered(client, stub_call, capsys, tmp_path):
    world = _native_world(client, tmp_path)
    _stub_service(stub_call, world, client, strategy="ROLLING")
    families = client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"]

    assert main(_deploy(world)) == 2

    err = capsys.readouterr().err
    assert "trafficControl: service rampart-production-api is not ECS-native blue/green" in err
    assert "Traceback" not in err
    assert client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"] == families


@pytest.mark.parametrize("value", ["APP_MESH"])
def test_unknown_traffic_control_in_outputs_is_named(client, capsys, tmp_path, value):
    world = _native_world(client, tmp_path, traffic_control=value)
    assert main(_deploy(world)) == 2
    err = capsys.readouterr().err
    assert "services.api.trafficControl: expected one of CODE_DEPLOY, ECS" in err and value not in err
