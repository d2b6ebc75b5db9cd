"""What the `rampart deploy` tests share (tests/ops/test_deploy_*.py): the command line against the moto world,
CodeDeploy's answer for a deployment in a given status, the deployment the command created, and a matcher for its
id in Stubber's expected_params."""

from __future__ import annotations

from tests.ops import world as w

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


class _AnyDeployment:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) > 0
