import dataclasses
import json

import pytest

from components.database import PITR_RPO_MINUTES, Database, DatabaseArgs, final_snapshot_identifier
from components.database_settings import DatabaseSettings
from infra.component_args import database_settings
from tests.support.stacks import record_program, stack_config

INSTANCE = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:rampart-alerts"
ALLOWED = ("sg-web", "sg-api")


def _args(environment="production", protect=True, database=None, **overrides):
    values = dict(
        database=database or database_settings(stack_config("production").database),
        environment=environment,
        identifier="rampart-production-db",
        vpc_id="vpc-123",
        private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
        allowed_security_group_ids=list(ALLOWED),
        kms_key_arn=KEY_ARN,
        notification_topic_arn=TOPIC_ARN,
        protect=protect,
    )
    values.update(overrides)
    return DatabaseArgs(**values)


def _record(args):
    holder = {}

    def program():
        holder["db"] = Database("db", args)

    rec = record_program(program)
    return rec, holder["db"]


@pytest.fixture(scope="module")
def production():
    return _record(_args())


@pytest.fixture(scope="module")
def rec(production):
    return production[0]


@pytest.fixture(scope="module")
def instance(rec):
    return rec.one(INSTANCE)


def test_children_belong_to_the_component(rec):
    component = rec.one("rampart:index:Database")
    children = {r.name for r in rec.children_of(component.urn)}
    assert {"db-instance", "db-subnets", "db-sg", "db-params", "db-monitoring"} <= children


def test_storage_encrypted_with_the_stack_key(instance):
    inputs = instance.plain_inputs()
    assert inputs["storageEncrypted"] is True
    assert inputs["kmsKeyId"] == KEY_ARN
    assert inputs["storageType"] == "gp3"
    assert inputs["maxAllocatedStorage"] > inputs["allocatedStorage"]


