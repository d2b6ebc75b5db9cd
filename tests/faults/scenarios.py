"""One small world per ops command, with foreign things planted beside it, and what the command may change.

Each scenario arranges its world straight on moto (never through the proxy), returns the command line, and after
the run says what the command created (and whether each carries its label) and whether every foreign thing is
intact. The proxy's call log adds the last proof: the only writes are the command's own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rampart.ops.restore import RESTORED_BY_KEY, RESTORED_BY_VALUE
from rampart.ops.snapshot import INSTANCE_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE
from tests.ops import world as w

Client = Callable[[str], Any]
DB = "app-db"
OURS = [{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}, {"Key": INSTANCE_KEY, "Value": DB}]
WRITE_PREFIXES = ("Create", "Delete", "Put", "Update", "Stop", "Run", "Register", "Deregister", "Continue", "Tag",
                  "Untag", "Modify", "Start", "Set", "Restore")
SUCCEEDED = {"deploymentInfo": {"deploymentId": "d-FAULTS", "applicationName": w.APPLICATION,
                                "deploymentGroupName": w.GROUP, "status": "Succeeded"}}


@dataclass
class Scenario:
    command: str
    writes: frozenset[str]
    """AWS actions the command may call that change anything."""
    state: dict[str, Any] = field(default_factory=dict)

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        raise NotImplementedError

    def created(self, direct: Client) -> dict[str, bool]:
        """What the run made: {id: carries its label}."""
        return {}

    def foreign_intact(self, direct: Client) -> bool:
        return True

    def close(self) -> None:
        return


class SnapshotScenario(Scenario):
    FOREIGN = ("by-hand", "lookalike")

    def __init__(self) -> None:
        super().__init__("snapshot", frozenset({"CreateDBSnapshot", "DeleteDBSnapshot"}))

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        rds = direct("rds")
        for db in (DB, "other-db"):
            rds.create_db_instance(DBInstanceIdentifier=db, DBInstanceClass="db.t4g.medium", Engine="postgres",
                                   MasterUsername="admin_user", MasterUserPassword="not-a-real-pass-1",
                                   AllocatedStorage=20, BackupRetentionPeriod=7)
        for day in (1, 2, 3):
            name = f"rampart-{DB}-2020010{day}-000000"
            rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=DB, Tags=OURS)
        rds.create_db_snapshot(DBSnapshotIdentifier="by-hand", DBInstanceIdentifier=DB)
        rds.create_db_snapshot(DBSnapshotIdentifier="lookalike", DBInstanceIdentifier=DB,
                               Tags=[{"Key": MANAGED_BY_KEY, "Value": "someone-else"}])
        rds.create_db_snapshot(DBSnapshotIdentifier="rampart-other-db-20200101-000000",
                               DBInstanceIdentifier="other-db", Tags=OURS[:1] + [{"Key": INSTANCE_KEY,
                                                                                 "Value": "other-db"}])
        self.state["before"] = self._all(direct)
        return ["snapshot", "--db-instance", DB, "--keep", "2", "--wait-delay", "0.05", "--wait-timeout", "20"]

    def _all(self, direct: Client) -> dict[str, dict[str, Any]]:
        found = direct("rds").describe_db_snapshots()["DBSnapshots"]
        return {s["DBSnapshotIdentifier"]: s for s in found}

    def created(self, direct: Client) -> dict[str, bool]:
        now = self._all(direct)
        return {name: {t["Key"]: t["Value"] for t in s.get("TagList") or []}.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE
                for name, s in now.items() if name not in self.state["before"]}

    def foreign_intact(self, direct: Client) -> bool:
        now = self._all(direct)
        ours = {n for n in self.state["before"] if n.startswith(f"rampart-{DB}-2020")}
        return all(name in now for name in self.state["before"] if name not in ours)


class RestoreScenario(Scenario):
    """A hardened source (as tests/ops/test_restore.py builds it) beside a foreign instance and an earlier restore
    someone kept: the run may add one instance, labelled rampart:restored-by, and change nothing else."""

    TARGET = "rampart-staging-db-restored"

    def __init__(self) -> None:
        super().__init__("restore", frozenset({"RestoreDBInstanceToPointInTime"}))

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        from tests.ops.test_restore import SOURCE, _hardened_source

        _hardened_source(direct)
        rds = direct("rds")
        for name, tags in (("other-db", []), (f"{SOURCE}-restore-202001010000",
                                              [{"Key": RESTORED_BY_KEY, "Value": RESTORED_BY_VALUE}])):
            rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.medium", Engine="postgres",
                                   MasterUsername="admin_user", MasterUserPassword="not-a-real-pass-1",
                                   AllocatedStorage=20, DeletionProtection=True, Tags=tags)
        self.state["before"] = self._all(direct)
        return ["restore", "--db-instance", SOURCE, "--latest-restorable", "--target-instance", self.TARGET,
                "--wait-delay", "0.05", "--wait-timeout", "20"]

    def _all(self, direct: Client) -> dict[str, dict[str, Any]]:
        found = direct("rds").describe_db_instances()["DBInstances"]
        return {i["DBInstanceIdentifier"]: i for i in found}

    def created(self, direct: Client) -> dict[str, bool]:
        return {name: {t["Key"]: t["Value"] for t in i.get("TagList") or []}.get(RESTORED_BY_KEY) == RESTORED_BY_VALUE
                for name, i in self._all(direct).items() if name not in self.state["before"]}

    def foreign_intact(self, direct: Client) -> bool:
        now = self._all(direct)
        keep = ("DBInstanceStatus", "DeletionProtection", "TagList", "DBInstanceClass")
        return all(name in now and all(now[name].get(k) == old.get(k) for k in keep)
                   for name, old in self.state["before"].items())


class WorldScenario(Scenario):
    """The deployed-stack world of tests/ops, with a foreign task definition family beside it."""

    def _build(self, direct: Client, tmp: Path) -> w.World:
        world = w.build(direct, tmp, with_db=True)
        ecs = direct("ecs")
        ecs.register_task_definition(family="someone-elses", containerDefinitions=[
            {"name": "x", "image": "busybox", "memory": 128}])
        self.state["families"] = self._revisions(direct)
        self.state["world"] = world
        return world

    def _revisions(self, direct: Client) -> set[str]:
        ecs = direct("ecs")
        return {arn for family in (w.FAMILY, "someone-elses")
                for arn in ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]}

    def foreign_intact(self, direct: Client) -> bool:
        return self.state["families"] <= self._revisions(direct)


class DeployScenario(WorldScenario):
    def __init__(self) -> None:
        super().__init__("deploy", frozenset({"RegisterTaskDefinition", "CreateDeployment", "StopDeployment",
                                              "ContinueDeployment"}))

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        world = self._build(direct, tmp)
        return ["deploy", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
                "--image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v2", "--poll", "0.05",
                "--timeout", "20"]

    def created(self, direct: Client) -> dict[str, bool]:
        ecs = direct("ecs")
        made: dict[str, bool] = {}
        for arn in self._revisions(direct) - self.state["families"]:
            tags = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]).get("tags") or []
            made[arn] = any(t["key"] == "rampart:stack" for t in tags)
        codedeploy = direct("codedeploy")
        for deployment in codedeploy.list_deployments(applicationName=w.APPLICATION,
                                                      deploymentGroupName=w.GROUP)["deployments"]:
            info = codedeploy.get_deployment(deploymentId=deployment)["deploymentInfo"]
            made[deployment] = info.get("description") == "rampart deploy"
        return made


class MigrateScenario(WorldScenario):
    def __init__(self) -> None:
        super().__init__("migrate", frozenset({"RunTask"}))

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        world = self._build(direct, tmp)
        self.state["tasks"] = self._tasks(direct)
        return ["migrate", "--stack", "production", "--outputs", str(world.outputs_path), "--service", w.SERVICE,
                "--command", "python manage.py migrate --noinput", "--wait-delay", "0.05", "--timeout", "10"]

    def _tasks(self, direct: Client) -> dict[str, dict[str, Any]]:
        ecs = direct("ecs")
        arns = [arn for status in ("RUNNING", "STOPPED")
                for arn in ecs.list_tasks(cluster=w.CLUSTER, desiredStatus=status)["taskArns"]]
        return {t["taskArn"]: t for t in ecs.describe_tasks(cluster=w.CLUSTER, tasks=arns)["tasks"]} if arns else {}

    def created(self, direct: Client) -> dict[str, bool]:
        return {arn: task.get("startedBy") == "rampart-migrate"
                for arn, task in self._tasks(direct).items() if arn not in self.state["tasks"]}


class VerifyScenario(WorldScenario):
    def __init__(self, program: Path) -> None:
        super().__init__("verify", frozenset())
        self.program = program

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        world = self._build(direct, tmp)
        direct("cloudwatch").set_alarm_state(AlarmName=w.ALARMS[0], StateValue="ALARM", StateReason="faults")
        return ["verify", "--stack", "production", "--outputs", str(world.outputs_path),
                "--program", str(self.program)]


class SmokeScenario(Scenario):
    """A healthy listener on loopback; the proxy fronts it (plain HTTP, the action is the path)."""

    def __init__(self) -> None:
        super().__init__("smoke", frozenset())

    def arrange(self, direct: Client, tmp: Path) -> list[str]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.state["server"] = server
        return ["smoke", "--url", "{proxy}", "--path", "/health", "--attempts", "2", "--backoff", "0.01",
                "--backoff-max", "0.02", "--request-timeout", "1"]

    def upstream(self) -> str:
        return f"http://127.0.0.1:{self.state['server'].server_address[1]}"

    def close(self) -> None:
        if "server" in self.state:
            self.state.pop("server").shutdown()


class _Healthy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = dt.datetime.now(dt.UTC).isoformat().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def program_dir(tmp: Path) -> Path:
    """A project whose stack file promises what the world's database has (14 days, protected)."""
    directory = tmp / "project"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: rampart\nruntime: python\n")
    (directory / "__main__.py").write_text("")
    (directory / "Pulumi.production.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  rampart:database:\n    backupRetentionDays: 14\n"
        "    deletionProtection: true\n")
    return directory
