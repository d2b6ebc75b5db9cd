"""`rampart deploy` against CodeDeploy's whole status walk, on a fake clock, with the timings infra/timing.py
derives for each project stack: a healthy release is never stopped by Rampart's own timeout.

moto keeps every deployment in `Created`, so GetDeployment is answered by Stubber from a timeline: each call gets
the status the timeline holds at the fake clock's time (queued just before the call, so the answer is still
validated against the service model). GetDeploymentGroup is served too (moto leaves its alarmConfiguration
empty). Everything else (registration, CreateDeployment, the alarms and DescribeAlarms) reaches moto's server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from infra.timing import CODEDEPLOY_LIFECYCLE_SECONDS, DeploymentTiming, deployment_timing
from rampart.cli import main
from rampart.ops.aws import Aws
from rampart.ops.deploy import DeployOptions, run_deploy
from rampart.ops.report import Report
from tests.ops import world as w
from tests.ops.conftest import REGION, run_json
from tests.support.stacks import STACKS, stack_config

OLD_DEFAULT_TIMEOUT = 3600.0
POLL = 15.0
STEP = CODEDEPLOY_LIFECYCLE_SECONDS / 3  # create, queue, reroute: the lifecycle slack split over three steps


@dataclass
class Segment:
    status: str
    seconds: float
    extra: dict[str, Any] | None = None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps += 1
        assert self.sleeps < 10_000, "deploy keeps polling without end"
        self.now += seconds


def healthy(timing: DeploymentTiming) -> list[Segment]:
    """The slowest healthy deployment the config allows: every phase takes its whole worst case."""
    return [
        Segment("Created", STEP),
        Segment("Queued", STEP),
        Segment("InProgress", timing.startup_seconds),
        Segment("Ready", timing.ready_wait_seconds),
        Segment("InProgress", timing.traffic_shift_seconds + STEP),
        Segment("Baking", timing.bake_seconds + timing.blue_termination_seconds),
        Segment("Succeeded", float("inf")),
    ]


def timing_of(stack: str) -> DeploymentTiming:
    cfg = stack_config(stack)
    return deployment_timing(cfg.deployment, cfg.alarms)


class Walk:
    """Serves GetDeployment from a timeline at the fake clock's time; records what was seen."""

    def __init__(self, stub_call, time: FakeTime, timeline: list[Segment]) -> None:
        self.time, self.timeline, self.seen = time, timeline, []
        self.stubber = stub_call("codedeploy", "get_deployment")
        self.stubber.client.meta.events.register("provide-client-params.codedeploy.GetDeployment", self._answer)

    def at(self, now: float) -> Segment:
        start = 0.0
        for segment in self.timeline:
            if now < start + segment.seconds:
                return segment
            start += segment.seconds
        return self.timeline[-1]

    def shifted_at(self) -> float:
        index = next(i for i, s in enumerate(self.timeline) if s.status in ("Baking", "Succeeded", "Stopped"))
        return sum(s.seconds for s in self.timeline[:index])

    def _answer(self, params: dict[str, Any], **_: Any) -> None:
        segment = self.at(self.time.now)
        if not self.seen or self.seen[-1] != segment.status:
            self.seen.append(segment.status)
        info = {"deploymentId": params["deploymentId"], "status": segment.status, **(segment.extra or {})}
        self.stubber.add_response("get_deployment", {"deploymentInfo": info})


def deploy(world: w.World, time: FakeTime, *, timeout: float, alarm_watch: float = 0.0, wait_for_bake: bool = False,
           continue_when_ready: bool = True) -> Report:
    options = DeployOptions(
        cluster=w.CLUSTER, service=w.ECS_SERVICE, application=w.APPLICATION, deployment_group=w.GROUP,
        container_name=w.CONTAINER, container_port=w.PORT, task_definition=world.task_definition_arn,
        timeout=timeout, poll=POLL, alarm_watch=alarm_watch, wait_for_bake=wait_for_bake,
        continue_when_ready=continue_when_ready,
    )
    report = Report("deploy")
    run_deploy(Aws(REGION), options, report, clock=time.clock, sleep=time.sleep)
    return report


def names(report: Report) -> list[str]:
    return [step.name for step in report.steps]


@pytest.fixture(autouse=True)
def watched_group(stub_call):
    """moto's GetDeploymentGroup leaves alarmConfiguration empty: serve the group as the component declares it."""
    stubber = stub_call("codedeploy", "get_deployment_group")
    stubber.add_response("get_deployment_group", {"deploymentGroupInfo": {
        "applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP, "computePlatform": "ECS",
        "alarmConfiguration": {"enabled": True, "ignorePollAlarmFailure": False,
                               "alarms": [{"name": name} for name in w.ALARMS]},
    }})
    return stubber


