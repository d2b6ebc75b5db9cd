"""`rampart deploy` against moto: revision registration, AppSpec, following the deployment, rollback on timeout,
and the usage errors found before any deployment.

moto keeps every CodeDeploy deployment in `Created` and has no StopDeployment: where a test needs a deployment to
progress, or to be stopped, Stubber serves GetDeployment / StopDeployment only; all other calls reach moto.
"""

from __future__ import annotations

import json

from rampart.cli import main
from tests.ops import world as w
from tests.ops.conftest import run_json
from tests.ops.deploy_support import NEW_IMAGE, _AnyDeployment, _deploy, _info, _latest_deployment


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
