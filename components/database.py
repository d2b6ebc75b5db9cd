"""Database: one PostgreSQL RDS instance, private, encrypted with the stack key, recoverable to any point in time.

Recovery ownership (DESIGN trap 7): RDS owns the automated backups behind point-in-time recovery (retention
and window come from `database:` config and are set here only). AWS Backup (components/backup_plan.py) owns the
daily snapshot copies and their retention, and never enables continuous backup, which would take over the RDS
retention setting and make `pulumi up` and AWS Backup overwrite each other.

Losing the instance must never lose the data: deletion protection, `protect` in production, automated backups
kept after delete, and a final snapshot under an identifier no earlier deletion can have used.

The master password is generated and rotated by RDS in Secrets Manager (every 7 days), encrypted with the stack
key; applications use IAM authentication or their own database user, never the master password, because a
rotation would cut them off.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.database_settings import DatabaseSettings, validate_settings
from components.service_trust import service_trust

# RDS ships PostgreSQL transaction logs to S3 every five minutes: the worst-case loss with point-in-time recovery.
PITR_RPO_MINUTES = 5


CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
LOG_EXPORTS = ("postgresql", "upgrade")
ENHANCED_MONITORING_POLICY = "policy/service-role/AmazonRDSEnhancedMonitoringRole"

# The instance's own parameter group: TLS only, and enough statement logging to reconstruct a schema change.
PARAMETERS = (
    ("rds.force_ssl", "1"),
    ("log_statement", "ddl"),
    ("log_min_duration_statement", "1000"),
    ("log_connections", "1"),
    ("log_disconnections", "1"),
)

_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,53}[a-z0-9]$")


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    database: DatabaseSettings
    environment: str
    identifier: str
    """RDS instance identifier (lowercase letters, digits, single hyphens; at most 55 characters)."""
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    allowed_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups (the services') admitted on the database port; nothing else is."""
    kms_key_arn: pulumi.Input[str]
    notification_topic_arn: pulumi.Input[str]
    protect: bool


def final_snapshot_identifier(identifier: str, stack: str, logical_name: str, major_version: str) -> str:
    """The snapshot RDS takes when the instance is deleted.

    It must be unique across every deletion the stack will ever make: RDS refuses to delete an instance whose
    final snapshot id already exists. No random id is available without the pulumi-random plugin, so the suffix
    is a hash of what identifies this instance's life: stack, logical name, identifier and major version (a
    major version change is the ordinary replacement). A replacement that keeps all of these produces the same
    id; then RDS refuses the delete and keeps the instance, which fails safe: nothing is lost, and the operator
    renames the earlier snapshot before retrying.
    """
    digest = hashlib.sha256("/".join((stack, logical_name, identifier, major_version)).encode()).hexdigest()[:10]
    return f"{identifier}-final-snapshot-{digest}"


def validate(args: DatabaseArgs) -> None:
    """Raise ValueError naming the first argument that would build an unsafe or unbuildable database."""
    if not _IDENTIFIER.fullmatch(args.identifier):
        raise ValueError(
            "DatabaseArgs.identifier: expected 2-55 lowercase letters, digits and single hyphens, starting with a "
            f"letter and not ending with a hyphen, got {args.identifier!r}"
        )
    if len(args.private_subnet_ids) < 2:
        raise ValueError(
            "DatabaseArgs.private_subnet_ids: expected private subnets in at least two availability zones, "
            f"got {len(args.private_subnet_ids)}"
        )
    production = args.environment == "production"
    validate_settings(args.database, production=production, field="DatabaseArgs.database")
    if production and not args.protect:
        raise ValueError("DatabaseArgs.protect: expected true in production, got false")


