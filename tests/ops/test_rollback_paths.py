"""`rampart rollback` against moto's server, both paths: redeploying the revision that served traffic before (or
nothing, when the history holds none), verified after the shift; and stopping an in-flight deployment to follow
CodeDeploy's own rollback.

moto keeps every CodeDeploy deployment in `Created` and has no API that moves one on: the history is arranged in
moto's backend and a new deployment is walked through its statuses (tests/ops/rollback_support.py). moto also has
no ContinueDeployment, no StopDeployment, no rollbackInfo and does not keep a group's alarms: those, and only those,
are served by botocore's Stubber (each test says which and why).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rampart.ops.deploy import appspec
from rampart.ops.rollback import revision_arn
from tests.ops import world as w
from tests.ops.conftest import run_json
from tests.ops.rollback_support import (
    REASON,
    _CodeDeploy,
    _history,
    _revisions,
    _rollback,
    _serving,
    _step,
)


def _group(stub_call) -> None:
    """moto answers GetDeploymentGroup with an empty alarmConfiguration (a TODO in moto): Stubber serves the
    world's group as CodeDeploy would, with its alarms, so the verification and the default timeout see them."""
    stubber = stub_call("codedeploy", "get_deployment_group")
    stubber.add_response("get_deployment_group", {"deploymentGroupInfo": {
        "applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP, "computePlatform": "ECS",
        "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": name} for name in w.ALARMS]}}},
        expected_params={"applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP})


def _services_json(world: w.World) -> list[str]:
    """As the rollback workflow passes RAMPART_SERVICES (infra/stack.py), deployTimeoutSeconds included."""
    declared = world.outputs["services"][w.SERVICE]
    variable = {w.SERVICE: {"service": declared["serviceName"], "deploymentGroup": declared["deploymentGroup"],
                            "application": declared["codedeployApplication"], "containerName": w.CONTAINER,
                            "containerPort": w.PORT, "deployTimeoutSeconds": 2970}}
    return ["rollback", "--stack", "production", "--service", w.SERVICE, "--reason", REASON, "--poll", "0.02",
            "--cluster", w.CLUSTER, "--services-json", json.dumps(variable)]


def _deployments(client) -> list[str]:
    return client("codedeploy").list_deployments(applicationName=w.APPLICATION, deploymentGroupName=w.GROUP)[
        "deployments"]


class _Captured:
    """Matches any non-empty string in expected_params, and keeps it."""

    def __init__(self) -> None:
        self.value: str | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) and other:
            self.value = other
            return True
        return False


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
