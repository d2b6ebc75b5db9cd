"""What the `rampart rollback` tests share (tests/ops/test_rollback_*.py): the history a rollback reads, arranged in
moto with real CreateDeployment calls whose status and creation time are then set in moto's own (in-process)
backend; the revision the service runs; a walker that moves the command's new deployment through its statuses (the
`codedeploy_walk` fixture in tests/ops/conftest.py installs it); and the command line."""

from __future__ import annotations

import datetime
from typing import Any

from rampart.ops.deploy import appspec
from rampart.ops.rollback import revision_arn
from tests.ops import world as w
from tests.ops.conftest import REGION

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


def _rollback(world: w.World, *extra: str) -> list[str]:
    return ["rollback", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
            "--reason", REASON, "--poll", "0.02", *extra]


def _step(report: dict, name: str) -> dict:
    return next(s for s in report["steps"] if s["name"] == name)
