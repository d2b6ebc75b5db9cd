"""`rampart rollback` for an ECS-native blue/green service: StopServiceDeployment with ROLLBACK for an in-flight
deployment, else UpdateService back to the source revision of the last successful deployment; then verified.

UpdateService, DescribeTaskDefinition and DescribeAlarms reach moto; Stubber serves what moto 5.2.5 lacks
(ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment, DescribeServiceRevisions) and
DescribeServices, whose deploymentConfiguration moto does not keep (see test_deploy_ecs_native.py)."""

from __future__ import annotations

import json

import pytest

from tests.ops import world as w
from tests.ops.conftest import run_json
from tests.ops.test_deploy_ecs_native import ACCOUNT, DEPLOYMENT, _native_world, _service

REVISION = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service-revision/{w.CLUSTER}/{w.ECS_SERVICE}/Rev1"


def _rollback(world: w.World, *extra: str) -> list[str]:
    return ["rollback", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
            "--reason", "5xx after release", "--poll", "0.01", "--timeout", "30", *extra]


def _describing(stub_call, world, client, *, after: str | None = None):
    """The service before the rollback, then (for the verification) as it runs afterwards."""
    stubber = stub_call("ecs", "describe_services")
    stubber.add_response("describe_services", _service(world, client))
    answer = _service(world, client)
    if after:
        answer["services"][0]["taskDefinition"] = after
    stubber.add_response("describe_services", answer)
    return stubber


def _steps(stub_call, *statuses: str, extra: dict | None = None):
    described = stub_call("ecs", "describe_service_deployments")
    for status in statuses:
        described.add_response("describe_service_deployments", {"serviceDeployments": [
            {"serviceDeploymentArn": DEPLOYMENT, "status": status, **(extra or {})}]})
    return described


def test_in_flight_deployment_is_stopped_with_rollback(client, stub_call, capsys, tmp_path):
    world = _native_world(client, tmp_path)
    _describing(stub_call, world, client)
    listed = stub_call("ecs", "list_service_deployments")
    listed.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS"}]})
    stopped = stub_call("ecs", "stop_service_deployment")
    stopped.add_response("stop_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                         expected_params={"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"})
    _steps(stub_call, "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL")

    code, report = run_json(capsys, _rollback(world))

    assert code == 0, report
    assert report["result"]["path"] == "stop" and report["result"]["status"] == "ROLLBACK_SUCCESSFUL"
    stopped.assert_no_pending_responses()
    # No CodeDeploy call at all: the world's deployment group saw nothing.
    assert not client("codedeploy").list_deployments(applicationName=w.APPLICATION,
                                                     deploymentGroupName=w.GROUP)["deployments"]


@pytest.mark.parametrize("lands", [True, False], ids=["lands", "does-not-land"])
def test_redeploys_the_revision_that_served_before(client, stub_call, capsys, tmp_path, lands):
    world = _native_world(client, tmp_path)
    ecs = client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=world.task_definition_arn)["taskDefinition"]
    fields = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory",
              "executionRoleArn", "taskRoleArn")
    newer = ecs.register_task_definition(**{k: definition[k] for k in fields if definition.get(k)})
    ecs.update_service(cluster=w.CLUSTER, service=w.ECS_SERVICE,
                       taskDefinition=newer["taskDefinition"]["taskDefinitionArn"])
    _describing(stub_call, world, client,
                after=world.task_definition_arn if lands else newer["taskDefinition"]["taskDefinitionArn"])
    listed = stub_call("ecs", "list_service_deployments")
    listed.add_response("list_service_deployments", {"serviceDeployments": []})
    listed.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "SUCCESSFUL"}]},
        expected_params={"cluster": w.CLUSTER, "service": w.ECS_SERVICE, "status": ["SUCCESSFUL"]})
    listed.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "PENDING"}]})
    _steps(stub_call, "SUCCESSFUL", "IN_PROGRESS", "SUCCESSFUL",
           extra={"sourceServiceRevisions": [{"arn": REVISION}]})
    revisions = stub_call("ecs", "describe_service_revisions")
    revisions.add_response("describe_service_revisions", {"serviceRevisions": [
        {"serviceRevisionArn": REVISION, "taskDefinition": world.task_definition_arn}]},
        expected_params={"serviceRevisionArns": [REVISION]})

    code, report = run_json(capsys, _rollback(world))

    # UpdateService reached moto with the target, landed or not.
    [service] = ecs.describe_services(cluster=w.CLUSTER, services=[w.ECS_SERVICE])["services"]
    assert service["taskDefinition"] == world.task_definition_arn
    if not lands:
        assert code == 1 and "expected arn:aws:ecs" in report["steps"][-1]["detail"]
        return
    assert code == 0, json.dumps(report)
    assert report["result"]["path"] == "redeploy"
    assert report["result"]["targetTaskDefinitionArn"] == world.task_definition_arn


def test_services_json_without_codedeploy_names_is_accepted_for_ecs(client, stub_call, capsys, tmp_path):
    world = _native_world(client, tmp_path)
    services = json.dumps({w.SERVICE: {"service": w.ECS_SERVICE, "trafficControl": "ECS", "deploymentGroup": None,
                                       "application": None, "containerName": w.CONTAINER, "containerPort": w.PORT}})
    _describing(stub_call, world, client)
    listed = stub_call("ecs", "list_service_deployments")
    listed.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS"}]})
    stub_call("ecs", "stop_service_deployment").add_response("stop_service_deployment",
                                                              {"serviceDeploymentArn": DEPLOYMENT})
    _steps(stub_call, "ROLLBACK_SUCCESSFUL")

    code, report = run_json(capsys, ["rollback", "--stack", "production", "--service", w.SERVICE, "--reason", "bad",
                                     "--services-json", services, "--cluster", w.CLUSTER, "--poll", "0.01",
                                     "--timeout", "30"])

    assert code == 0, report
