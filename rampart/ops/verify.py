"""Check the live account against what the stack promises: rollback on alarm, alarms armed, database, capacity."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rampart.errors import OperationFailed, UsageError
from rampart.ops import ecs as ecs_ops
from rampart.ops.aws import Aws, calling
from rampart.ops.outputs import StackOutputs
from rampart.ops.report import Report

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")


@dataclass(frozen=True)
class DeclaredDatabase:
    backup_retention_days: int
    deletion_protection: bool
    storage_encrypted: bool
    source: str


def _program_database_config(program: Path) -> type:
    """The config model of this project's program (`infra/config.py`), preferably the --program directory's own:
    an installed rampart carries no `infra` package, and must not (it is the program, not the CLI)."""
    if (program / "infra" / "config.py").is_file() and str(program.resolve()) not in sys.path:
        sys.path.insert(0, str(program.resolve()))
    try:
        return importlib.import_module("infra.config").DatabaseConfig
    except ImportError:
        raise UsageError(f"--program {program}: no infra/config.py; rampart verify reads the declared database "
                         "settings with this project's program") from None


def declared_database(outputs: StackOutputs, program: Path, stack: str | None) -> DeclaredDatabase:
    """The promise: flags aside, the outputs if they carry it, else the stack file, else the config defaults."""
    from pydantic import ValidationError

    DatabaseConfig = _program_database_config(program)  # noqa: N806 (a class)
    exported = database_outputs(outputs) or {}
    source = "config defaults"
    raw: dict[str, Any] = {}
    stack_file = program / f"Pulumi.{stack}.yaml" if stack else None
    if stack_file is not None and stack_file.is_file():
        from rampart.engine.stackfile import load_project, load_stack

        settings = load_stack(load_project(program), stack)
        value = settings.config.get("rampart:database")
        if value is not None:
            try:
                raw = json.loads(value)
            except ValueError:
                raise UsageError(f"{stack_file}: rampart:database is not a mapping") from None
        source = str(stack_file)
    try:
        config = DatabaseConfig.model_validate(raw)
    except ValidationError as exc:
        raise UsageError(f"{stack_file}: rampart:database: {exc.errors()[0].get('msg')}") from None
    retention = _exported(exported, "backupRetentionDays", outputs, config.backup_retention_days)
    protection = _exported(exported, "deletionProtection", outputs, config.deletion_protection)
    if "backupRetentionDays" in exported or "deletionProtection" in exported:
        source = f"{outputs.path}"
    # Encryption at rest has no opt-out in this project: the promise is always "encrypted".
    encrypted = _exported(exported, "storageEncrypted", outputs, True)
    return DeclaredDatabase(int(retention), bool(protection), encrypted, source)


def database_outputs(outputs: StackOutputs) -> dict[str, Any] | None:
    """The `database` output, which must be an object when present: anything else would silently skip the check."""
    database = outputs.optional("database")
    if database is not None and not isinstance(database, dict):
        raise UsageError(f"{outputs.path}: database: expected an object (instanceIdentifier, "
                         f"backupRetentionDays, ...), got a JSON {type(database).__name__}")
    if database is not None and "instanceIdentifier" in database and \
            not (isinstance(database["instanceIdentifier"], str) and database["instanceIdentifier"]):
        raise UsageError(f"{outputs.path}: database.instanceIdentifier: expected a DB instance identifier string")
    return database


def _exported(exported: dict[str, Any], key: str, outputs: StackOutputs, default: Any) -> Any:
    """An exported promise, typed: a whole number of days or a boolean; never a traceback, never the value echoed
    (an outputs file can hold secrets)."""
    if key not in exported:
        return default
    value = exported[key]
    if key == "backupRetentionDays":
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
            raise UsageError(f"{outputs.path}: database.{key}: expected a whole number of days")
        return int(value)
    if not isinstance(value, bool):
        raise UsageError(f"{outputs.path}: database.{key}: expected true or false")
    return value


def _guard(report: Report, name: str, check: Callable[[], None]) -> None:
    """A missing resource or a denied call is drift in its own check, not the end of the whole report."""
    try:
        check()
    except OperationFailed as exc:
        report.fail(name, str(exc))


def run_verify(aws: Aws, outputs: StackOutputs, program: Path, report: Report,
               overrides: dict[str, Any] | None = None) -> None:
    overrides = overrides or {}
    services = outputs.get("services", expect=dict)
    cluster = outputs.get("clusterName", expect=str)
    report.result["stack"] = outputs.stack
    for name, declared in sorted(services.items()):
        if not isinstance(declared, dict):
            raise UsageError(f"{outputs.path}: services.{name} is not an object")
        for key in ("serviceName", "codedeployApplication", "deploymentGroup"):
            if not declared.get(key):
                raise UsageError(f"{outputs.path}: no key services.{name}.{key} in the stack outputs")
        _guard(report, f"{name}: desired count",
               lambda d=declared, n=name: _check_service(aws, cluster, d, report, n))
        _guard(report, f"{name}: alarms", lambda d=declared, n=name: _check_group(aws, d, report, n))
    _report_awaiting_image(outputs, report)

    database = database_outputs(outputs) or {}
    instance = database.get("instanceIdentifier")
    if instance:
        declared_db = declared_database(outputs, program, outputs.stack)
        given = {key: value for key, value in overrides.items() if value is not None}
        if given:
            declared_db = dataclasses.replace(declared_db, **given, source="flags")
        _guard(report, "database", lambda: _check_database(aws, str(instance), declared_db, report))
    else:
        report.add("database", "skip", "no database.instanceIdentifier in the stack outputs")


def _report_awaiting_image(outputs: StackOutputs, report: Report) -> None:
    """A service awaiting its first image has no ECS service, alarms or deployment group yet: nothing to verify,
    and not drift (outputs without the key, from older stacks, list none)."""
    awaiting = outputs.optional("awaitingImage")
    if not isinstance(awaiting, dict):
        return
    for name, declared in sorted(awaiting.items()):
        repository = declared.get("repositoryUrl") if isinstance(declared, dict) else None
        report.add(f"{name}: first image", "skip",
                   f"awaits its first image: push it to {repository or 'its repository'}, set "
                   "services[].image to its digest in the stack file and run `pulumi up`")


def _check_service(aws: Aws, cluster: str, declared: dict[str, Any], report: Report, name: str) -> None:
    service = ecs_ops.describe_service(aws.client("ecs"), cluster, str(declared["serviceName"]))
    desired, running = int(service.get("desiredCount", 0)), int(service.get("runningCount", 0))
    detail = f"{service.get('serviceName')}: {running} running of {desired} desired ({service.get('status')})"
    if service.get("status") == "ACTIVE" and desired > 0 and running >= desired:
        report.ok(f"{name}: desired count", detail)
    else:
        report.fail(f"{name}: desired count", detail)


def _check_group(aws: Aws, declared: dict[str, Any], report: Report, name: str) -> None:
    application, group_name = str(declared["codedeployApplication"]), str(declared["deploymentGroup"])
    promised = [str(a) for a in declared.get("alarmNames") or []]
    try:
        with calling("codedeploy:GetDeploymentGroup", f"deployment group {group_name} of application {application}"):
            group = aws.client("codedeploy").get_deployment_group(
                applicationName=application, deploymentGroupName=group_name)["deploymentGroupInfo"]
    except OperationFailed as exc:
        # An unreadable group must not hide an alarm already in ALARM: check the stack's own alarms instead, or
        # say plainly that they went unchecked.
        report.fail(f"{name}: rollback", str(exc))
        if promised:
            _check_alarms(aws, sorted(set(promised)), report, name)
        else:
            report.fail(f"{name}: alarms", "could not check: the deployment group is unreadable and the stack "
                        f"outputs list no services.{name}.alarmNames")
        return
    rollback = group.get("autoRollbackConfiguration") or {}
    events = set(rollback.get("events") or [])
    missing = [e for e in ROLLBACK_EVENTS if e not in events]
    if rollback.get("enabled") and not missing:
        report.ok(f"{name}: rollback", f"{group_name} rolls back on {', '.join(ROLLBACK_EVENTS)}")
    else:
        state = "disabled" if not rollback.get("enabled") else f"missing {', '.join(missing)}"
        report.fail(f"{name}: rollback", f"{group_name}: automatic rollback {state}")

    alarm_config = group.get("alarmConfiguration") or {}
    group_alarms = [str(a.get("name")) for a in alarm_config.get("alarms") or [] if a.get("name")]
    if not alarm_config.get("enabled") or not group_alarms:
        report.fail(f"{name}: alarm rollback", f"{group_name}: no alarms enabled on the deployment group")
    elif alarm_config.get("ignorePollAlarmFailure"):
        report.fail(f"{name}: alarm rollback", f"{group_name}: ignorePollAlarmFailure lets a deploy pass unwatched")
    else:
        not_wired = [a for a in promised if a not in group_alarms]
        if not_wired:
            report.fail(f"{name}: alarm rollback",
                        f"{group_name}: stack alarms not on the group: {', '.join(not_wired)}")
        else:
            report.ok(f"{name}: alarm rollback", f"{len(group_alarms)} alarm(s) stop the deployment")
    _check_alarms(aws, sorted(set(group_alarms) | set(promised)), report, name)


def _check_alarms(aws: Aws, names: list[str], report: Report, service: str) -> None:
    if not names:
        return
    cloudwatch = aws.client("cloudwatch")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), 100):
        chunk = names[start:start + 100]
        with calling("cloudwatch:DescribeAlarms", ", ".join(chunk)):
            for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=chunk):
                for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                    found[alarm["AlarmName"]] = alarm
    for alarm in names:
        step = f"{service}: alarm {alarm}"
        if alarm not in found:
            report.fail(step, "does not exist: a deployment cannot be stopped on it")
            continue
        state = found[alarm].get("StateValue")
        if state == "ALARM":
            # CodeDeploy rolls back on a transition into ALARM: one already there cannot stop a bad deploy.
            report.fail(step, "already in ALARM: alarm rollback cannot work until it recovers")
        else:
            report.ok(step, str(state))


def _check_database(aws: Aws, instance: str, declared: DeclaredDatabase, report: Report) -> None:
    with calling("rds:DescribeDBInstances", f"DB instance {instance}"):
        live = aws.client("rds").describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0]
    report.info("database: declared", f"from {declared.source}")
    checks = (
        ("database: backup retention", live.get("BackupRetentionPeriod"), declared.backup_retention_days, "days"),
        ("database: deletion protection", live.get("DeletionProtection"), declared.deletion_protection, ""),
        ("database: encryption", live.get("StorageEncrypted"), declared.storage_encrypted, ""),
    )
    for step, actual, wanted, unit in checks:
        detail = f"{instance}: {actual} {unit}".strip() + f" (declared {wanted} {unit})".replace(" )", ")")
        (report.ok if actual == wanted else report.fail)(step, detail)
