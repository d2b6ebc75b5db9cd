"""RDS rules (catalogue 26-39): encryption and its key, exposure, backups and snapshots, deletion and
availability, authentication and the master password, logging, TLS, network isolation and identifiers.

They judge `aws:rds/instance:Instance` (with its parameter group, subnet group and security groups for the
stack rules). Encryption, its key, backups, snapshots, deletion protection, IAM auth and the master password
are judged on `aws:rds/cluster:Cluster` too (Aurora and Multi-AZ DB clusters keep them there), exposure on the
cluster and on each `aws:rds/clusterInstance:ClusterInstance`. Aurora members take TLS and logging settings from
their cluster's parameter group, so the parameter checks skip `aurora-*` engines.

Never waivable: `rds-not-public` (a database reachable from the internet is a direct exposure) and
`rds-managed-master-password` (a literal master password lives in state and program source; managed
passwords cost nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.network import (
    SECURITY_GROUP,
    SUBNET,
    nested_dependencies,
    permissions_of,
    public_subnets,
    referenced,
    stack_permissions,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import of_type

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


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _is_replica(resource: Resource) -> bool:
    return bool(resource.get("replicateSourceDb") or resource.get("replicationSourceIdentifier"))


def db_port(resource: Resource) -> int:
    port = resource.get("port")
    return int(_number(port)) if port is not None else DEFAULT_PORTS.get(engine_family(resource), 0)


def parameters(group: Resource) -> dict[str, str]:
    values = {}
    for entry in group.get("parameters", []) or []:
        if isinstance(entry, Mapping) and entry.get("name"):
            values[str(entry["name"]).lower()] = str(entry.get("value", "")).strip().lower()
    return values


def _own_parameter_group(instance: Resource, groups: Sequence[Resource]) -> Resource | None:
    found = referenced(instance, "parameterGroupName", groups)
    return found[0] if found else None


def _parameter_group_label(instance: Resource) -> str:
    name = instance.get("parameterGroupName")
    return f"parameterGroupName {name!r}" if name else "parameterGroupName (unset: the engine's default group)"


# --- resource rules ----------------------------------------------------------------------------------------


def check_storage_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("storageEncrypted") is not True:
        yield f"storageEncrypted is {resource.get('storageEncrypted')!r}; expected true"


def check_not_public(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("publiclyAccessible") is True:
        yield "publiclyAccessible is true; expected false (reach the database from inside the VPC only)"


def _backup_window_key(resource: Resource) -> str:
    return "preferredBackupWindow" if resource.type == CLUSTER else "backupWindow"


def check_backup_retention(resource: Resource, context: Context) -> Iterator[str]:
    if _is_replica(resource):
        return
    # At least one day on every stack whatever the config says: 0 disables automated backups and PITR.
    required = max(1, int(context.threshold("minRetentionDays")))
    retention = resource.get("backupRetentionPeriod")
    if retention is None or _number(retention) < required:
        unset = " (unset: the provider default is 1 day)" if retention is None and resource.type == CLUSTER else ""
        yield f"backupRetentionPeriod is {retention!r}{unset}; expected at least {required} days"
    window = _backup_window_key(resource)
    if not resource.get(window):
        yield f"{window} is not set; expected an explicit daily window (hh24:mi-hh24:mi, UTC) off peak"


def check_snapshot_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("skipFinalSnapshot") is True:
        yield "skipFinalSnapshot is true; expected false so deleting or replacing the instance keeps a snapshot"
    if not resource.get("finalSnapshotIdentifier"):
        yield "finalSnapshotIdentifier is not set; expected a unique identifier (e.g. with a random suffix)"
    if resource.get("deleteAutomatedBackups") is not False:
        yield (f"deleteAutomatedBackups is {resource.get('deleteAutomatedBackups')!r} (provider default true); "
               "expected false so point-in-time backups outlive the instance")
    if resource.get("copyTagsToSnapshot") is not True:
        yield f"copyTagsToSnapshot is {resource.get('copyTagsToSnapshot')!r}; expected true"


def check_deletion_protection(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("deletionProtection") is not True:
        yield f"deletionProtection is {resource.get('deletionProtection')!r}; expected true"


def check_multi_az(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("multiAz") is not True:
        yield f"multiAz is {resource.get('multiAz')!r}; expected true (a standby in a second AZ)"


def check_iam_auth(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("iamDatabaseAuthenticationEnabled") is not True:
        yield (f"iamDatabaseAuthenticationEnabled is {resource.get('iamDatabaseAuthenticationEnabled')!r}; "
               "expected true")


def check_managed_master_password(resource: Resource, context: Context) -> Iterator[str]:
    # Never echo the password: only say that one is present.
    for key in ("masterPassword", "masterPasswordWo") if resource.type == CLUSTER else ("password", "passwordWo"):
        if resource.get(key) is not None:
            yield f"{key} is set (a literal master password in program and state); expected it unset"
    if _is_replica(resource) or resource.get("snapshotIdentifier"):
        return  # replicas and restores inherit the source's master user
    if resource.type == CLUSTER and resource.get("globalClusterIdentifier") and not resource.get("masterUsername"):
        return  # a secondary cluster of a global database takes the primary's master user
    if resource.get("manageMasterUserPassword") is not True:
        yield (f"manageMasterUserPassword is {resource.get('manageMasterUserPassword')!r}; expected true "
               "(RDS keeps and rotates the password in Secrets Manager)")
    elif not resource.get("masterUserSecretKmsKeyId"):
        yield "masterUserSecretKmsKeyId is not set; expected the stack's customer managed KMS key"


def check_operational_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("autoMinorVersionUpgrade") is False:
        yield "autoMinorVersionUpgrade is false; expected true (minor versions carry security fixes)"
    interval = _number(resource.get("monitoringInterval"))
    max_interval = _number(context.threshold("maxMonitoringIntervalSeconds"))
    if interval <= 0 or interval > max_interval:
        yield (f"monitoringInterval is {resource.get('monitoringInterval')!r}; expected enhanced monitoring "
               f"every 1-{int(max_interval)} seconds")
    elif not resource.get("monitoringRoleArn"):
        yield "monitoringRoleArn is not set; expected the enhanced monitoring role"
    if resource.get("performanceInsightsEnabled") is not True:
        yield f"performanceInsightsEnabled is {resource.get('performanceInsightsEnabled')!r}; expected true"
    elif not resource.get("performanceInsightsKmsKeyId"):
        yield "performanceInsightsKmsKeyId is not set; expected the stack's customer managed KMS key"


def check_non_default_identifiers(resource: Resource, context: Context) -> Iterator[str]:
    default_port = DEFAULT_PORTS.get(engine_family(resource))
    if default_port is not None and db_port(resource) == default_port:
        yield f"port is {db_port(resource)}, the engine default; expected a non-default port"
    username = resource.get("username")
    if isinstance(username, str) and username.lower() in DEFAULT_USERNAMES:
        yield f"username is {username!r}, a default administrator name; expected a custom master username"


# --- stack rules -------------------------------------------------------------------------------------------


def check_cmk(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    keys = of_type(resources, *KMS_KEYS)
    external = set(context.threshold("externalKeyArns"))
    for instance in of_type(resources, *DATABASES):
        key = instance.get("kmsKeyId")
        if not key or "alias/aws/" in str(key):
            yield Finding(f"kmsKeyId is {key!r}: storage uses the AWS managed aws/rds key; expected a customer "
                          "managed KMS key of this stack", instance.urn)
        elif not referenced(instance, "kmsKeyId", keys, name_key="") and key not in external:
            yield Finding(f"kmsKeyId {key!r} is not a KMS key of this stack (nor listed in externalKeyArns); "
                          "expected the stack's customer managed key", instance.urn)


def check_logging(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, PARAMETER_GROUP)
    for instance in of_type(resources, INSTANCE):
        family = engine_family(instance)
        exports = set(instance.get("enabledCloudwatchLogsExports", []) or [])
        missing = [e for e in LOG_EXPORTS.get(family, ()) if e not in exports]
        if missing:
            yield Finding(f"enabledCloudwatchLogsExports lacks {', '.join(missing)}; expected "
                          f"{', '.join(LOG_EXPORTS[family])}", instance.urn)
        if family not in ("postgres", "mysql", "mariadb"):
            continue
        group = _own_parameter_group(instance, groups)
        if group is None:
            yield Finding(f"{_parameter_group_label(instance)} is not a parameter group of this stack; expected "
                          "one that sets statement logging", instance.urn)
            continue
        values = parameters(group)
        if family == "postgres":
            statement = values.get("log_statement", "none")
            audited = values.get("pgaudit.log", "none") not in ("", "none")
            if statement not in ("ddl", "mod", "all") and not audited:
                yield Finding(f"parameter group {group.name or group.urn}: log_statement is {statement!r}; "
                              "expected ddl, mod or all (or pgaudit.log)", instance.urn)
        elif values.get("general_log") not in TRUE_VALUES:
            yield Finding(f"parameter group {group.name or group.urn}: general_log is "
                          f"{values.get('general_log')!r}; expected 1", instance.urn)


def check_force_ssl(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, PARAMETER_GROUP)
    for instance in of_type(resources, INSTANCE):
        parameter = FORCE_SSL_PARAMETER.get(engine_family(instance))
        if parameter is None:
            continue
        group = _own_parameter_group(instance, groups)
        if group is None:
            yield Finding(f"{_parameter_group_label(instance)} is not a parameter group of this stack; expected "
                          f"the instance's own group with {parameter}=1", instance.urn)
        elif parameters(group).get(parameter) not in TRUE_VALUES:
            yield Finding(f"parameter group {group.name or group.urn}: {parameter} is "
                          f"{parameters(group).get(parameter)!r}; expected 1", instance.urn)


def check_network_isolation(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    subnet_groups = of_type(resources, SUBNET_GROUP)
    subnets = of_type(resources, SUBNET)
    security_groups = of_type(resources, SECURITY_GROUP)
    public = public_subnets(resources)
    permissions = stack_permissions(resources)
    for instance in of_type(resources, INSTANCE):
        if not instance.get("dbSubnetGroupName"):
            yield Finding("dbSubnetGroupName is not set (the default VPC's subnets); expected a subnet group of "
                          "private subnets", instance.urn)
        for subnet_group in referenced(instance, "dbSubnetGroupName", subnet_groups):
            exposed = [s.name or s.urn for s in nested_dependencies(subnet_group, "subnetIds", subnets)
                       if s.urn in public]
            if exposed:
                yield Finding(f"dbSubnetGroupName {subnet_group.name or subnet_group.urn} has public subnets "
                              f"({', '.join(exposed)}); expected private subnets only", instance.urn)
        if not instance.get("vpcSecurityGroupIds"):
            yield Finding("vpcSecurityGroupIds is empty (the VPC default security group); expected a dedicated "
                          "database security group", instance.urn)
        port = db_port(instance)
        for group in referenced(instance, "vpcSecurityGroupIds", security_groups, name_key=""):
            for permission in permissions_of(group.urn, permissions, "ingress"):
                by_reference = permission.source_groups and not permission.cidrs and not permission.prefix_lists
                if not by_reference or not permission.single_port or permission.from_port != port:
                    yield Finding(f"security group {group.name or group.urn} allows {permission.describe()}; "
                                  f"expected only port {port} from the service security group", instance.urn)


def _rule(number: int, **kwargs: Any) -> Rule:
    kwargs.setdefault("resource_types", (INSTANCE,) if "check" in kwargs else ())
    kwargs.setdefault("tags", ("rds", f"catalogue-{number}"))
    return Rule(**kwargs)


POLICIES: list[Rule] = [
    _rule(
        26, name="rds-storage-encrypted", resource_types=DATABASES,
        description="RDS instances and clusters encrypt their storage at rest.",
        enforcement="M", severity="high", framework=Framework(FSBP, "RDS.3, RDS.27"),
        remediation="Set `storage_encrypted=True` (with `kms_key_id` the stack key); an existing unencrypted "
                    "instance needs a snapshot, an encrypted copy and a restore.",
        url=f"{SH_RDS_URL}#rds-3", check=check_storage_encrypted,
    ),
    _rule(
        27, name="rds-cmk",
        description="RDS storage is encrypted with a customer managed KMS key of the stack, not aws/rds.",
        enforcement="MP", severity="medium", framework=Framework("Rampart deployment safety", "RDS-27"),
        remediation="Set `kms_key_id` to the ARN of the stack's `aws.kms.Key` (keys managed elsewhere: list their "
                    "ARNs in the rule's `externalKeyArns`). Changing the key replaces the instance: restore from "
                    "a snapshot copied with the new key.",
        url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.Keys.html",
        stack_check=check_cmk, thresholds={"externalKeyArns": []},
    ),
    _rule(
        28, name="rds-not-public", resource_types=(INSTANCE, CLUSTER, CLUSTER_INSTANCE),
        description="RDS instances, clusters and cluster instances are not publicly accessible.",
        enforcement="M", severity="critical", framework=Framework(FSBP, "RDS.2"),
        remediation="Set `publicly_accessible=False` and place the instance in private subnets.",
        url=f"{SH_RDS_URL}#rds-2", check=check_not_public, waivable=False,
    ),
    _rule(
        29, name="rds-backup-retention", resource_types=DATABASES,
        description="RDS automated backups are kept for the configured days (at least one) in a set window.",
        enforcement="M", severity="high", framework=Framework(FSBP, "RDS.11"),
        remediation="Set `backup_retention_period` to at least `minRetentionDays` (7 by default; at least 1 on "
                    "any stack) and `backup_window` (clusters: `preferred_backup_window`), e.g. \"03:00-04:00\", "
                    "outside the maintenance window.",
        url=f"{SH_RDS_URL}#rds-11", check=check_backup_retention, thresholds={"minRetentionDays": 7},
    ),
    _rule(
        30, name="rds-snapshot-hygiene", resource_types=DATABASES,
        description="Deleting an RDS instance keeps a uniquely named final snapshot, its automated backups and "
                    "its tags.",
        enforcement="MP", severity="high", framework=Framework(FSBP, "RDS.17"),
        remediation="Set `skip_final_snapshot=False`, `final_snapshot_identifier` to a unique name (e.g. with a "
                    "`random.RandomId` suffix), `delete_automated_backups=False` and `copy_tags_to_snapshot=True`.",
        url=f"{SH_RDS_URL}#rds-17", check=check_snapshot_hygiene,
    ),
    _rule(
        31, name="rds-deletion-protection", resource_types=DATABASES,
        description="RDS instances and clusters have deletion protection enabled.",
        enforcement="MP", severity="high", framework=Framework(FSBP, "RDS.8, RDS.7"),
        remediation="Set `deletion_protection=True` (and `protect=True` on the resource).",
        url=f"{SH_RDS_URL}#rds-8", check=check_deletion_protection,
    ),
    _rule(
        32, name="rds-multi-az",
        description="RDS instances run Multi-AZ with a standby in a second availability zone.",
        enforcement="MP", severity="medium", framework=Framework(FSBP, "RDS.5"),
        remediation="Set `multi_az=True`.",
        url=f"{SH_RDS_URL}#rds-5", check=check_multi_az,
    ),
    _rule(
        33, name="rds-iam-auth", resource_types=DATABASES,
        description="RDS instances accept IAM database authentication.",
        enforcement="A", severity="low", framework=Framework(FSBP, "RDS.10"),
        remediation="Set `iam_database_authentication_enabled=True` and grant `rds-db:connect` to the task role.",
        url=f"{SH_RDS_URL}#rds-10", check=check_iam_auth,
    ),
    _rule(
        34, name="rds-managed-master-password", resource_types=DATABASES,
        description="The RDS master password is managed by RDS in Secrets Manager with a customer managed key, "
                    "never a literal.",
        enforcement="M", severity="critical", framework=Framework("Rampart deployment safety", "RDS-34"),
        remediation="Remove `password`/`password_wo` (clusters: `master_password`/`master_password_wo`); set "
                    "`manage_master_user_password=True` and "
                    "`master_user_secret_kms_key_id` to the stack key. Applications use their own database user "
                    "or IAM auth, not the master password (it rotates every 7 days).",
        url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html",
        check=check_managed_master_password, waivable=False,
    ),
    _rule(
        35, name="rds-logging",
        description="RDS exports its engine and upgrade logs to CloudWatch and its parameter group logs "
                    "statements.",
        enforcement="MP", severity="medium", framework=Framework(FSBP, "RDS.9"),
        remediation="Set `enabled_cloudwatch_logs_exports` (PostgreSQL: [\"postgresql\", \"upgrade\"]; MySQL/"
                    "MariaDB: [\"audit\", \"error\", \"general\", \"slowquery\"]) and give the instance its own "
                    "`aws.rds.ParameterGroup` with `log_statement=ddl` (PostgreSQL) or `general_log=1` (MySQL).",
        url=f"{SH_RDS_URL}#rds-9", stack_check=check_logging,
    ),
    _rule(
        36, name="rds-operational-hygiene",
        description="RDS takes minor upgrades and runs enhanced monitoring and KMS-encrypted Performance "
                    "Insights.",
        enforcement="A", severity="low", framework=Framework(FSBP, "RDS.13"),
        remediation="Keep `auto_minor_version_upgrade=True`; set `monitoring_interval` (e.g. 60) with "
                    "`monitoring_role_arn`; set `performance_insights_enabled=True` with "
                    "`performance_insights_kms_key_id` the stack key.",
        url=f"{SH_RDS_URL}#rds-13", check=check_operational_hygiene,
        thresholds={"maxMonitoringIntervalSeconds": 60},
    ),
    _rule(
        37, name="rds-force-ssl",
        description="The instance's own parameter group forces TLS for every client connection.",
        enforcement="M", severity="high", framework=Framework("Checkov", "CKV2_AWS_69"),
        remediation="Give the instance its own `aws.rds.ParameterGroup` (`parameter_group_name`) with "
                    "`rds.force_ssl=1` (PostgreSQL, SQL Server) or `require_secure_transport=1` (MySQL, MariaDB).",
        url=f"{SH_RDS_URL}#rds-38", stack_check=check_force_ssl,
    ),
    _rule(
        38, name="rds-network-isolation",
        description="RDS lives in private subnets behind a security group open only on its port to other "
                    "security groups.",
        enforcement="M", severity="high", framework=Framework(FSBP, "RDS.18"),
        remediation="Set `db_subnet_group_name` to a subnet group of private subnets (no internet gateway route, "
                    "no `map_public_ip_on_launch`) and `vpc_security_group_ids` to a database group whose only "
                    "ingress is the database port from the service's security group (`referenced_security_group_id`).",
        url=f"{SH_RDS_URL}#rds-18", stack_check=check_network_isolation,
    ),
    _rule(
        39, name="rds-non-default-identifiers",
        description="RDS instances use a non-default port and master username.",
        enforcement="A", severity="low", framework=Framework(FSBP, "RDS.23"),
        remediation="Set `port` to a non-default value and `username` to a custom name (not admin, postgres, "
                    "root, sa).",
        url=f"{SH_RDS_URL}#rds-23", check=check_non_default_identifiers,
    ),
]
