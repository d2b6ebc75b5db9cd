"""`rampart verify` against moto: each promise checked live, each kind of drift reported, exit 1 on any.

moto's GetDeploymentGroup leaves alarmConfiguration empty (a TODO in moto): tests that need the group's alarms take
that one call from Stubber; every other read (ECS, CloudWatch, RDS, and GetDeploymentGroup where alarms do not
matter) reaches moto.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart.cli import main
from tests.ops import world as w
from tests.ops.conftest import run_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running(monkeypatch):
    # moto reports services with 0 running tasks unless told otherwise; its server reads this per service.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")


def _group(events=("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"), alarms=w.ALARMS, enabled=True,
           ignore_poll_failure=False) -> dict:
    return {"deploymentGroupInfo": {
        "applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP, "computePlatform": "ECS",
        "autoRollbackConfiguration": {"enabled": True, "events": list(events)},
        "alarmConfiguration": {"enabled": enabled, "ignorePollAlarmFailure": ignore_poll_failure,
                               "alarms": [{"name": a} for a in alarms]},
    }}


def _verify(world: w.World, program: Path, *extra: str) -> list[str]:
    return ["verify", "--stack", "production", "--outputs", str(world.outputs_path), "--program", str(program),
            *extra]


def _steps(report: dict) -> dict[str, dict]:
    return {s["name"]: s for s in report["steps"]}


def _stub_group(stub_call, response: dict):
    stubber = stub_call("codedeploy", "get_deployment_group")
    stubber.add_response("get_deployment_group", response,
                         expected_params={"applicationName": w.APPLICATION, "deploymentGroupName": w.GROUP})
    return stubber


def test_everything_as_promised(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, program))

    assert code == 0, report
    steps = _steps(report)
    assert all(s["status"] in ("ok", "info") for s in report["steps"]), report["steps"]
    for name in ("api: desired count", "api: rollback", "api: alarm rollback", "database: backup retention",
                 "database: deletion protection", "database: encryption",
                 *(f"api: alarm {a}" for a in w.ALARMS)):
        assert steps[name]["status"] == "ok", name
    assert str(program / "Pulumi.production.yaml") in steps["database: declared"]["detail"]


def test_alarm_already_in_alarm_is_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    client("cloudwatch").set_alarm_state(AlarmName=w.ALARMS[0], StateValue="ALARM", StateReason="5xx burst")
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    step = _steps(report)[f"api: alarm {w.ALARMS[0]}"]
    assert step["status"] == "fail" and "already in ALARM" in step["detail"]
    assert _steps(report)[f"api: alarm {w.ALARMS[1]}"]["status"] == "ok"


def test_missing_alarm_is_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    client("cloudwatch").delete_alarms(AlarmNames=[w.ALARMS[1]])
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    assert "does not exist" in _steps(report)[f"api: alarm {w.ALARMS[1]}"]["detail"]


def test_no_rollback_on_alarm_is_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group(events=("DEPLOYMENT_FAILURE",)))

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    step = _steps(report)["api: rollback"]
    assert step["status"] == "fail" and "DEPLOYMENT_STOP_ON_ALARM" in step["detail"]


def test_alarms_not_enabled_on_group_is_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group(enabled=False))

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    assert _steps(report)["api: alarm rollback"]["status"] == "fail"


def test_ignoring_alarm_poll_failures_is_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group(ignore_poll_failure=True))

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    assert "ignorePollAlarmFailure" in _steps(report)["api: alarm rollback"]["detail"]


def test_stack_alarm_missing_from_group_is_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group(alarms=w.ALARMS[:1]))

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    assert w.ALARMS[1] in _steps(report)["api: alarm rollback"]["detail"]


def test_moto_group_without_alarms_is_drift(client, running, program, capsys, tmp_path):
    # Real moto answer: rollback events as created, but no alarm configuration at all.
    world = w.build(client, tmp_path, with_db=True)

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    steps = _steps(report)
    assert steps["api: rollback"]["status"] == "ok"
    assert steps["api: alarm rollback"]["status"] == "fail"


def test_missing_deployment_group_is_drift_and_the_rest_still_runs(client, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False, with_db=True)

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    step = _steps(report)["api: rollback"]
    assert step["status"] == "fail" and "not found" in step["detail"] and w.GROUP in step["detail"]
    assert _steps(report)["database: backup retention"]["status"] == "ok"


def test_service_below_desired_count_is_drift(client, stub_call, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    step = _steps(report)["api: desired count"]
    assert step["status"] == "fail" and "0 running of 2 desired" in step["detail"]


def test_database_drift(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True, encrypted=False)
    client("rds").modify_db_instance(DBInstanceIdentifier=w.DB, BackupRetentionPeriod=3, DeletionProtection=False,
                                     ApplyImmediately=True)
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, program))

    assert code == 1
    steps = _steps(report)
    assert steps["database: backup retention"]["status"] == "fail"
    assert "3 days (declared 14 days)" in steps["database: backup retention"]["detail"]
    assert steps["database: deletion protection"]["status"] == "fail"
    assert steps["database: encryption"]["status"] == "fail"


def test_declared_values_from_the_real_project_stack_file(client, stub_call, running, capsys, tmp_path):
    # Pulumi.production.yaml of this project declares 14 days: the instance in the world has 14.
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, ROOT))

    assert code == 0, report
    assert "Pulumi.production.yaml" in _steps(report)["database: declared"]["detail"]


def test_flags_override_declared_values(client, stub_call, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_db=True)
    _stub_group(stub_call, _group())

    code, report = run_json(capsys, _verify(world, program, "--backup-retention-days", "30"))

    assert code == 1
    assert "declared 30 days" in _steps(report)["database: backup retention"]["detail"]


def test_missing_outputs_file_is_a_usage_error(aws_env, capsys, tmp_path):
    assert main(["verify", "--stack", "production", "--outputs", str(tmp_path / "none.json")]) == 2
    assert "none.json" in capsys.readouterr().err


def test_text_report_names_the_drift(client, running, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False, with_db=True)
    assert main(_verify(world, program)) == 1
    out = capsys.readouterr().out
    assert "api: rollback" in out and "fail" in out and "verify: failed" in out
