"""RDS rules (catalogue 26-39): a compliant instance passes; each weakened field fails with the rule's message;
each rule once through the real pack."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import rds
from guardrails.rule import Context, Resource, findings

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import DROP, changed, rule_context, urn

INSTANCE = "aws:rds/instance:Instance"
KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b1f6a3e-1111-2222-3333-444455556666"

BASE: dict[str, Any] = {
    "engine": "postgres",
    "engineVersion": "16.4",
    "instanceClass": "db.t4g.medium",
    "port": 6432.0,
    "username": "rampart_owner",
    "storageEncrypted": True,
    "kmsKeyId": KEY_ARN,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 14.0,
    "backupWindow": "03:00-04:00",
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "orders-db-final-1a2b3c",
    "deleteAutomatedBackups": False,
    "copyTagsToSnapshot": True,
    "deletionProtection": True,
    "multiAz": True,
    "iamDatabaseAuthenticationEnabled": True,
    "manageMasterUserPassword": True,
    "masterUserSecretKmsKeyId": KEY_ARN,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "autoMinorVersionUpgrade": True,
    "monitoringInterval": 60.0,
    "monitoringRoleArn": "arn:aws:iam::111111111111:role/rds-monitoring",
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY_ARN,
    "parameterGroupName": "orders-db-params",
    "dbSubnetGroupName": "orders-db-subnets",
    "vpcSecurityGroupIds": ["sg-0db"],
}

RULES = {rule.name: rule for rule in rds.POLICIES}


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def resource_messages(rule_name: str, props: dict[str, Any], **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.check is not None
    resource = Resource(type=INSTANCE, props=props, urn=urn(INSTANCE, "db"), name="db")
    return [f.message for f in findings(rule.check(resource, context(rule_name, **config)), resource.urn)]


# --- a whole compliant database stack, for the stack rules -------------------------------------------------

VPC_URN = urn("aws:ec2/vpc:Vpc", "vpc")
KEY_URN = urn("aws:kms/key:Key", "key")
PG_URN = urn("aws:rds/parameterGroup:ParameterGroup", "db-params")
SUBNET_GROUP_URN = urn("aws:rds/subnetGroup:SubnetGroup", "db-subnets")
PRIVATE_A = urn("aws:ec2/subnet:Subnet", "private-a")
PRIVATE_B = urn("aws:ec2/subnet:Subnet", "private-b")
PUBLIC_A = urn("aws:ec2/subnet:Subnet", "public-a")
IGW_URN = urn("aws:ec2/internetGateway:InternetGateway", "igw")
PUBLIC_RT = urn("aws:ec2/routeTable:RouteTable", "public")
DB_SG = urn("aws:ec2/securityGroup:SecurityGroup", "db-sg")
SERVICE_SG = urn("aws:ec2/securityGroup:SecurityGroup", "service-sg")
DB_URN = urn(INSTANCE, "db")

INSTANCE_DEPS = {
    "kmsKeyId": (KEY_URN,),
    "parameterGroupName": (PG_URN,),
    "dbSubnetGroupName": (SUBNET_GROUP_URN,),
    "vpcSecurityGroupIds": (DB_SG,),
}


def stack(
    instance: dict[str, Any] | None = None,
    *,
    parameters: list[dict[str, Any]] | None = None,
    db_ingress: list[dict[str, Any]] | None = None,
    db_subnets: tuple[str, ...] = (PRIVATE_A, PRIVATE_B),
    instance_deps: dict[str, tuple[str, ...]] | None = None,
    extra: list[Resource] = (),  # type: ignore[assignment]
) -> list[Resource]:
    if parameters is None:
        parameters = [{"name": "rds.force_ssl", "value": "1"}, {"name": "log_statement", "value": "ddl"}]
    if db_ingress is None:
        db_ingress = [{"protocol": "tcp", "fromPort": 6432.0, "toPort": 6432.0, "securityGroups": ["sg-0svc"]}]
    return [
        Resource("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, urn=VPC_URN, name="vpc"),
        Resource("aws:kms/key:Key", {"enableKeyRotation": True}, urn=KEY_URN, name="key"),
        Resource("aws:ec2/internetGateway:InternetGateway", {}, urn=IGW_URN, name="igw"),
        Resource("aws:ec2/routeTable:RouteTable", {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}]},
                 urn=PUBLIC_RT, name="public", property_dependencies={"routes": (IGW_URN,)}),
        Resource("aws:ec2/routeTableAssociation:RouteTableAssociation", {"subnetId": "subnet-pa", "routeTableId": "rt"},
                 urn=urn("aws:ec2/routeTableAssociation:RouteTableAssociation", "public-a"), name="public-a",
                 property_dependencies={"subnetId": (PUBLIC_A,), "routeTableId": (PUBLIC_RT,)}),
        *[Resource("aws:ec2/subnet:Subnet", {"cidrBlock": "10.0.1.0/24", "mapPublicIpOnLaunch": False}, urn=u,
                   name=u.rsplit("::", 1)[-1]) for u in (PRIVATE_A, PRIVATE_B, PUBLIC_A)],
        Resource("aws:rds/subnetGroup:SubnetGroup", {"name": "orders-db-subnets", "subnetIds": ["s-1", "s-2"]},
                 urn=SUBNET_GROUP_URN, name="db-subnets", property_dependencies={"subnetIds": db_subnets}),
        Resource("aws:rds/parameterGroup:ParameterGroup",
                 {"name": "orders-db-params", "family": "postgres16", "parameters": parameters},
                 urn=PG_URN, name="db-params"),
        Resource("aws:ec2/securityGroup:SecurityGroup", {"vpcId": "vpc-1"}, urn=SERVICE_SG, name="service-sg"),
        Resource("aws:ec2/securityGroup:SecurityGroup", {"vpcId": "vpc-1", "ingress": db_ingress}, urn=DB_SG,
                 name="db-sg", property_dependencies={"ingress": (SERVICE_SG,)}),
        Resource(INSTANCE, BASE if instance is None else instance, urn=DB_URN, name="db",
                 property_dependencies=INSTANCE_DEPS if instance_deps is None else instance_deps),
        *extra,
    ]


def stack_messages(rule_name: str, resources: list[Resource], **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.stack_check is not None
    return [f.message for f in findings(rule.stack_check(resources, context(rule_name, **config)), "")]


# --- metadata ------------------------------------------------------------------------------------------------

CATALOGUE = {
    "rds-storage-encrypted": "M", "rds-cmk": "MP", "rds-not-public": "M", "rds-backup-retention": "M",
    "rds-snapshot-hygiene": "MP", "rds-deletion-protection": "MP", "rds-multi-az": "MP", "rds-iam-auth": "A",
    "rds-managed-master-password": "M", "rds-logging": "MP", "rds-operational-hygiene": "A", "rds-force-ssl": "M",
    "rds-network-isolation": "M", "rds-non-default-identifiers": "A",
}


def test_rules_match_the_catalogue():
    assert {name: rule.enforcement for name, rule in RULES.items()} == CATALOGUE


@pytest.mark.parametrize("name", ["rds-not-public", "rds-managed-master-password"])
def test_exposure_and_credential_rules_cannot_be_waived(name):
    assert RULES[name].waivable is False


def test_every_rule_names_a_reference_and_a_remediation():
    for rule in RULES.values():
        assert rule.url.startswith("https://") and rule.remediation and rule.description.endswith(".")
        assert rule.framework.reference


# --- resource rules: baseline and flips -------------------------------------------------------------------

RESOURCE_RULES = [name for name, rule in RULES.items() if rule.check is not None]


@pytest.mark.parametrize("name", RESOURCE_RULES)
def test_compliant_instance_passes(name):
    assert resource_messages(name, BASE) == []


FLIPS = [
    ("rds-storage-encrypted", {"storageEncrypted": False}, "storageEncrypted is False; expected true"),
    ("rds-storage-encrypted", {"storageEncrypted": DROP}, "storageEncrypted is not set; expected true"),
    ("rds-not-public", {"publiclyAccessible": True}, "publiclyAccessible is true; expected false"),
    ("rds-backup-retention", {"backupRetentionPeriod": 0.0}, "backupRetentionPeriod is 0.0; expected at least 7"),
    ("rds-backup-retention", {"backupRetentionPeriod": 6.0}, "backupRetentionPeriod is 6.0; expected at least 7"),
    ("rds-backup-retention", {"backupRetentionPeriod": DROP}, "backupRetentionPeriod is not set; expected at least 7"),
    ("rds-backup-retention", {"backupWindow": DROP}, "backupWindow is not set"),
    ("rds-snapshot-hygiene", {"skipFinalSnapshot": True}, "skipFinalSnapshot is true; expected false"),
    ("rds-snapshot-hygiene", {"finalSnapshotIdentifier": DROP}, "finalSnapshotIdentifier is not set"),
    ("rds-snapshot-hygiene", {"deleteAutomatedBackups": DROP},
     "deleteAutomatedBackups is not set (provider default true)"),
    ("rds-snapshot-hygiene", {"deleteAutomatedBackups": True}, "deleteAutomatedBackups is True"),
    ("rds-snapshot-hygiene", {"copyTagsToSnapshot": False}, "copyTagsToSnapshot is False; expected true"),
    ("rds-deletion-protection", {"deletionProtection": DROP}, "deletionProtection is not set; expected true"),
    ("rds-deletion-protection", {"deletionProtection": False}, "deletionProtection is False; expected true"),
    ("rds-multi-az", {"multiAz": False}, "multiAz is False; expected true"),
    ("rds-iam-auth", {"iamDatabaseAuthenticationEnabled": DROP},
     "iamDatabaseAuthenticationEnabled is not set; expected true"),
    ("rds-managed-master-password", {"manageMasterUserPassword": DROP},
     "manageMasterUserPassword is not set; expected true"),
    ("rds-managed-master-password", {"manageMasterUserPassword": False, "password": "hunter2-not-shown"},
     "password is set"),
    ("rds-managed-master-password", {"passwordWo": "hunter2-not-shown"}, "passwordWo is set"),
    ("rds-managed-master-password", {"masterUserSecretKmsKeyId": DROP}, "masterUserSecretKmsKeyId is not set"),
    ("rds-operational-hygiene", {"autoMinorVersionUpgrade": False}, "autoMinorVersionUpgrade is false"),
    ("rds-operational-hygiene", {"monitoringInterval": 0.0}, "monitoringInterval is 0.0; expected enhanced"),
    ("rds-operational-hygiene", {"monitoringInterval": DROP}, "monitoringInterval is not set; expected enhanced"),
    ("rds-operational-hygiene", {"monitoringRoleArn": DROP}, "monitoringRoleArn is not set"),
    ("rds-operational-hygiene", {"performanceInsightsEnabled": False}, "performanceInsightsEnabled is False"),
    ("rds-operational-hygiene", {"performanceInsightsKmsKeyId": DROP}, "performanceInsightsKmsKeyId is not set"),
    ("rds-non-default-identifiers", {"port": 5432.0}, "port is 5432, the engine default"),
    ("rds-non-default-identifiers", {"port": DROP}, "port is 5432, the engine default"),
    ("rds-non-default-identifiers", {"username": "postgres"}, "username is 'postgres'"),
    ("rds-non-default-identifiers", {"engine": "mysql", "port": DROP, "username": "admin"},
     "port is 3306, the engine default"),
]


@pytest.mark.parametrize(("name", "change", "expected"), FLIPS, ids=[f"{f[0]}-{'-'.join(f[1])}" for f in FLIPS])
def test_weakened_field_fails(name, change, expected):
    messages = resource_messages(name, changed(BASE, **change))
    assert any(expected in m for m in messages), messages


def test_password_value_never_appears_in_a_message():
    messages = resource_messages("rds-managed-master-password", changed(BASE, password="hunter2-not-shown"))
    assert messages and not any("hunter2" in m for m in messages)


def test_retention_threshold_is_configurable_but_never_below_one_day():
    staging = changed(BASE, backupRetentionPeriod=1.0)
    assert resource_messages("rds-backup-retention", staging, minRetentionDays=1) == []
    assert resource_messages("rds-backup-retention", staging, minRetentionDays=14) != []
    assert resource_messages("rds-backup-retention", changed(BASE, backupRetentionPeriod=0.0), minRetentionDays=0)


def test_monitoring_interval_above_the_bound_fails():
    assert resource_messages("rds-operational-hygiene", changed(BASE, monitoringInterval=60.0),
                             maxMonitoringIntervalSeconds=30)


def test_replicas_and_restores_inherit_their_master_user():
    replica = changed(BASE, replicateSourceDb="arn:aws:rds:eu-west-1:111111111111:db:orders",
                      manageMasterUserPassword=DROP, backupRetentionPeriod=DROP)
    assert resource_messages("rds-managed-master-password", replica) == []
    assert resource_messages("rds-backup-retention", replica) == []
    # ... but a literal password is still refused on them.
    assert resource_messages("rds-managed-master-password", changed(replica, password="x"))


# --- stack rules ---------------------------------------------------------------------------------------------

STACK_RULES = [name for name, rule in RULES.items() if rule.stack_check is not None]


@pytest.mark.parametrize("name", STACK_RULES)
def test_compliant_stack_passes(name):
    assert stack_messages(name, stack()) == []


def test_cmk_missing_or_aws_managed_fails():
    [message] = stack_messages("rds-cmk", stack(changed(BASE, kmsKeyId=DROP)))
    assert message.startswith("kmsKeyId is not set: storage uses the AWS managed aws/rds key")
    aws_managed = changed(BASE, kmsKeyId="arn:aws:kms:eu-west-1:111111111111:alias/aws/rds")
    assert "AWS managed aws/rds key" in stack_messages("rds-cmk", stack(aws_managed))[0]


def test_cmk_from_outside_the_stack_fails_unless_listed():
    deps = {k: v for k, v in INSTANCE_DEPS.items() if k != "kmsKeyId"}
    [message] = stack_messages("rds-cmk", stack(instance_deps=deps))
    assert "is not a KMS key of this stack" in message
    assert stack_messages("rds-cmk", stack(instance_deps=deps), externalKeyArns=[KEY_ARN]) == []


@pytest.mark.parametrize(
    ("instance", "parameters", "expected"),
    [
        (changed(BASE, enabledCloudwatchLogsExports=["postgresql"]), None,
         "enabledCloudwatchLogsExports lacks upgrade"),
        (changed(BASE, enabledCloudwatchLogsExports=DROP), None, "lacks postgresql, upgrade"),
        (BASE, [{"name": "rds.force_ssl", "value": "1"}], "log_statement is 'none'; expected ddl, mod or all"),
        (BASE, [{"name": "rds.force_ssl", "value": "1"}, {"name": "log_statement", "value": "none"}],
         "log_statement is 'none'"),
        (changed(BASE, parameterGroupName="default.postgres16"), None, "is not a parameter group of this stack"),
        (changed(BASE, engine="mysql", enabledCloudwatchLogsExports=["audit", "error", "general", "slowquery"]),
         None, "general_log is not set; expected 1"),
        (changed(BASE, engine="mysql"), [{"name": "general_log", "value": "1"}], "lacks audit, error, general"),
    ],
)
def test_logging_weakened_fails(instance, parameters, expected):
    deps = dict(INSTANCE_DEPS)
    if instance.get("parameterGroupName") != BASE["parameterGroupName"]:
        deps.pop("parameterGroupName")
    messages = stack_messages("rds-logging", stack(instance, parameters=parameters, instance_deps=deps))
    assert any(expected in m for m in messages), messages


def test_logging_accepts_pgaudit_instead_of_log_statement():
    parameters = [{"name": "rds.force_ssl", "value": "1"}, {"name": "pgaudit.log", "value": "ddl,role"}]
    assert stack_messages("rds-logging", stack(parameters=parameters)) == []


@pytest.mark.parametrize(
    ("instance", "parameters", "expected"),
    [
        (BASE, [{"name": "log_statement", "value": "ddl"}], "rds.force_ssl is not set; expected 1"),
        (BASE, [{"name": "rds.force_ssl", "value": "0"}], "rds.force_ssl is '0'; expected 1"),
        (changed(BASE, parameterGroupName=DROP), None, "parameterGroupName (unset"),
        (changed(BASE, engine="mysql"), [{"name": "rds.force_ssl", "value": "1"}],
         "require_secure_transport is not set; expected 1"),
    ],
)
def test_force_ssl_weakened_fails(instance, parameters, expected):
    deps = {k: v for k, v in INSTANCE_DEPS.items() if k != "parameterGroupName" or "parameterGroupName" in instance}
    messages = stack_messages("rds-force-ssl", stack(instance, parameters=parameters, instance_deps=deps))
    assert any(expected in m for m in messages), messages


def test_force_ssl_finds_the_parameter_group_by_name_without_dependencies():
    deps = {k: v for k, v in INSTANCE_DEPS.items() if k != "parameterGroupName"}
    assert stack_messages("rds-force-ssl", stack(instance_deps=deps)) == []
    other = stack(changed(BASE, parameterGroupName="someone-elses"), instance_deps=deps)
    assert stack_messages("rds-force-ssl", other)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"instance": changed(BASE, dbSubnetGroupName=DROP)}, "dbSubnetGroupName is not set"),
        ({"db_subnets": (PRIVATE_A, PUBLIC_A)}, "has public subnets (public-a)"),
        ({"instance": changed(BASE, vpcSecurityGroupIds=[])}, "vpcSecurityGroupIds is empty"),
        ({"db_ingress": [{"protocol": "tcp", "fromPort": 6432.0, "toPort": 6432.0, "cidrBlocks": ["10.0.0.0/16"]}]},
         "allows ingress tcp port 6432 from 10.0.0.0/16"),
        ({"db_ingress": [{"protocol": "tcp", "fromPort": 5432.0, "toPort": 5432.0, "securityGroups": ["sg-0svc"]}]},
         "expected only port 6432"),
        ({"db_ingress": [{"protocol": "tcp", "fromPort": 0.0, "toPort": 65535.0, "securityGroups": ["sg-0svc"]}]},
         "ports 0-65535"),
        ({"db_ingress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "securityGroups": ["sg-0svc"]}]},
         "all ports"),
    ],
)
def test_network_isolation_weakened_fails(kwargs, expected):
    messages = stack_messages("rds-network-isolation", stack(**kwargs))
    assert any(expected in m for m in messages), messages


def test_network_isolation_sees_standalone_ingress_rules():
    open_rule = Resource(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"securityGroupId": "sg-0db", "ipProtocol": "tcp", "fromPort": 6432.0, "toPort": 6432.0,
         "cidrIpv4": "0.0.0.0/0"},
        urn=urn("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "open"), name="open",
        property_dependencies={"securityGroupId": (DB_SG,)},
    )
    messages = stack_messages("rds-network-isolation", stack(extra=[open_rule]))
    assert any("from 0.0.0.0/0" in m for m in messages), messages


def test_subnet_with_auto_public_ip_counts_as_public():
    resources = stack()
    resources = [changed_resource(r, mapPublicIpOnLaunch=True) if r.urn == PRIVATE_B else r for r in resources]
    messages = stack_messages("rds-network-isolation", resources)
    assert any("has public subnets (private-b)" in m for m in messages), messages


def changed_resource(resource: Resource, **changes: Any) -> Resource:
    return Resource(resource.type, changed(dict(resource.props), **changes), urn=resource.urn, name=resource.name,
                    property_dependencies=resource.property_dependencies)


# --- through the real pack -----------------------------------------------------------------------------------


def _registrations(resources: list[Resource]):
    return [registration(r.type, r.props, name=r.name, urn=r.urn, property_dependencies=r.property_dependencies)
            for r in resources]


BROKEN = changed(
    BASE, storageEncrypted=False, publiclyAccessible=True, backupRetentionPeriod=0.0, skipFinalSnapshot=True,
    deletionProtection=False, multiAz=False, iamDatabaseAuthenticationEnabled=False, manageMasterUserPassword=False,
    password="hunter2-not-shown", monitoringInterval=0.0, port=5432.0, kmsKeyId=DROP,
    enabledCloudwatchLogsExports=DROP, vpcSecurityGroupIds=[],
)


@pytest.fixture(scope="module")
def analyzed(policy_pack):
    return {
        "pass": analyze(policy_pack, INSTANCE, BASE, name="db"),
        "fail": analyze(policy_pack, INSTANCE, BROKEN, name="db"),
        "stack-pass": analyze_stack(policy_pack, _registrations(stack())),
        "stack-fail": analyze_stack(policy_pack, _registrations(stack(BROKEN, parameters=[]))),
    }


@pytest.mark.parametrize("name", RESOURCE_RULES)
def test_resource_rule_through_the_pack(analyzed, name):
    assert not [d for d in analyzed["pass"] if d.policy == name]
    failed = [d for d in analyzed["fail"] if d.policy == name]
    assert failed and all(d.urn.endswith("::db") for d in failed)
    assert not any("hunter2" in d.message for d in analyzed["fail"])


@pytest.mark.parametrize("name", STACK_RULES)
def test_stack_rule_through_the_pack(analyzed, name):
    assert not [d for d in analyzed["stack-pass"] if d.policy == name]
    assert [d for d in analyzed["stack-fail"] if d.policy == name and d.urn == DB_URN]


def test_retention_threshold_from_the_pack_config(policy_pack):
    config = {"rds-backup-retention": {"minRetentionDays": 30}}
    diags = analyze(policy_pack, INSTANCE, BASE, name="db", config=config)
    [message] = [d.message for d in diags if d.policy == "rds-backup-retention"]
    assert message.endswith("backupRetentionPeriod is 14.0; expected at least 30 days")
