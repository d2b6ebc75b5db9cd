"""`rampart snapshot` under injected faults: each defect the fault runs found, pinned by the fault that shows it."""

from __future__ import annotations

import pytest

from rampart.cli import main
from tests.faults.conftest import TEST_ATTEMPTS
from tests.faults.proxy import Rule
from tests.ops.conftest import run_json

DB = "app-db"
FAST = ["--db-instance", DB, "--wait-delay", "0.05", "--wait-timeout", "20"]
OLD = [f"rampart-{DB}-2020010{day}-000000" for day in (1, 2, 3)]
TAGS = [{"Key": "rampart:managed-by", "Value": "rampart-snapshot"}, {"Key": "rampart:db-instance", "Value": DB}]


def _arrange(rds) -> None:
    rds.create_db_instance(DBInstanceIdentifier=DB, DBInstanceClass="db.t4g.medium", Engine="postgres",
                           MasterUsername="admin_user", MasterUserPassword="not-a-real-pass-1", AllocatedStorage=20)
    for name in OLD:
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=DB, Tags=TAGS)
    rds.create_db_snapshot(DBSnapshotIdentifier="by-hand", DBInstanceIdentifier=DB)


def _names(rds) -> set[str]:
    return {s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(DBInstanceIdentifier=DB,
                                                                         SnapshotType="manual")["DBSnapshots"]}


def test_a_reset_during_pruning_does_not_stop_the_other_deletions(direct, proxy, capsys):
    rds = direct("rds")
    _arrange(rds)
    proxy.reset(Rule("DeleteDBSnapshot", "reset", resource=OLD[1], times=None))  # one deletion, every attempt

    code, report = run_json(capsys, ["snapshot", *FAST, "--keep", "1"])

    assert code == 1, report
    result = report["result"]
    assert sorted(result["deleted"]) == [OLD[0], OLD[2]] and result["notDeleted"] == [OLD[1]]
    assert proxy.actions().count("DeleteDBSnapshot") == 2 + 1 + TEST_ATTEMPTS  # retries after the first
    assert result["kept"] == [result["snapshot"]]
    assert _names(rds) == {"by-hand", result["snapshot"], *result["notDeleted"]}
    failed = next(s for s in report["steps"] if s["status"] == "fail")
    assert "rds:DeleteDBSnapshot" in failed["detail"] and result["notDeleted"][0] in failed["detail"]


def test_an_endpoint_gone_during_pruning_is_reported_per_snapshot(direct, proxy, capsys):
    rds = direct("rds")
    _arrange(rds)
    proxy.reset(Rule("DeleteDBSnapshot", "gone"))

    code, report = run_json(capsys, ["snapshot", *FAST, "--keep", "1"])

    assert code == 1, report
    assert report["result"]["deleted"] == []
    assert sorted(report["result"]["notDeleted"]) == sorted(OLD)
    assert proxy.actions().count("DeleteDBSnapshot") == 1  # the rest could not even connect
    assert _names(rds) == {"by-hand", report["result"]["snapshot"], *OLD}


def test_text_output_names_what_was_deleted_and_kept(direct, proxy, capsys):
    _arrange(direct("rds"))
    assert main(["snapshot", *FAST, "--keep", "2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "deleted" in out and "kept" in out
    for name in OLD[:2]:  # the two oldest go, the newest old one stays with the new one
        assert name in out


@pytest.mark.parametrize("action", ["DescribeDBInstances", "CreateDBSnapshot", "DescribeDBSnapshots"])
def test_a_connection_failure_names_the_action_and_the_resource(direct, proxy, capsys, action):
    _arrange(direct("rds"))
    proxy.reset(Rule(action, "reset", times=None))

    code, report = run_json(capsys, ["snapshot", *FAST])

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert f"rds:{action}" in detail and DB in detail, detail
    assert "unexpected" not in detail and "AWS call" not in detail


def test_an_error_while_waiting_says_what_failed_not_a_timeout(direct, proxy, capsys):
    _arrange(direct("rds"))
    proxy.reset(Rule("DescribeDBSnapshots", "500", times=None))

    code, report = run_json(capsys, ["snapshot", *FAST])

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert "not available after" not in detail
    assert "rds:DescribeDBSnapshots" in detail and "InternalFailure" in detail
    assert report["result"]["snapshot"] in detail


def test_a_lost_create_response_is_not_a_failure(direct, proxy, capsys):
    rds = direct("rds")
    _arrange(rds)
    # Every attempt reaches moto; no answer ever comes back. The snapshot exists all the same.
    proxy.reset(Rule("CreateDBSnapshot", "lost", times=None))

    code, report = run_json(capsys, ["snapshot", *FAST, "--keep", "10"])

    assert code == 0, report
    assert report["result"]["snapshot"] in _names(rds)


def test_a_lost_delete_response_counts_as_deleted(direct, proxy, capsys):
    rds = direct("rds")
    _arrange(rds)
    proxy.reset(Rule("DeleteDBSnapshot", "lost", nth=1, times=1))

    code, report = run_json(capsys, ["snapshot", *FAST, "--keep", "1"])

    assert code == 0, report
    assert sorted(report["result"]["deleted"]) == sorted(OLD)
    assert _names(rds) == {"by-hand", report["result"]["snapshot"]}
