"""`rampart verify` with broken outputs and a denied deployment group: a clear message, and no alarm unreported."""

from __future__ import annotations

import json

import pytest

from rampart.cli import main
from tests.faults.proxy import Rule
from tests.ops import world as w
from tests.ops.conftest import program, run_json  # noqa: F401 - fixture


@pytest.fixture
def running(monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")


def _verify(world: w.World, program_dir) -> list[str]:
    return ["verify", "--stack", "production", "--outputs", str(world.outputs_path), "--program", str(program_dir)]


def _rewrite(world: w.World, **database) -> None:
    outputs = dict(world.outputs)
    outputs.update(database)
    world.outputs_path.write_text(json.dumps(outputs))


@pytest.mark.parametrize("value", ["fourteen", 14.5, True, None, [14]])
def test_non_integer_retention_in_outputs_is_bad_input(direct, running, program, capsys, tmp_path, value):  # noqa: F811
    world = w.build(direct, tmp_path, with_db=True)
    _rewrite(world, database={**world.outputs["database"], "backupRetentionDays": value})

    code = main(_verify(world, program))

    err = capsys.readouterr().err
    assert code == 2
    assert "database.backupRetentionDays" in err and "whole number" in err and str(world.outputs_path) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["rampart-production-db", ["rampart-production-db"], 5])
def test_database_entry_that_is_not_an_object_is_bad_input(direct, running, program, capsys, tmp_path,  # noqa: F811
                                                           value):
    world = w.build(direct, tmp_path, with_db=True)
    _rewrite(world, database=value)

    code = main(_verify(world, program))

    err = capsys.readouterr().err
    assert code == 2
    assert "database" in err and "object" in err and "Traceback" not in err


def test_alarm_in_alarm_is_reported_when_the_group_is_denied(direct, proxy, running, program, capsys,  # noqa: F811
                                                            tmp_path):
    world = w.build(direct, tmp_path, with_db=True)
    direct("cloudwatch").set_alarm_state(AlarmName=w.ALARMS[0], StateValue="ALARM", StateReason="5xx")
    proxy.reset(Rule("GetDeploymentGroup", "denied", times=None))

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["api: rollback"]["status"] == "fail"
    assert "codedeploy:GetDeploymentGroup" in steps["api: rollback"]["detail"]
    assert "denied" in steps["api: rollback"]["detail"]
    alarm = steps[f"api: alarm {w.ALARMS[0]}"]
    assert alarm["status"] == "fail" and "already in ALARM" in alarm["detail"]
    assert steps[f"api: alarm {w.ALARMS[1]}"]["status"] == "ok"


def test_denied_group_without_alarm_names_fails_closed(direct, proxy, running, program, capsys,  # noqa: F811
                                                       tmp_path):
    world = w.build(direct, tmp_path, with_db=True)
    services = json.loads(json.dumps(world.outputs["services"]))
    del services[w.SERVICE]["alarmNames"]
    _rewrite(world, services=services)
    proxy.reset(Rule("GetDeploymentGroup", "denied", times=None))

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["api: alarms"]["status"] == "fail" and "could not check" in steps["api: alarms"]["detail"]
