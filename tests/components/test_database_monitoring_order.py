"""The RDS instance waits for its enhanced-monitoring role to carry its policy.

CreateDBInstance checks that RDS can use the monitoring role; a role whose AmazonRDSEnhancedMonitoringRole
policy is not attached yet is rejected. The instance's input only references the role, so without an explicit
dependency Pulumi creates the instance and the attachment in parallel.
"""

from __future__ import annotations

import pytest

from components.database import Database, DatabaseArgs
from infra.component_args import database_settings
from tests.support.stacks import STACKS, record_program, record_stack, stack_config

INSTANCE = "aws:rds/instance:Instance"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE = "aws:iam/role:Role"


def _monitoring_attachment(rec, instance):
    """The attachment of the role the instance names as its monitoring role."""
    role_urns = set(instance.property_dependencies["monitoringRoleArn"])
    roles = [r for r in rec.by_type(ROLE) if r.urn in role_urns]
    assert len(roles) == 1, "the instance's monitoringRoleArn comes from exactly one role"
    attachments = [
        a for a in rec.by_type(ATTACHMENT)
        if roles[0].urn in a.property_dependencies.get("role", ())
    ]
    assert len(attachments) == 1, "the monitoring role has exactly one policy attachment"
    return attachments[0]


def test_component_instance_depends_on_the_monitoring_policy_attachment():
    args = DatabaseArgs(
        database=database_settings(stack_config("staging").database),
        environment="staging",
        identifier="rampart-staging-db",
        vpc_id="vpc-123",
        private_subnet_ids=["subnet-a", "subnet-b"],
        allowed_security_group_ids=["sg-web"],
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1111-2222",
        notification_topic_arn="arn:aws:sns:us-east-1:123456789012:rampart-alerts",
        protect=False,
    )
    rec = record_program(lambda: Database("db", args))
    instance = rec.one(INSTANCE)
    assert _monitoring_attachment(rec, instance).urn in instance.dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_stack_instance_depends_on_the_monitoring_policy_attachment(stack):
    rec = record_stack(stack)
    for instance in rec.by_type(INSTANCE):
        assert _monitoring_attachment(rec, instance).urn in instance.dependencies, instance.urn
