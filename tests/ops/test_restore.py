"""`rampart restore` on moto's server: a new instance with the source's hardening, the recovery point reached, the
measured time and RPO gap, failures that say what they left, and the promote plan / cut-over."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rampart.ops.restore import POINT_KEY, RESTORED_BY_KEY, SOURCE_KEY, target_identifier
from tests.ops.conftest import run_json

SOURCE = "rampart-staging-db"


def _hardened_source(client: Callable[[str], Any]) -> dict[str, str]:
    """The source as components/database.py builds it: private subnets, its own security group and parameter
    group, the stack's KMS key, an RDS-managed master secret, IAM auth, deletion protection."""
    ec2, rds = client("ec2"), client("rds")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"eu-west-1{az}")
               ["Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName="rampart-staging-db-subnets", SubnetIds=subnets,
                               DBSubnetGroupDescription="db")
    rds.create_db_parameter_group(DBParameterGroupName="rampart-staging-db-params",
                                  DBParameterGroupFamily="postgres16", Description="db")
    key = client("kms").create_key(Description="stack key")["KeyMetadata"]["Arn"]
    rds.create_db_instance(
        DBInstanceIdentifier=SOURCE, DBInstanceClass="db.t4g.medium", Engine="postgres", EngineVersion="16.4",
        MasterUsername="rampart", ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=key,
        AllocatedStorage=20, BackupRetentionPeriod=7, StorageEncrypted=True, KmsKeyId=key, DeletionProtection=True,
        DBSubnetGroupName="rampart-staging-db-subnets", VpcSecurityGroupIds=[group],
        DBParameterGroupName="rampart-staging-db-params", EnableIAMDatabaseAuthentication=True,
        PubliclyAccessible=False, DBName="app", Tags=[{"Key": "rampart:stack", "Value": "staging"}])
    return {"key": key, "group": group}


def _outputs(tmp_path: Path) -> Path:
    path = tmp_path / "staging.json"
    path.write_text(json.dumps({
        "database": {"instanceIdentifier": SOURCE},
        "recovery": {"rtoMinutes": 15, "rpoMinutes": 60, "paths": [
            {"path": "restore", "objective": "RTO", "targetMinutes": 45},
            {"path": "data loss", "objective": "RPO", "targetMinutes": 60}]},
    }))
    return path


def _restore(capsys, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    return run_json(capsys, ["restore", "--outputs", str(_outputs(tmp_path)), "--wait-delay", "0.05",
                             "--wait-timeout", "5", *extra])


def test_point_in_time_restore_builds_a_hardened_copy_and_reports_rto_rpo(client, capsys, tmp_path):
    made = _hardened_source(client)
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "copy-1")
    assert code == 0, report
    restored = client("rds").describe_db_instances(DBInstanceIdentifier="copy-1")["DBInstances"][0]
    assert restored["StorageEncrypted"] and restored["KmsKeyId"] == made["key"]
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == "rampart-staging-db-subnets"
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [made["group"]]
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == "rampart-staging-db-params"
    assert restored["DeletionProtection"] and not restored["PubliclyAccessible"]
    assert restored["IAMDatabaseAuthenticationEnabled"] and restored["CopyTagsToSnapshot"]
    tags = {t["Key"]: t["Value"] for t in restored["TagList"]}
    assert tags[RESTORED_BY_KEY] == "rampart-restore" and tags[SOURCE_KEY] == SOURCE
    assert tags["rampart:stack"] == "staging" and tags[POINT_KEY] == report["result"]["recoveryPoint"]
    assert report["result"]["restoreSeconds"] >= 0 and report["result"]["rpoGapMinutes"] >= 0
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["hardening"]["status"] == "ok"
    assert "target 45 min: met" in steps["RTO"]["detail"] and "target 60 min: met" in steps["RPO"]["detail"]
    source = client("rds").describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]
    assert source["DBInstanceStatus"] == "available" and source["DeletionProtection"]


def test_to_time_and_latest_snapshot_record_their_recovery_points(client, capsys, tmp_path):
    _hardened_source(client)
    rds = client("rds")
    rds.create_db_snapshot(DBInstanceIdentifier=SOURCE, DBSnapshotIdentifier="older")
    rds.create_db_snapshot(DBInstanceIdentifier=SOURCE, DBSnapshotIdentifier="newer")
    newest = rds.describe_db_snapshots(DBSnapshotIdentifier="newer")["DBSnapshots"][0]["SnapshotCreateTime"]
    code, report = _restore(capsys, tmp_path, "--from-snapshot", "latest", "--target-instance", "copy-s")
    assert code == 0, report
    assert report["result"]["mode"] == "snapshot"
    assert report["result"]["recoveryPoint"] == newest.astimezone(dt.UTC).isoformat()
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).replace(microsecond=0)
    code, report = _restore(capsys, tmp_path, "--to-time", when.isoformat().replace("+00:00", "Z"),
                            "--target-instance", "copy-t")
    assert code == 0, report
    assert report["result"]["recoveryPoint"] == when.isoformat()


def test_discard_deletes_only_the_rehearsal_copy(client, capsys, tmp_path):
    _hardened_source(client)
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "rehearsal", "--discard",
                            "--rto-target", "0.000001")
    assert code == 0, report
    # A restore slower than its target is reported, not failed: the rehearsal measures, the pack enforces.
    assert "target 1e-06 min: MISSED" in next(s["detail"] for s in report["steps"] if s["name"] == "RTO")
    names = [i["DBInstanceIdentifier"] for i in client("rds").describe_db_instances()["DBInstances"]]
    assert names == [SOURCE]