class Database(pulumi.ComponentResource):
    instance_identifier: pulumi.Output[str]
    """RDS instance identifier (what `rampart snapshot` and the alarms address)."""
    endpoint: pulumi.Output[str]
    """Host name of the instance (without the port)."""
    port: pulumi.Output[int]
    """Port the instance listens on."""
    arn: pulumi.Output[str]
    """Instance ARN (what AWS Backup selects)."""
    security_group_id: pulumi.Output[str]
    """The database's security group."""
    master_user_secret_arn: pulumi.Output[str]
    """Secrets Manager secret RDS manages for the master user (rotated by RDS; not for applications)."""
    rpo_minutes: int
    """Worst-case data loss with point-in-time recovery."""
    alarm_names: list[pulumi.Output[str]]
    """CPU, free storage and connection alarms."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        validate(args)
        super().__init__("rampart:index:Database", name, None, opts)
        self._name, self._args = name, args
        security_group = self._security_group()
        instance = self._instance(security_group, self._parameter_group(), self._monitoring_role())

        self.alarm_names = self._alarms(name, args, instance)

        self.instance_identifier = instance.identifier
        self.endpoint = instance.address
        self.port = instance.port
        self.arn = instance.arn
        self.security_group_id = security_group.id
        self.master_user_secret_arn = instance.master_user_secrets.apply(_first_secret_arn)
        # Config requires at least one day of automated backups, so point-in-time recovery is always on.
        self.rpo_minutes = PITR_RPO_MINUTES
        self.register_outputs(
            {
                "instanceIdentifier": self.instance_identifier,
                "endpoint": self.endpoint,
                "port": self.port,
                "arn": self.arn,
                "securityGroupId": self.security_group_id,
                "masterUserSecretArn": self.master_user_secret_arn,
                "rpoMinutes": self.rpo_minutes,
            }
        )

    def _security_group(self) -> aws.ec2.SecurityGroup:
        name, args = self._name, self._args
        db = args.database
        child = pulumi.ResourceOptions(parent=self)
        # No inline rules: standalone rule resources own ingress, and without an inline `egress` the provider
        # removes the allow-all egress rule AWS adds to every new group. A database initiates no connections.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"PostgreSQL {args.identifier}: the database port from the allowed service groups only",
            vpc_id=args.vpc_id,
            opts=child,
        )
        for index, source in enumerate(args.allowed_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-{index}",
                security_group_id=security_group.id,
                referenced_security_group_id=source,
                ip_protocol="tcp",
                from_port=db.port,
                to_port=db.port,
                description="PostgreSQL from an allowed service security group",
                opts=child,
            )
            # The matching way out of the client's group: services egress only where they must, so without
            # this rule the database port is closed from their side.
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-client-egress-{index}",
                security_group_id=source,
                referenced_security_group_id=security_group.id,
                ip_protocol="tcp",
                from_port=db.port,
                to_port=db.port,
                description="PostgreSQL to the database security group",
                opts=child,
            )
        return security_group

    def _parameter_group(self) -> aws.rds.ParameterGroup:
        name, args = self._name, self._args
        major = args.database.engine_version.split(".")[0]
        child = pulumi.ResourceOptions(parent=self)
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description=f"{args.identifier}: TLS required, DDL and slow statements logged",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=key, value=value) for key, value in PARAMETERS],
            opts=child,
        )
        return parameter_group

    def _monitoring_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        account_and_partition = pulumi.Output.from_input(args.kms_key_arn).apply(_account_and_partition)
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring",
            description=f"RDS enhanced monitoring for {args.identifier}",
            assume_role_policy=account_and_partition.apply(
                lambda ap: service_trust("monitoring.rds.amazonaws.com", ap[0])
            ),
            opts=child,
        )
        monitoring_policy = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=account_and_partition.apply(lambda ap: f"arn:{ap[1]}:iam::aws:{ENHANCED_MONITORING_POLICY}"),
            opts=child,
        )
        return monitoring_role, monitoring_policy

    def _instance(
        self,
        security_group: aws.ec2.SecurityGroup,
        parameter_group: aws.rds.ParameterGroup,
        monitoring: tuple[aws.iam.Role, aws.iam.RolePolicyAttachment],
    ) -> aws.rds.Instance:
        name, args = self._name, self._args
        db = args.database
        child = pulumi.ResourceOptions(parent=self)
        major = db.engine_version.split(".")[0]
        monitoring_role, monitoring_policy = monitoring
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"Private subnets of {args.identifier}",
            subnet_ids=list(args.private_subnet_ids),
            opts=child,
        )

        instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=args.identifier,
            engine="postgres",
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=db.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=db.database_name,
            username=db.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            port=db.port,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=db.multi_az,
            **_recovery_settings(db, final_snapshot_identifier(args.identifier, pulumi.get_stack(), name, major)),
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=db.performance_insights_retention_days,
            monitoring_interval=db.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            # Changes wait for the maintenance window rather than restart production mid-day.
            apply_immediately=False,
            ca_cert_identifier=CA_CERT_IDENTIFIER,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                # CreateDBInstance rejects a monitoring role that does not carry its policy yet; the role's ARN
                # alone orders the instance after the role, not after the attachment.
                depends_on=[monitoring_policy],
                # Storage autoscaling grows allocated storage past the configured size; without this, the next
                # `pulumi up` would try to shrink it, which RDS rejects.
                ignore_changes=["allocatedStorage"],
            ),
        )
        return instance

    def _alarms(self, name: str, args: DatabaseArgs, instance: aws.rds.Instance) -> list[pulumi.Output[str]]:
        db = args.database
        alarms = (
            # role, metric, comparison, threshold, missing-data treatment
            ("cpu", "CPUUtilization", "GreaterThanThreshold", db.cpu_alarm_percent, "notBreaching"),
            # FreeStorageSpace is reported every minute while the instance runs: silence means trouble.
            (
                "free-storage",
                "FreeStorageSpace",
                "LessThanThreshold",
                db.free_storage_alarm_gb * 1024**3,
                "breaching",
            ),
            ("connections", "DatabaseConnections", "GreaterThanThreshold", db.connections_alarm, "notBreaching"),
        )
        names = []
        for role, metric, comparison, threshold, missing in alarms:
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{role}",
                alarm_description=f"{args.identifier}: {metric} {comparison} {threshold}",
                namespace="AWS/RDS",
                metric_name=metric,
                dimensions={"DBInstanceIdentifier": instance.identifier},
                statistic="Average",
                period=300,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                comparison_operator=comparison,
                threshold=threshold,
                treat_missing_data=missing,
                alarm_actions=[args.notification_topic_arn],
                ok_actions=[args.notification_topic_arn],
                opts=pulumi.ResourceOptions(parent=self),
            )
            names.append(alarm.name)
        return names


def _recovery_settings(db: DatabaseSettings, final_snapshot: str) -> dict[str, object]:
    """What keeps the data when the instance is lost or deleted (DESIGN trap 7)."""
    return {
        "backup_retention_period": db.backup_retention_days,
        "backup_window": db.backup_window,
        "maintenance_window": db.maintenance_window,
        "copy_tags_to_snapshot": True,
        "delete_automated_backups": False,
        "skip_final_snapshot": False,
        "final_snapshot_identifier": final_snapshot,
        "deletion_protection": db.deletion_protection,
    }


def _account_and_partition(key_arn: str) -> tuple[str, str]:
    # arn:<partition>:kms:<region>:<account>:key/<id>
    parts = key_arn.split(":")
    if len(parts) < 6 or parts[2] != "kms":
        raise ValueError(f"DatabaseArgs.kms_key_arn: expected a KMS key ARN, got {key_arn!r}")
    return parts[4], parts[1]


def _first_secret_arn(secrets) -> str:
    if not secrets:
        return ""
    first = secrets[0]
    return first.get("secretArn", "") if isinstance(first, dict) else first.secret_arn
