"""SIGINT (what CI sends on cancel) at the calls that create, delete or wait, and during start-up: exit 130, no
traceback, and a report naming what the run left behind. Every call of every command is interrupted in
`python -m tests.faults.table`; the subprocesses make that too slow for the suite."""

from __future__ import annotations

import pytest

from tests.faults.scenarios import DeployScenario, MigrateScenario, RestoreScenario, SnapshotScenario
from tests.faults.sigint import interrupt_at, interrupt_during_startup


@pytest.fixture
def running(monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")


@pytest.mark.parametrize(("scenario", "action", "named", "nth"), [
    (SnapshotScenario, "CreateDBSnapshot", "snapshot rampart-app-db-", 1),
    (SnapshotScenario, "DeleteDBSnapshot", "snapshot rampart-app-db-", 1),
    (MigrateScenario, "RunTask", "a task started by rampart-migrate", 1),
    (DeployScenario, "CreateDeployment", "task definition revision ", 1),
    # the source, the target's absence checked, then the wait's first poll
    (RestoreScenario, "DescribeDBInstances", f"DB instance {RestoreScenario.TARGET}", 3),
])
def test_interrupted_mid_run_names_what_it_left(direct, proxy, tmp_path, running, scenario, action, named, nth):
    outcome = interrupt_at(nth, scenario(), direct, proxy, tmp_path, action=action)

    assert outcome.action == action, outcome
    assert outcome.passed, outcome
    assert any(item.startswith(named) for item in outcome.left_behind), outcome


def test_sigint_during_start_up_is_one_line_not_a_traceback(aws_env, proxy):
    # Where 0.5 s lands depends on the machine: still loading the CLI (one word on stderr), or already in the held
    # AWS call (the JSON report on stdout names an `interrupted` step). Either way: 130, said, no traceback.
    code, err, out = interrupt_during_startup(0.5, ["snapshot", "--db-instance", "app-db", "--format", "json"],
                                              proxy, with_stdout=True)
    assert code == 130, err
    assert "Traceback" not in err + out
    assert "interrupted" in err + out