def test_timeout_names_the_instance_it_left(client, capsys, tmp_path, monkeypatch):
    from botocore.exceptions import WaiterError

    from rampart.ops import aws as ops_aws

    _hardened_source(client)

    def never(*args: Any, **kwargs: Any) -> None:
        raise WaiterError("DBInstanceAvailable", "Max attempts exceeded", {})

    monkeypatch.setattr(ops_aws, "wait", never)  # restore waits through wait_or_fail
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "slow-copy")
    assert code == 1
    message = report["steps"][-1]["detail"]
    assert "DB instance slow-copy not available after 5s" in message and "was left in place" in message
    assert any(item.startswith("DB instance slow-copy") for item in report["result"]["leftBehind"])
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "slow-2",
                            "--cleanup-on-failure")
    assert code == 1 and "slow-2 is being deleted" in report["steps"][-1]["detail"]
    names = {i["DBInstanceIdentifier"] for i in client("rds").describe_db_instances()["DBInstances"]}
    assert "slow-2" not in names and "slow-copy" in names


def test_promote_is_a_plan_without_confirm_and_a_rename_swap_with_it(client, capsys, tmp_path):
    _hardened_source(client)
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "copy-p", "--promote")
    assert code == 0, report
    assert len(report["result"]["promotePlan"]) == 5 and "promoted" not in report["result"]
    assert "dry run: nothing changed" in report["steps"][-1]["detail"]
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "copy-q", "--promote",
                            "--confirm")
    assert code == 0, report
    old = report["result"]["promoted"]["old"]
    found = {i["DBInstanceIdentifier"]: i for i in client("rds").describe_db_instances()["DBInstances"]}
    assert SOURCE in found and old in found and "copy-q" not in found
    assert {t["Key"]: t["Value"] for t in found[SOURCE]["TagList"]}[RESTORED_BY_KEY] == "rampart-restore"
    assert found[old]["DeletionProtection"], "the old instance keeps its deletion protection"


@pytest.mark.parametrize(("argv", "message"), [
    (["--latest-restorable", "--confirm"], "--confirm: only with --promote"),
    (["--to-time", "yesterday"], "--to-time: expected ISO 8601"),
    (["--to-time", "2999-01-01T00:00:00Z"], "--to-time: 2999-01-01T00:00:00Z is in the future"),
    (["--latest-restorable", "--check", "SELECT 2"], "only with --verify query"),
    (["--latest-restorable", "--promote", "--discard"], "choose one"),
    (["--latest-restorable", "--rto-target", "0"], "--rto-target: expected positive minutes, got 0"),
])
def test_bad_flags_exit_2_with_one_message(argv, message, capsys):
    from rampart.cli import main

    assert main(["restore", "--db-instance", SOURCE, *argv]) == 2
    assert message in capsys.readouterr().err


def test_target_identifier_keeps_its_timestamp_within_63_characters():
    name = target_identifier("x" * 70, dt.datetime(2026, 11, 30, 12, 5, tzinfo=dt.UTC))
    assert len(name) <= 63 and name.endswith("-restore-202611301205")


@pytest.fixture(scope="module")
def local_postgres() -> Any:
    """A throwaway PostgreSQL (trust auth on loopback) standing in for the restored instance's endpoint: moto
    serves the AWS side (the instance and its RDS-managed master secret), this serves the query set."""
    import os
    import shutil
    import socket
    import subprocess
    import tempfile

    initdb = shutil.which("initdb") or "/usr/local/bin/initdb"
    pg_ctl = shutil.which("pg_ctl") or "/usr/local/bin/pg_ctl"
    if not (Path(initdb).exists() and shutil.which("psql")):
        pytest.skip("PostgreSQL server binaries and psql are not installed")
    # initdb refuses to run as root: run the server as the postgres user when the suite runs as root.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 and shutil.which("runuser") else []
    # Not under pytest's tmp dir: it is private to root, and the postgres user must reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="rampart-pg-"))
    data = home / "data"
    data.mkdir()
    if run_as:
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # moto's RDS-managed master secret always holds the user "admin": the server's superuser carries that name.
    subprocess.run([*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "admin"], check=True,
                   capture_output=True, timeout=120)
    # The server's output goes to a log file: a captured pipe would be held open by the server and hang the run.
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-l", str(home / "server.log"), "-w", "-o",
                    f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    yield port
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


def test_query_verification_runs_the_checks_with_the_master_secret(client, capsys, tmp_path, local_postgres):
    _hardened_source(client)
    verify = ["--verify", "query", "--verify-host", "127.0.0.1", "--verify-port", str(local_postgres),
              "--database", "postgres"]
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "copy-v", *verify,
                            "--check", "SELECT count(*) > 0 FROM pg_class")
    assert code == 0, report["steps"]
    queries = [s["detail"] for s in report["steps"] if s["name"] == "query"]
    assert queries == ["SELECT 1 -> 1", "SELECT count(*) > 0 FROM pg_class -> t"]
    code, report = _restore(capsys, tmp_path, "--latest-restorable", "--target-instance", "copy-w", *verify,
                            "--check", "SELECT * FROM orders")
    assert code == 1
    assert 'relation "orders" does not exist' in next(s["detail"] for s in report["steps"] if s["status"] == "fail")
    assert "query 'SELECT * FROM orders' failed" in report["steps"][-1]["detail"]
    assert "copy-w was left in place" in report["steps"][-1]["detail"]