@pytest.fixture
def continued(stub_call):
    stubber = stub_call("codedeploy", "continue_deployment")
    stubber.add_response("continue_deployment", {})
    return stubber


@pytest.fixture
def never_stopped(stub_call):
    """Nothing queued: a StopDeployment would fail the run with an `error` step."""
    return stub_call("codedeploy", "stop_deployment")


@pytest.mark.parametrize("stack", STACKS)
def test_the_default_path_returns_at_baking_within_the_derived_timeout(client, tmp_path, stub_call, continued,
                                                                        never_stopped, stack):
    timing, time = timing_of(stack), FakeTime()
    world = w.build(client, tmp_path)
    walk = Walk(stub_call, time, healthy(timing))

    report = deploy(world, time, timeout=timing.until_shifted_seconds, alarm_watch=timing.alarm_watch_seconds)

    assert report.exit_code == 0, [s.as_dict() for s in report.steps]
    assert walk.seen == ["Created", "Queued", "InProgress", "Ready", "InProgress", "Baking"]
    assert report.result["status"] == "Baking" and report.result["shifted"] is True
    assert names(report)[-3:] == ["traffic shifted", "alarms quiet", "released"]
    # Released only after one quiet detection window at full traffic, and before the timeout could fire.
    assert walk.shifted_at() + timing.alarm_watch_seconds <= time.now <= timing.until_shifted_seconds
    continued.assert_no_pending_responses()


@pytest.mark.parametrize("stack", STACKS)
def test_wait_for_bake_follows_every_status_to_succeeded(client, tmp_path, stub_call, continued, never_stopped, stack):
    timing, time = timing_of(stack), FakeTime()
    world = w.build(client, tmp_path)
    walk = Walk(stub_call, time, healthy(timing))

    report = deploy(world, time, timeout=timing.with_bake_seconds, alarm_watch=timing.alarm_watch_seconds,
                    wait_for_bake=True)

    assert report.exit_code == 0, [s.as_dict() for s in report.steps]
    assert walk.seen == ["Created", "Queued", "InProgress", "Ready", "InProgress", "Baking", "Succeeded"]
    assert report.result["status"] == "Succeeded"
    assert time.now <= timing.with_bake_seconds


def test_the_old_fixed_timeout_no_longer_rolls_back_a_healthy_production_release(client, tmp_path, stub_call, continued,
                                                                                 never_stopped):
    # Before: --timeout 3600 stopped with rollback while production was still baking (60-minute bake).
    timing, time = timing_of("production"), FakeTime()
    assert timing.with_bake_seconds > OLD_DEFAULT_TIMEOUT
    world = w.build(client, tmp_path)
    Walk(stub_call, time, healthy(timing))

    report = deploy(world, time, timeout=OLD_DEFAULT_TIMEOUT, wait_for_bake=True)

    assert report.exit_code == 1
    assert report.result["status"] == "TimedOutAfterShift"
    detail = report.steps[-1].detail
    assert report.steps[-1].name == "timed out after the shift" and "not stopped" in detail
    assert "alarm rollback" in detail
    assert "rollback requested" not in names(report)


@pytest.mark.parametrize("stack", STACKS)
def test_a_deployment_that_never_shifts_is_stopped_at_the_timeout_not_before(client, tmp_path, stub_call, stack):
    timing, time = timing_of(stack), FakeTime()
    world = w.build(client, tmp_path)
    Walk(stub_call, time, [Segment("Created", STEP), Segment("InProgress", float("inf"))])
    stopped = stub_call("codedeploy", "stop_deployment")
    stopped.add_response("stop_deployment", {"status": "Pending", "statusMessage": "rolling back"})

    report = deploy(world, time, timeout=timing.until_shifted_seconds)

    stopped.assert_no_pending_responses()
    assert report.result["status"] == "TimedOut" and report.exit_code == 1
    assert timing.until_shifted_seconds <= time.now < timing.until_shifted_seconds + POLL


ROLLBACK = {"rollbackDeploymentId": "d-ROLLBACK1", "rollbackMessage": "rolled back to the original task set"}


def test_failed_during_start_up_reports_the_rollback(client, tmp_path, stub_call, never_stopped):
    timing, time = timing_of("production"), FakeTime()
    world = w.build(client, tmp_path)
    failed = {"errorInformation": {"code": "ECS_UPDATE_ERROR", "message": "tasks failed to start"},
              "rollbackInfo": ROLLBACK}
    walk = Walk(stub_call, time, [Segment("Created", STEP), Segment("InProgress", timing.startup_seconds),
                                  Segment("Failed", float("inf"), failed)])

    report = deploy(world, time, timeout=timing.until_shifted_seconds)

    assert walk.seen == ["Created", "InProgress", "Failed"]
    assert report.exit_code == 1 and report.result["status"] == "Failed"
    assert report.result["rollbackDeploymentId"] == "d-ROLLBACK1"
    assert "ECS_UPDATE_ERROR" in next(s.detail for s in report.steps if s.name == "deployment failed")


