"""`rampart snapshot` against moto's server: waiting, tagging, pruning only our own; failures delete nothing."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from rampart.cli import main
from rampart.ops.snapshot import INSTANCE_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE
from tests.ops.conftest import run_json

DB = "app-db"
FAST = ["--wait-delay", "0.05", "--wait-timeout", "1"]


def _make_instance(rds, identifier: str = DB) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier, DBInstanceClass="db.t4g.medium", Engine="postgres",
        MasterUsername="admin_user", MasterUserPassword="not-a-real-pass-1", AllocatedStorage=20,
        BackupRetentionPeriod=7, StorageEncrypted=True,
    )


def _ours(identifier: str, instance: str = DB) -> list[dict[str, str]]:
    return [{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}, {"Key": INSTANCE_KEY, "Value": instance}]


def _snapshots(rds, instance: str = DB) -> dict[str, dict]:
    found = rds.describe_db_snapshots(DBInstanceIdentifier=instance)["DBSnapshots"]
    return {s["DBSnapshotIdentifier"]: s for s in found}


def test_takes_a_tagged_manual_snapshot(client, capsys):
    rds = client("rds")
    _make_instance(rds)

    code, report = run_json(capsys, ["snapshot", "--db-instance", DB, *FAST])

    assert code == 0, report
    snapshot_id = report["result"]["snapshot"]
    assert snapshot_id.startswith(f"rampart-{DB}-")
    made = _snapshots(rds)[snapshot_id]
    assert made["SnapshotType"] == "manual"
    assert made["Status"] == "available"
    tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=made["DBSnapshotArn"])["TagList"]}
    assert tags[MANAGED_BY_KEY] == MANAGED_BY_VALUE
    assert tags[INSTANCE_KEY] == DB
    assert [s["name"] for s in report["steps"]] == ["instance available", "snapshot started",
                                                  "snapshot available", "pruned"]


def test_retention_prunes_only_our_manual_snapshots_beyond_keep(client, capsys):
    rds = client("rds")
    _make_instance(rds)
    _make_instance(rds, "other-db")
    automated = [s for s in _snapshots(rds).values() if s["SnapshotType"] == "automated"]
    assert automated, "moto should create an automated snapshot with the instance"
    ours_old = [f"rampart-{DB}-2020010{day}-000000" for day in range(1, 5)]
    for name in ours_old:
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=DB, Tags=_ours(name))
    # Foreign: a person's manual snapshot; one claiming our tag but for another instance; one with only a lookalike.
    rds.create_db_snapshot(DBSnapshotIdentifier="before-upgrade-by-hand", DBInstanceIdentifier=DB)
    rds.create_db_snapshot(DBSnapshotIdentifier="rampart-other-db-20200101-000000", DBInstanceIdentifier="other-db",
                           Tags=_ours("x", "other-db"))
    rds.create_db_snapshot(DBSnapshotIdentifier="lookalike", DBInstanceIdentifier=DB,
                           Tags=[{"Key": MANAGED_BY_KEY, "Value": "someone-else"}])

    code, report = run_json(capsys, ["snapshot", "--db-instance", DB, "--keep", "2", *FAST])

    assert code == 0, report
    new = report["result"]["snapshot"]
    remaining = _snapshots(rds)
    # keep=2: the new one and the newest old one survive; the three older of ours go.
    assert sorted(report["result"]["deleted"]) == sorted(ours_old[:3])
    assert new in remaining
    assert sum(1 for n in ours_old if n in remaining) == 1
    for survivor in ("before-upgrade-by-hand", "lookalike", *(s["DBSnapshotIdentifier"] for s in automated)):
        assert survivor in remaining, survivor
    assert "rampart-other-db-20200101-000000" in _snapshots(rds, "other-db")


def test_prunes_oldest_first(client, capsys):
    rds = client("rds")
    _make_instance(rds)
    for name in ("rampart-app-db-a", "rampart-app-db-b"):
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=DB, Tags=_ours(name))

    code, report = run_json(capsys, ["snapshot", "--db-instance", DB, "--keep", "2", *FAST])

    assert code == 0, report
    # Creation times may tie within moto's clock resolution; the identifier breaks ties the same way as time.
    assert report["result"]["deleted"] == ["rampart-app-db-a"]
    assert set(report["result"]["kept"]) == {report["result"]["snapshot"], "rampart-app-db-b"}


def test_instance_not_available_times_out_and_touches_nothing(client, capsys):
    rds = client("rds")
    _make_instance(rds)
    mine = "rampart-app-db-20200101-000000"
    rds.create_db_snapshot(DBSnapshotIdentifier=mine, DBInstanceIdentifier=DB, Tags=_ours(mine))
    rds.stop_db_instance(DBInstanceIdentifier=DB)
    before = set(_snapshots(rds))

    code, report = run_json(capsys, ["snapshot", "--db-instance", DB, "--keep", "1", "--wait-delay", "0.05",
                                     "--wait-timeout", "0.3"])

    assert code == 1
    error = report["steps"][-1]
    assert error["status"] == "fail"
    assert "not available" in error["detail"] and "stopped" in error["detail"]
    assert "no snapshot deleted" in error["detail"]
    assert set(_snapshots(rds)) == before


def test_quota_exceeded_deletes_nothing(client, stub_call, capsys):
    rds = client("rds")
    _make_instance(rds)
    olds = [f"rampart-app-db-2020010{d}-000000" for d in (1, 2, 3)]
    for name in olds:
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=DB, Tags=_ours(name))
    # moto does not enforce the manual snapshot quota: Stubber answers CreateDBSnapshot only, as AWS would.
    stubber = stub_call("rds", "create_db_snapshot")
    stubber.add_client_error("create_db_snapshot", service_error_code="SnapshotQuotaExceeded",
                             service_message="Cannot create more than 100 manual snapshots", http_status_code=400)

    code, report = run_json(capsys, ["snapshot", "--db-instance", DB, "--keep", "1", *FAST])

    assert code == 1
    detail = report["steps"][-1]["detail"]
    assert "quota" in detail and "nothing was deleted" in detail
    assert set(olds) <= set(_snapshots(rds))
    stubber.assert_no_pending_responses()


def test_missing_instance_is_a_clear_failure(aws_env, capsys):
    code, report = run_json(capsys, ["snapshot", "--db-instance", "nope", *FAST])
    assert code == 1
    assert "not found" in report["steps"][-1]["detail"] and "nope" in report["steps"][-1]["detail"]


def test_instance_from_stack_outputs(client, capsys, tmp_path):
    rds = client("rds")
    _make_instance(rds)
    outputs = tmp_path / "production.json"
    outputs.write_text(json.dumps({"database": {"instanceIdentifier": DB}}))

    code, report = run_json(capsys, ["snapshot", "--stack", "production", "--outputs", str(outputs), *FAST])

    assert code == 0, report
    assert report["result"]["dbInstance"] == DB


def test_missing_outputs_key_is_a_usage_error(aws_env, capsys, tmp_path):
    outputs = tmp_path / "production.json"
    outputs.write_text(json.dumps({"database": {}}))
    assert main(["snapshot", "--outputs", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert "database.instanceIdentifier" in err and str(outputs) in err


def test_missing_region_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert main(["snapshot", "--db-instance", DB]) == 2
    assert "region" in capsys.readouterr().err


@pytest.mark.parametrize("keep", ["0", "-1"])
def test_keep_must_spare_the_new_snapshot(aws_env, capsys, keep):
    assert main(["snapshot", "--db-instance", DB, "--keep", keep]) == 2


# CreateDBSnapshot: 1-255 letters, digits or hyphens, a letter first, no trailing or doubled hyphen.
RDS_SNAPSHOT_ID = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")


@pytest.mark.parametrize("instance", ["app-db", "a" * 63])
def test_snapshot_identifier_is_valid_for_rds_and_unique_within_a_second(instance):
    from rampart.ops.snapshot import snapshot_identifier

    now = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    names = {snapshot_identifier(instance, now) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert RDS_SNAPSHOT_ID.match(name), name
        assert name.startswith(f"rampart-{instance}-20260102-030405-123")


def test_two_runs_in_the_same_second_both_take_a_snapshot(client, capsys, monkeypatch):
    import rampart.ops.snapshot as snapshot

    rds = client("rds")
    _make_instance(rds)
    same_second = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    real = snapshot.snapshot_identifier
    monkeypatch.setattr(snapshot, "snapshot_identifier", lambda instance, now: real(instance, same_second))

    first_code, first = run_json(capsys, ["snapshot", "--db-instance", DB, *FAST])
    second_code, second = run_json(capsys, ["snapshot", "--db-instance", DB, *FAST])

    assert (first_code, second_code) == (0, 0), second
    assert first["result"]["snapshot"] != second["result"]["snapshot"]
    assert {first["result"]["snapshot"], second["result"]["snapshot"]} <= set(_snapshots(rds))


def _snap(name: str, minute: int, *, kind: str = "manual", instance: str = DB, tags=None) -> dict:
    return {"DBSnapshotIdentifier": name, "DBInstanceIdentifier": instance, "SnapshotType": kind,
            "SnapshotCreateTime": dt.datetime(2026, 1, 1, 0, minute, tzinfo=dt.UTC),
            "TagList": _ours(name, instance) if tags is None else tags}


def test_surplus_goes_by_creation_time_not_by_name():
    from rampart.ops.snapshot import select_surplus

    listing = [_snap("rampart-a", 30), _snap("rampart-z", 10), _snap("rampart-m", 20), _snap("new", 40)]
    ours, surplus = select_surplus(listing, DB, 2, "new")
    assert [s["DBSnapshotIdentifier"] for s in ours] == ["new", "rampart-a", "rampart-m", "rampart-z"]
    assert [s["DBSnapshotIdentifier"] for s in surplus] == ["rampart-m", "rampart-z"]


def test_surplus_never_includes_automated_foreign_or_other_instances():
    from rampart.ops.snapshot import select_surplus

    listing = [
        _snap("new", 40),
        _snap("auto", 1, kind="automated"),  # even carrying our tags
        _snap("shared", 2, kind="shared"),
        _snap("by-hand", 3, tags=[]),
        _snap("other-tool", 4, tags=[{"Key": MANAGED_BY_KEY, "Value": "aws-backup"}]),
        _snap("tag-for-other-db", 5, tags=_ours("x", "other-db")),
        _snap("other-db", 6, instance="other-db", tags=_ours("x", "other-db")),
    ]
    ours, surplus = select_surplus(listing, DB, 1, "new")
    assert [s["DBSnapshotIdentifier"] for s in ours] == ["new"]
    assert surplus == []


def test_surplus_refuses_a_listing_without_the_new_snapshot():
    from rampart.errors import OperationFailed
    from rampart.ops.snapshot import select_surplus

    with pytest.raises(OperationFailed, match="nothing pruned"):
        select_surplus([_snap("rampart-a", 1), _snap("rampart-b", 2)], DB, 1, "new")
