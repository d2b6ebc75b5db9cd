"""RDS connection rules (catalogue 28, 33-39): who reaches the database and how, and what it records: no public
access, IAM authentication, an RDS-managed master password, statement logging and monitoring, TLS forced by the
instance's own parameter group, private subnets behind a database security group, and non-default identifiers.

Never waivable: `rds-not-public` (a database reachable from the internet is a direct exposure) and
`rds-managed-master-password` (a literal master password lives in state and program source; managed
passwords cost nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guardrails.network_model import (
    SECURITY_GROUP,
    SUBNET,
    nested_dependencies,
    permissions_of,
    public_subnets,
    referenced,
    stack_permissions,
)
from guardrails.rds_model import (
    CLUSTER,
    CLUSTER_INSTANCE,
    DATABASES,
    DEFAULT_PORTS,
    DEFAULT_USERNAMES,
    FORCE_SSL_PARAMETER,
    FSBP,
    INSTANCE,
    LOG_EXPORTS,
    PARAMETER_GROUP,
    SH_RDS_URL,
    SUBNET_GROUP,
    TRUE_VALUES,
    as_number,
    db_port,
    engine_family,
    is_replica,
    own_parameter_group,
    parameter_group_label,
    parameters,
    rds_rule,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import of_type


def check_not_public(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("publiclyAccessible") is True:
        yield "publiclyAccessible is true; expected false (reach the database from inside the VPC only)"


def check_iam_auth(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("iamDatabaseAuthenticationEnabled") is not True:
        yield (f"iamDatabaseAuthenticationEnabled is {shown(resource.get('iamDatabaseAuthenticationEnabled'))}; "
               "expected true")


def check_managed_master_password(resource: Resource, context: Context) -> Iterator[str]:
    # Never echo the password: only say that one is present.
    for key in ("masterPassword", "masterPasswordWo") if resource.type == CLUSTER else ("password", "passwordWo"):
        if resource.get(key) is not None:
            yield f"{key} is set (a literal master password in program and state); expected it unset"
    if is_replica(resource) or resource.get("snapshotIdentifier"):
        return  # replicas and restores inherit the source's master user
    if resource.type == CLUSTER and resource.get("globalClusterIdentifier") and not resource.get("masterUsername"):
        return  # a secondary cluster of a global database takes the primary's master user
    if resource.get("manageMasterUserPassword") is not True:
        yield (f"manageMasterUserPassword is {shown(resource.get('manageMasterUserPassword'))}; expected true "
               "(RDS keeps and rotates the password in Secrets Manager)")
    elif not resource.get("masterUserSecretKmsKeyId"):
        yield "masterUserSecretKmsKeyId is not set; expected the stack's customer managed KMS key"


def check_operational_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("autoMinorVersionUpgrade") is False:
        yield "autoMinorVersionUpgrade is false; expected true (minor versions carry security fixes)"
    interval = as_number(resource.get("monitoringInterval"))
    max_interval = as_number(context.threshold("maxMonitoringIntervalSeconds"))
    if interval <= 0 or interval > max_interval:
        yield (f"monitoringInterval is {shown(resource.get('monitoringInterval'))}; expected enhanced monitoring "
               f"every 1-{int(max_interval)} seconds")
    elif not resource.get("monitoringRoleArn"):
        yield "monitoringRoleArn is not set; expected the enhanced monitoring role"
    if resource.get("performanceInsightsEnabled") is not True:
        yield f"performanceInsightsEnabled is {shown(resource.get('performanceInsightsEnabled'))}; expected true"
    elif not resource.get("performanceInsightsKmsKeyId"):
        yield "performanceInsightsKmsKeyId is not set; expected the stack's customer managed KMS key"


def check_non_default_identifiers(resource: Resource, context: Context) -> Iterator[str]:
    default_port = DEFAULT_PORTS.get(engine_family(resource))
    if default_port is not None and db_port(resource) == default_port:
        yield f"port is {db_port(resource)}, the engine default; expected a non-default port"
    username = resource.get("username")
    if isinstance(username, str) and username.lower() in DEFAULT_USERNAMES:
        yield f"username is {username!r}, a default administrator name; expected a custom master username"


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
        group = own_parameter_group(instance, groups)
        if group is None:
            yield Finding(f"{parameter_group_label(instance)} is not a parameter group of this stack; expected "
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
                          f"{shown(values.get('general_log'))}; expected 1", instance.urn)


def check_force_ssl(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, PARAMETER_GROUP)
    for instance in of_type(resources, INSTANCE):
        parameter = FORCE_SSL_PARAMETER.get(engine_family(instance))
        if parameter is None:
            continue
        group = own_parameter_group(instance, groups)
        if group is None:
            yield Finding(f"{parameter_group_label(instance)} is not a parameter group of this stack; expected "
                          f"the instance's own group with {parameter}=1", instance.urn)
        elif parameters(group).get(parameter) not in TRUE_VALUES:
            yield Finding(f"parameter group {group.name or group.urn}: {parameter} is "
                          f"{shown(parameters(group).get(parameter))}; expected 1", instance.urn)


def check_network_isolation(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    subnet_groups = of_type(resources, SUBNET_GROUP)
    subnets = of_type(resources, SUBNET)
    security_groups = of_type(resources, SECURITY_GROUP)
    instances = of_type(resources, INSTANCE)
    if not instances:  # a stack without a database has nothing to judge, whatever its subnets' routes are
        return
    public = public_subnets(resources)
    permissions = stack_permissions(resources)
    for instance in instances:
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


RULES: list[Rule] = [
    rds_rule(
        28, name="rds-not-public", resource_types=(INSTANCE, CLUSTER, CLUSTER_INSTANCE),
        description="RDS instances, clusters and cluster instances are not publicly accessible.",
        enforcement="M", severity="critical", framework=Framework(FSBP, "RDS.2"),
        remediation="Set `publicly_accessible=False` and place the instance in private subnets.",
        url=f"{SH_RDS_URL}#rds-2", check=check_not_public, waivable=False,
    ),
    rds_rule(
        33, name="rds-iam-auth", resource_types=DATABASES,
        description="RDS instances accept IAM database authentication.",
        enforcement="A", severity="low", framework=Framework(FSBP, "RDS.10"),
        remediation="Set `iam_database_authentication_enabled=True` and grant `rds-db:connect` to the task role.",
        url=f"{SH_RDS_URL}#rds-10", check=check_iam_auth,
    ),
    rds_rule(
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
    rds_rule(
        35, name="rds-logging",
        description="RDS exports its engine and upgrade logs to CloudWatch and its parameter group logs "
                    "statements.",
        enforcement="MP", severity="medium", framework=Framework(FSBP, "RDS.9"),
        remediation="Set `enabled_cloudwatch_logs_exports` (PostgreSQL: [\"postgresql\", \"upgrade\"]; MySQL/"
                    "MariaDB: [\"audit\", \"error\", \"general\", \"slowquery\"]) and give the instance its own "
                    "`aws.rds.ParameterGroup` with `log_statement=ddl` (PostgreSQL) or `general_log=1` (MySQL).",
        url=f"{SH_RDS_URL}#rds-9", stack_check=check_logging,
    ),
    rds_rule(
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
    rds_rule(
        37, name="rds-force-ssl",
        description="The instance's own parameter group forces TLS for every client connection.",
        enforcement="M", severity="high", framework=Framework("Checkov", "CKV2_AWS_69"),
        remediation="Give the instance its own `aws.rds.ParameterGroup` (`parameter_group_name`) with "
                    "`rds.force_ssl=1` (PostgreSQL, SQL Server) or `require_secure_transport=1` (MySQL, MariaDB).",
        url=f"{SH_RDS_URL}#rds-38", stack_check=check_force_ssl,
    ),
    rds_rule(
        38, name="rds-network-isolation",
        description="RDS lives in private subnets behind a security group open only on its port to other "
                    "security groups.",
        enforcement="M", severity="high", framework=Framework(FSBP, "RDS.18"),
        remediation="Set `db_subnet_group_name` to a subnet group of private subnets (no internet gateway route, "
                    "no `map_public_ip_on_launch`) and `vpc_security_group_ids` to a database group whose only "
                    "ingress is the database port from the service's security group (`referenced_security_group_id`).",
        url=f"{SH_RDS_URL}#rds-18", stack_check=check_network_isolation,
    ),
    rds_rule(
        39, name="rds-non-default-identifiers",
        description="RDS instances use a non-default port and master username.",
        enforcement="A", severity="low", framework=Framework(FSBP, "RDS.23"),
        remediation="Set `port` to a non-default value and `username` to a custom name (not admin, postgres, "
                    "root, sa).",
        url=f"{SH_RDS_URL}#rds-23", check=check_non_default_identifiers,
    ),
]