def test_not_public_and_in_private_subnets(rec, instance):
    assert instance.plain_inputs()["publiclyAccessible"] is False
    subnets = rec.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnets.plain_inputs()["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert subnets.urn in instance.property_dependencies["dbSubnetGroupName"]


def test_backup_retention_and_window_from_config(instance):
    inputs = instance.plain_inputs()
    assert inputs["backupRetentionPeriod"] == 14
    assert inputs["backupWindow"] == "02:00-03:00"
    assert inputs["maintenanceWindow"] == "sun:04:00-sun:05:00"


def test_snapshot_hygiene(instance):
    inputs = instance.plain_inputs()
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["deleteAutomatedBackups"] is False
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"].startswith("rampart-production-db-final-snapshot-")


def test_final_snapshot_identifier_is_unique_per_instance_life():
    base = final_snapshot_identifier("rampart-production-db", "production", "db", "16")
    assert base != final_snapshot_identifier("rampart-production-db", "production", "db", "17")
    assert base != final_snapshot_identifier("rampart-production-db", "staging", "db", "16")
    assert base == final_snapshot_identifier("rampart-production-db", "production", "db", "16")
    assert len(base) <= 255 and "--" not in base


def test_deletion_protection_and_protect_in_production(instance):
    assert instance.plain_inputs()["deletionProtection"] is True
    assert instance.protect is True


def test_multi_az_in_production(instance):
    assert instance.plain_inputs()["multiAz"] is True


def test_master_password_managed_with_the_stack_key_and_never_an_input(rec, instance):
    inputs = instance.plain_inputs()
    assert inputs["manageMasterUserPassword"] is True
    assert inputs["masterUserSecretKmsKeyId"] == KEY_ARN
    assert "password" not in inputs and "passwordWo" not in inputs
    assert inputs["username"] == "rampart_admin"


def test_iam_auth_insights_monitoring_and_logs(rec, instance):
    inputs = instance.plain_inputs()
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["performanceInsightsEnabled"] is True
    assert inputs["performanceInsightsKmsKeyId"] == KEY_ARN
    assert inputs["performanceInsightsRetentionPeriod"] == 31
    assert inputs["monitoringInterval"] == 15
    role = rec.one("aws:iam/role:Role")
    assert role.urn in instance.property_dependencies["monitoringRoleArn"]
    trust = json.loads(role.plain_inputs()["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "monitoring.rds.amazonaws.com"}]
    attachment = rec.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").plain_inputs()
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]


def test_upgrades_and_certificates(instance):
    inputs = instance.plain_inputs()
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["applyImmediately"] is False
    assert inputs["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    assert inputs["engine"] == "postgres"
    assert inputs["engineVersion"] == "16"


def test_only_allocated_storage_is_ignored(instance):
    assert instance.ignore_changes == ("allocatedStorage",)


def test_force_ssl_in_the_parameter_group_the_instance_uses(rec, instance):
    params = rec.one(PARAMS)
    assert params.urn in instance.property_dependencies["parameterGroupName"]
    inputs = params.plain_inputs()
    assert inputs["family"] == "postgres16"
    values = {p["name"]: p["value"] for p in inputs["parameters"]}
    assert values["rds.force_ssl"] == "1"
    assert values["log_statement"] == "ddl"
    assert int(values["log_min_duration_statement"]) > 0
    assert values["log_connections"] == "1" and values["log_disconnections"] == "1"


def test_security_group_admits_only_the_allowed_groups_on_the_db_port(rec, instance):
    sg = rec.one(SG)
    assert sg.urn in instance.property_dependencies["vpcSecurityGroupIds"]
    sg_inputs = sg.plain_inputs()
    assert not sg_inputs.get("ingress") and not sg_inputs.get("egress")
    rules = [r.plain_inputs() for r in rec.by_type(INGRESS)]
    assert sorted(r["referencedSecurityGroupId"] for r in rules) == sorted(ALLOWED)
    for rule in rules:
        assert rule["ipProtocol"] == "tcp"
        assert rule["fromPort"] == rule["toPort"] == 5432
        assert "cidrIpv4" not in rule and "cidrIpv6" not in rule and "prefixListId" not in rule
    for r in rec.by_type(INGRESS):
        assert sg.urn in r.property_dependencies["securityGroupId"]


def test_database_group_has_no_egress_and_clients_reach_only_the_db_port(rec):
    sg = rec.one(SG)
    egress = rec.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert rec.by_type("aws:ec2/securityGroupRule:SecurityGroupRule") == []
    # Every egress rule belongs to a client group and points at the database group, on the database port only.
    assert sorted(r.plain_inputs()["securityGroupId"] for r in egress) == sorted(ALLOWED)
    for rule in egress:
        inputs = rule.plain_inputs()
        assert sg.urn in rule.property_dependencies["referencedSecurityGroupId"]
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 5432, 5432)
        assert "cidrIpv4" not in inputs and "cidrIpv6" not in inputs


def test_alarms_notify_the_topic_with_explicit_missing_data(rec):
    alarms = {r.plain_inputs()["metricName"]: r.plain_inputs() for r in rec.by_type(ALARM)}
    assert set(alarms) == {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections"}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [TOPIC_ARN]
        assert alarm["treatMissingData"] in ("breaching", "notBreaching", "missing", "ignore")
        assert alarm["dimensions"] == {"DBInstanceIdentifier": "rampart-production-db"}
    assert alarms["FreeStorageSpace"]["comparisonOperator"] == "LessThanThreshold"


def test_outputs(production):
    _, db = production
    assert db.rpo_minutes == PITR_RPO_MINUTES == 5


def test_staging_can_be_single_az_and_unprotected():
    database = database_settings(stack_config("staging").database)
    rec, _ = _record(_args(environment="staging", protect=False, database=database, identifier="rampart-staging-db"))
    instance = rec.one(INSTANCE)
    assert instance.plain_inputs()["multiAz"] is False
    assert instance.protect is False
    # Still never public, never without a final snapshot.
    assert instance.plain_inputs()["publiclyAccessible"] is False
    assert instance.plain_inputs()["skipFinalSnapshot"] is False


def _prod_db(**changes):
    return dataclasses.replace(database_settings(stack_config("production").database), **changes)


@pytest.mark.parametrize(
    ("changes", "protect", "field"),
    [
        ({"backup_retention_days": 7}, True, "database.backup_retention_days"),
        ({"backup_window": "12:00-13:00"}, True, "database.backup_window"),
        ({"multi_az": False}, True, "database.multi_az"),
        ({"deletion_protection": False}, True, "database.deletion_protection"),
        ({}, False, "protect"),
        ({"performance_insights_retention_days": 30}, True, "database.performance_insights_retention_days"),
        ({"backup_window": "04:00-04:20"}, True, "database.backup_window"),
    ],
)
def test_production_rejects_weaker_settings(changes, protect, field):
    with pytest.raises(ValueError, match=rf"^DatabaseArgs\.{field}: expected .*got"):
        _record(_args(database=_prod_db(**changes), protect=protect))


def test_backup_window_must_not_overlap_maintenance():
    database = DatabaseSettings(backup_window="04:00-05:00", maintenance_window="sun:04:30-sun:05:30")
    with pytest.raises(ValueError, match=r"DatabaseArgs\.database\.backup_window: .*maintenance"):
        _record(_args(environment="staging", protect=False, database=database))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"identifier": "Bad_Name"}, "identifier"),
        ({"identifier": "ends-"}, "identifier"),
        ({"private_subnet_ids": ["subnet-a"]}, "private_subnet_ids"),
        ({"database": DatabaseSettings(master_username="postgres")}, "database.master_username"),
        ({"database": DatabaseSettings(max_allocated_storage_gb=20)}, "database.max_allocated_storage_gb"),
        ({"database": {"engineVersion": "16"}}, "database"),
    ],
)
def test_bad_arguments_rejected(overrides, field):
    with pytest.raises(ValueError, match=rf"^DatabaseArgs\.{field}: expected"):
        _record(_args(environment="staging", protect=False, **overrides))
