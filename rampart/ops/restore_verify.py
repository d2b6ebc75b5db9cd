"""Verify a restored instance: RDS's view of its hardening, then (optionally) a query set over a real connection.

The query step runs `psql` (PostgreSQL's client, preinstalled on GitHub's Ubuntu runners) with the restored
instance's own RDS-managed master secret, read from Secrets Manager: no Python driver is added for one check. It
needs a network route to the instance (a runner inside the VPC, a bastion or VPN); the instance is private by
design, so a hosted runner verifies with `--verify describe` and the query set is a documented manual step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from rampart.errors import OperationFailed
from rampart.ops.aws import Aws, calling
from rampart.ops.report import Report

DEFAULT_CHECKS = ("SELECT 1",)
QUERY_TIMEOUT_SECONDS = 60


def _groups(instance: dict[str, Any]) -> list[str]:
    return sorted(g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups") or [])


def _parameter_group(instance: dict[str, Any]) -> str | None:
    return next((g.get("DBParameterGroupName") for g in instance.get("DBParameterGroups") or []), None)


def hardening_differences(source: dict[str, Any], restored: dict[str, Any]) -> list[str]:
    """Each setting on which the restored instance is weaker than, or different from, the source."""
    expected = {
        "storage encrypted": (bool(source.get("StorageEncrypted")), bool(restored.get("StorageEncrypted"))),
        "KMS key": (source.get("KmsKeyId"), restored.get("KmsKeyId")),
        "subnet group": ((source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
                         (restored.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")),
        "security groups": (_groups(source), _groups(restored)),
        "parameter group": (_parameter_group(source), _parameter_group(restored)),
        "IAM authentication": (bool(source.get("IAMDatabaseAuthenticationEnabled")),
                               bool(restored.get("IAMDatabaseAuthenticationEnabled"))),
        "deletion protection": (True, bool(restored.get("DeletionProtection"))),
        "publicly accessible": (False, bool(restored.get("PubliclyAccessible"))),
    }
    if source.get("StorageEncrypted") and not source.get("KmsKeyId"):
        expected.pop("KMS key")
    return [f"{name}: expected {want!r}, got {got!r}" for name, (want, got) in expected.items() if want != got]


def check_hardening(source: dict[str, Any], restored: dict[str, Any], report: Report) -> list[str]:
    problems = hardening_differences(source, restored)
    if problems:
        report.fail("hardening", "; ".join(problems))
    else:
        report.ok("hardening", "encrypted with the source's key, its subnet group, security groups and parameter "
                               "group, not public, deletion protection on")
    return problems


def master_credentials(aws: Aws, restored: dict[str, Any]) -> tuple[str, str]:
    """(user, password) from the restored instance's own RDS-managed secret; never printed."""
    secret_arn = (restored.get("MasterUserSecret") or {}).get("SecretArn")
    identifier = restored.get("DBInstanceIdentifier")
    if not secret_arn:
        raise OperationFailed(f"DB instance {identifier} has no RDS-managed master secret: --verify query needs one")
    with calling("secretsmanager:GetSecretValue", f"the master secret of {identifier}"):
        raw = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    try:
        value = json.loads(raw)
        return str(value["username"]), str(value["password"])
    except (ValueError, KeyError, TypeError):
        raise OperationFailed(f"the master secret of {identifier}: expected JSON with username and password") from None


def run_psql(*, host: str, port: int, user: str, password: str, database: str, sql: str) -> tuple[bool, str]:
    """One statement through psql; (succeeded, first line of output or error). The password goes by environment,
    never on the command line where `ps` would show it."""
    psql = shutil.which("psql")
    if psql is None:
        raise OperationFailed("--verify query: psql (PostgreSQL client) not found on PATH")
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10",
           "PGSSLMODE": os.environ.get("PGSSLMODE", "prefer")}
    completed = subprocess.run(
        [psql, "-h", host, "-p", str(port), "-U", user, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
         "-c", sql],
        capture_output=True, text=True, env=env, timeout=QUERY_TIMEOUT_SECONDS, check=False,
    )
    output = (completed.stdout if completed.returncode == 0 else completed.stderr).strip()
    return completed.returncode == 0, output.splitlines()[0] if output else ""


def run_queries(aws: Aws, restored: dict[str, Any], options: Any, report: Report) -> list[str]:
    user, password = master_credentials(aws, restored)
    endpoint = restored.get("Endpoint") or {}
    host = options.verify_host or endpoint.get("Address")
    port = options.verify_port or int(endpoint.get("Port") or 5432)
    database = options.database or restored.get("DBName") or "postgres"
    if not host:
        raise OperationFailed(f"DB instance {restored.get('DBInstanceIdentifier')} has no endpoint to query")
    problems = []
    for sql in (*DEFAULT_CHECKS, *options.checks):
        ok, output = run_psql(host=host, port=port, user=user, password=password, database=database, sql=sql)
        if ok:
            report.ok("query", f"{sql} -> {output}")
        else:
            report.fail("query", f"{sql}: {output}")
            problems.append(f"query {sql!r} failed")
    return problems
