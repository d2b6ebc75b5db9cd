"""What the RDS rules read: the type tokens, engine families and their defaults (port, log exports, the TLS
parameter), and an instance's own parameter group. Shared by guardrails.rds_data and guardrails.rds_connections.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guardrails.network_model import referenced
from guardrails.rule import Resource, Rule

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DATABASES = (INSTANCE, CLUSTER)
"""What holds the data, the backups and the master user: an instance, or an Aurora / Multi-AZ DB cluster."""
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
KMS_KEYS = ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey", "aws:kms/externalKey:ExternalKey")

FSBP = "AWS Foundational Security Best Practices"
SH_RDS_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html"
CHECKOV_URL = "https://www.checkov.io/5.Policy%20Index/terraform.html"

DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "sqlserver": 1433, "oracle": 1521, "db2": 50000}
DEFAULT_USERNAMES = frozenset({"admin", "administrator", "postgres", "root", "sa", "master", "system", "rdsadmin"})
LOG_EXPORTS = {
    "postgres": ("postgresql", "upgrade"),
    "mysql": ("audit", "error", "general", "slowquery"),
    "mariadb": ("audit", "error", "general", "slowquery"),
}
FORCE_SSL_PARAMETER = {
    "postgres": "rds.force_ssl",
    "sqlserver": "rds.force_ssl",
    "mysql": "require_secure_transport",
    "mariadb": "require_secure_transport",
}
TRUE_VALUES = frozenset({"1", "on", "true"})


def engine_family(resource: Resource) -> str:
    engine = str(resource.get("engine", "")).lower()
    if engine.startswith("aurora"):
        return "aurora"
    for family in ("postgres", "mysql", "mariadb", "sqlserver", "oracle", "db2"):
        if engine.startswith(family):
            return family
    return engine


def as_number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def is_replica(resource: Resource) -> bool:
    return bool(resource.get("replicateSourceDb") or resource.get("replicationSourceIdentifier"))


def db_port(resource: Resource) -> int:
    port = resource.get("port")
    return int(as_number(port)) if port is not None else DEFAULT_PORTS.get(engine_family(resource), 0)


def parameters(group: Resource) -> dict[str, str]:
    values = {}
    for entry in group.get("parameters", []) or []:
        if isinstance(entry, Mapping) and entry.get("name"):
            values[str(entry["name"]).lower()] = str(entry.get("value", "")).strip().lower()
    return values


def own_parameter_group(instance: Resource, groups: Sequence[Resource]) -> Resource | None:
    found = referenced(instance, "parameterGroupName", groups)
    return found[0] if found else None


def parameter_group_label(instance: Resource) -> str:
    name = instance.get("parameterGroupName")
    return f"parameterGroupName {name!r}" if name else "parameterGroupName (unset: the engine's default group)"


def rds_rule(number: int, **kwargs: Any) -> Rule:
    kwargs.setdefault("resource_types", (INSTANCE,) if "check" in kwargs else ())
    kwargs.setdefault("tags", ("rds", f"catalogue-{number}"))
    return Rule(**kwargs)