def test_alarm_in_the_bake_stops_it_and_the_rollback_is_reported(client, tmp_path, stub_call, continued, never_stopped):
    timing, time = timing_of("production"), FakeTime()
    world = w.build(client, tmp_path)
    stopped = {"errorInformation": {"code": "ALARM_ACTIVE", "message": f"alarm {w.ALARMS[0]} fired"},
               "rollbackInfo": ROLLBACK}
    timeline = healthy(timing)[:5] + [Segment("Baking", 600), Segment("Stopped", float("inf"), stopped)]
    walk = Walk(stub_call, time, timeline)

    report = deploy(world, time, timeout=timing.with_bake_seconds, wait_for_bake=True)

    assert walk.seen[-2:] == ["Baking", "Stopped"]
    assert report.exit_code == 1 and report.result["status"] == "Stopped"
    assert report.result["rollbackDeploymentId"] == "d-ROLLBACK1"


def test_a_firing_alarm_after_the_shift_is_no_success(client, tmp_path, stub_call, continued, never_stopped):
    timing, time = timing_of("staging"), FakeTime()
    world = w.build(client, tmp_path)
    client("cloudwatch").set_alarm_state(AlarmName=w.ALARMS[1], StateValue="ALARM", StateReason="test")
    stopped = {"errorInformation": {"code": "ALARM_ACTIVE", "message": "alarm fired"}, "rollbackInfo": ROLLBACK}
    walk = Walk(stub_call, time, healthy(timing)[:5] + [
        Segment("Baking", timing.alarm_watch_seconds + 2 * POLL), Segment("Stopped", float("inf"), stopped)])

    report = deploy(world, time, timeout=timing.until_shifted_seconds, alarm_watch=timing.alarm_watch_seconds)

    assert walk.seen[-2:] == ["Baking", "Stopped"]
    assert report.exit_code == 1 and report.result["status"] == "Stopped"
    noisy = next(s for s in report.steps if s.name == "alarms not quiet")
    assert f"{w.ALARMS[1]} (ALARM)" in noisy.detail and w.ALARMS[0] not in noisy.detail
    assert "released" not in names(report)


# --- the default --timeout comes from the stack outputs -------------------------------------------------------


def _with_deployment(world: w.World, tmp_path, **deployment: float) -> str:
    outputs = json.loads(json.dumps(world.outputs))
    outputs["services"][w.SERVICE]["deployment"] = deployment
    path = tmp_path / "outputs-with-deployment.json"
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return str(path)


def _argv(outputs: str, *extra: str) -> list[str]:
    return ["deploy", "--outputs", outputs, "--service", w.SERVICE, "--image", "repo/api:v2", "--poll", "0.01",
            *extra]


@pytest.mark.parametrize(("extra", "expected"), [((), 3000.0), (("--wait-for-bake",), 6420.0),
                                                 (("--timeout", "77"), 77.0)])
def test_the_default_timeout_is_the_stacks_derived_worst_case(client, stub_call, capsys, tmp_path, extra, expected):
    world = w.build(client, tmp_path)
    outputs = _with_deployment(world, tmp_path, untilShiftedSeconds=3000, withBakeSeconds=6420, alarmWatchSeconds=0)
    stubber = stub_call("codedeploy", "get_deployment")
    stubber.add_response("get_deployment", {"deploymentInfo": {"status": "Succeeded"}})

    code, report = run_json(capsys, _argv(outputs, *extra))

    assert code == 0, report
    assert report["result"]["timeoutSeconds"] == expected


def test_without_the_outputs_key_the_timeout_is_required(client, capsys, tmp_path):
    world = w.build(client, tmp_path)

    assert main(_argv(str(world.outputs_path))) == 2

    err = capsys.readouterr().err
    assert f"services.{w.SERVICE}.deployment.untilShiftedSeconds" in err and "--timeout" in err
    assert client("ecs").list_task_definitions(familyPrefix=w.FAMILY)["taskDefinitionArns"] == [
        world.task_definition_arn]


def test_without_any_outputs_the_timeout_is_required(aws_env, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["deploy", "--service", "api", "--cluster", "c", "--ecs-service", "s", "--application", "a",
            "--deployment-group", "g", "--container", "app", "--container-port", "8080", "--task-definition", "arn"]

    assert main(argv) == 2

    assert "--timeout" in capsys.readouterr().err
