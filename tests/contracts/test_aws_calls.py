"""The call recorder: every boto3 call of the block (Stubber-served ones too) becomes IAM requests; its own
look-ups are not calls of the command; an operation the table does not know fails loudly."""

from __future__ import annotations

import boto3
import pytest

from tests.support import aws_calls
from tests.support.iam import Request

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def test_calls_become_requests_with_resource_tags_from_moto(aws_env):
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_instance(DBInstanceIdentifier="db1", DBInstanceClass="db.t4g.micro", Engine="postgres",
                           MasterUsername="u", ManageMasterUserPassword=True, AllocatedStorage=20)
    tags = [{"Key": "rampart:managed-by", "Value": "rampart-snapshot"}]
    rds.create_db_snapshot(DBInstanceIdentifier="db1", DBSnapshotIdentifier="s1", Tags=tags)
    snapshot = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:s1"

    with aws_calls.recording(ACCOUNT, REGION, aws_env) as recorded:
        rds.delete_db_snapshot(DBSnapshotIdentifier="s1")

    # One call: the look-up of the snapshot's tags (ListTagsForResource) is not the command's.
    assert [c.label for c in recorded.calls] == ["rds.DeleteDBSnapshot"]
    assert recorded.requests() == [Request("rds:DeleteDBSnapshot", snapshot,
                                           {"aws:ResourceTag/rampart:managed-by": "rampart-snapshot"},
                                           origin="rds.DeleteDBSnapshot")]


def test_tag_on_create_is_an_implicit_request(aws_env):
    with aws_calls.recording(ACCOUNT, REGION, aws_env) as recorded:
        recorded.add("rds", "CreateDBSnapshot", {"DBInstanceIdentifier": "db1", "DBSnapshotIdentifier": "s2",
                                                 "Tags": [{"Key": "k", "Value": "v"}]})
    actions = [(r.action, r.resource.split(":")[5]) for r in recorded.requests()]
    assert actions == [("rds:CreateDBSnapshot", "db"), ("rds:CreateDBSnapshot", "snapshot"),
                       ("rds:AddTagsToResource", "snapshot")]
    assert all(r.context["aws:RequestTag/k"] == "v" for r in recorded.requests())


def test_stubbed_calls_are_recorded(aws_env, stub_call):
    from rampart.ops.aws import Aws

    stub_call("codedeploy", "continue_deployment").add_response("continue_deployment", {})
    with aws_calls.recording(ACCOUNT, REGION, aws_env) as recorded:
        Aws(REGION).client("codedeploy").continue_deployment(deploymentId="d-1", deploymentWaitType="READY_WAIT")
    assert recorded.requests() == [Request("codedeploy:ContinueDeployment", "*",
                                           origin="codedeploy.ContinueDeployment")]


def test_an_operation_the_table_does_not_know_fails_loudly(aws_env):
    s3 = boto3.client("s3", region_name=REGION)
    with aws_calls.recording(ACCOUNT, REGION, aws_env) as recorded:
        s3.list_buckets()
    with pytest.raises(aws_calls.UnknownOperation, match=r"s3\.ListBuckets: no IAM translation"):
        recorded.requests()
