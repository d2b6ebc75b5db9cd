"""Data sources offline: answers shaped by the SDK's own result types, get_policy_document rendered as the
provider renders it, and real-world programs that use them run to a report."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

from rampart.engine import invokes
from rampart.engine.fake_outputs import FakeCloud
from rampart.engine.policy_document import PolicyDocumentError, render
from rampart.engine.recorder import record

PROGRAMS = Path(__file__).resolve().parents[1] / "fixtures" / "programs"
CLOUD = FakeCloud(region="eu-west-1")

SAMPLE = [
    "aws:ec2/getAmi:getAmi", "aws:ec2/getVpc:getVpc", "aws:ec2/getSubnets:getSubnets",
    "aws:ec2/getSecurityGroup:getSecurityGroup", "aws:ecr/getCredentials:getCredentials",
    "aws:ecr/getAuthorizationToken:getAuthorizationToken", "aws:route53/getZone:getZone",
    "aws:iam/getPolicyDocument:getPolicyDocument", "aws:iam/getRole:getRole", "aws:iam/getPolicy:getPolicy",
    "aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getRegion:getRegion",
    "aws:index/getPartition:getPartition", "aws:index/getAvailabilityZones:getAvailabilityZones",
    "aws:lambda/getFunction:getFunction", "aws:rds/getInstance:getInstance", "aws:s3/getBucket:getBucket",
    "aws:kms/getKey:getKey", "aws:eks/getCluster:getCluster", "aws:secretsmanager/getSecret:getSecret",
    "aws:lb/getLoadBalancer:getLoadBalancer", "aws:acm/getCertificate:getCertificate",
    "github:index/getRepository:getRepository", "github:index/getUser:getUser",
]


@pytest.mark.parametrize("token", SAMPLE)
def test_answer_has_every_field_of_the_sdk_result_type(token):
    cls = invokes.result_type(token)
    assert cls is not None and cls.__name__.endswith("Result")
    answer = invokes.answer(token, {}, CLOUD)
    assert set(answer) == {wire for _, wire, _ in invokes.properties(cls)}
    # The SDK's constructor type-checks every field: a wrong shape raises TypeError here.
    typed = rpc.translate_output_properties(answer, lambda p: p, cls)
    assert isinstance(typed, cls)


def test_nested_result_types_are_answered_recursively():
    typed = rpc.translate_output_properties(invokes.answer("aws:ec2/getAmi:getAmi", {}, CLOUD), lambda p: p,
                                            invokes.result_type("aws:ec2/getAmi:getAmi"))
    mapping = typed.block_device_mappings[0]
    assert type(mapping).__name__ == "GetAmiBlockDeviceMappingResult"
    assert typed.id.startswith("ami-") and typed.image_id == typed.id


def test_plausible_values_by_field_name():
    vpc = invokes.answer("aws:ec2/getVpc:getVpc", {"default": True}, CLOUD)
    assert vpc["id"].startswith("vpc-") and vpc["cidrBlock"] == "10.0.0.0/16" and vpc["ownerId"] == CLOUD.account_id
    group = invokes.answer("aws:ec2/getSecurityGroup:getSecurityGroup", {"name": "web"}, CLOUD)
    assert group["vpcId"].startswith("vpc-") and group["name"] == "web"
    assert group["arn"].startswith(f"arn:aws:ec2:eu-west-1:{CLOUD.account_id}:")
    zones = invokes.answer("aws:index/getAvailabilityZones:getAvailabilityZones", {}, CLOUD)
    assert zones["names"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert zones["zoneIds"] == ["euw1-az1", "euw1-az2", "euw1-az3"]
    assert invokes.answer("aws:index/getCallerIdentity:getCallerIdentity", {}, CLOUD)["accountId"] == "123456789012"
    assert invokes.answer("aws:index/getRegion:getRegion", {}, CLOUD)["region"] == "eu-west-1"


def test_subnet_ids_are_subnet_ids_and_consistent_between_calls():
    first = invokes.answer("aws:ec2/getSubnets:getSubnets", {"filters": [{"name": "vpc-id", "values": ["v"]}]}, CLOUD)
    again = invokes.answer("aws:ec2/getSubnets:getSubnets", {}, CLOUD)
    assert len(first["ids"]) == 3 and all(i.startswith("subnet-") for i in first["ids"])
    assert first["ids"] == again["ids"]
    one = invokes.answer("aws:ec2/getSubnet:getSubnet", {"id": first["ids"][1]}, CLOUD)
    assert one["availabilityZone"] == "eu-west-1b"


def test_ecr_credentials_decode_to_a_docker_login():
    token = invokes.answer("aws:ecr/getCredentials:getCredentials", {"registryId": "1"}, CLOUD)["authorizationToken"]
    import base64

    assert base64.b64decode(token).decode().split(":")[0] == "AWS"


def test_an_invoke_without_a_result_type_fails_naming_it_never_empty():
    with pytest.raises(invokes.UnanswerableInvoke, match="nosuch:index/getThing:getThing"):
        invokes.answer("nosuch:index/getThing:getThing", {}, CLOUD)

    def program():
        pulumi.runtime.invoke("nosuch:index/getThing:getThing", {})

    with pytest.raises(Exception, match="cannot answer the data source nosuch:index/getThing:getThing"):
        record(program, project="p", stack="s")


# get_policy_document ---------------------------------------------------------------------------------------

def rendered(**args) -> dict:
    return json.loads(render(args)["json"])


def text(document: dict) -> str:
    return json.dumps(document, indent=2)


def test_single_values_collapse_and_lists_sort_in_reverse_with_the_default_version():
    out = render({"statements": [{"actions": ["s3:GetObject", "s3:ListBucket", "s3:GetObject"],
                                  "resources": ["arn:aws:s3:::b"]}]})
    assert out["json"] == text({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "arn:aws:s3:::b"}]})
    assert out["minifiedJson"] == json.dumps(json.loads(out["json"]), separators=(",", ":"))
    assert out["id"] == str(zlib.crc32(out["json"].encode()))


def test_statement_fields_in_the_providers_order():
    out = render({"statements": [{
        "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
        "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::1:root"]}],
        "resources": ["*"], "actions": ["s3:*"], "effect": "Deny", "sid": "DenyInsecure"}]})
    assert out["json"] == text({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecure", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
        "Principal": {"AWS": "arn:aws:iam::1:root"}, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def test_principals_group_by_type_sorted_and_star_only_for_the_star_type():
    def principal(kind: str) -> dict:
        return {"actions": ["s3:GetObject"], "principals": [{"type": kind, "identifiers": ["*"]}]}

    everyone = rendered(statements=[principal("*")])
    assert everyone["Statement"][0]["Principal"] == "*"
    any_aws = rendered(statements=[principal("AWS")])
    assert any_aws["Statement"][0]["Principal"] == {"AWS": "*"}
    mixed = render({"statements": [{"actions": ["sts:AssumeRole"], "principals": [
        {"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]},
        {"type": "AWS", "identifiers": ["arn:aws:iam::1:root", "arn:aws:iam::2:root"]},
        {"type": "AWS", "identifiers": ["arn:aws:iam::3:root"]}]}]})
    assert '"Principal": {\n        "AWS": [' in mixed["json"]  # keys sorted, as Go marshals a map
    assert json.loads(mixed["json"])["Statement"][0]["Principal"] == {
        "AWS": ["arn:aws:iam::2:root", "arn:aws:iam::1:root", "arn:aws:iam::3:root"],
        "Service": "ecs-tasks.amazonaws.com"}


def test_conditions_by_test_and_variable_values_in_order():
    statement = rendered(statements=[{"actions": ["sts:AssumeRoleWithWebIdentity"], "conditions": [
        {"test": "StringLike", "variable": "token.actions.githubusercontent.com:sub",
         "values": ["repo:o/r:ref:refs/heads/main", "repo:o/r:environment:prod"]},
        {"test": "StringEquals", "variable": "token.actions.githubusercontent.com:aud",
         "values": ["sts.amazonaws.com"]},
        {"test": "StringLike", "variable": "aws:PrincipalTag/team", "values": ["a"]}]}])["Statement"][0]
    assert list(statement["Condition"]) == ["StringEquals", "StringLike"]
    assert statement["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"aws:PrincipalTag/team": "a", "token.actions.githubusercontent.com:sub": [
            "repo:o/r:ref:refs/heads/main", "repo:o/r:environment:prod"]}}


def test_not_actions_not_resources_not_principals():
    statement = rendered(statements=[{"effect": "Deny", "notActions": ["iam:*", "sts:*"],
                                      "notResources": ["arn:aws:s3:::b"],
                                      "notPrincipals": [{"type": "AWS", "identifiers": ["arn:aws:iam::1:root"]}]}])
    assert statement["Statement"][0] == {"Effect": "Deny", "NotAction": ["sts:*", "iam:*"],
                                         "NotResource": "arn:aws:s3:::b",
                                         "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}}


def test_source_first_then_statements_then_overrides_replacing_by_sid():
    source = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*", "Principal": "*"}]})
    override = json.dumps({"Statement": [
        {"Sid": "Read", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "Extra", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"aws:MultiFactorAuthAge": 60}}}]})
    document = rendered(sourcePolicyDocuments=[source], overridePolicyDocuments=[override], policyId="p1",
                        statements=[{"sid": "Write", "actions": ["s3:PutObject"], "resources": ["*"]}])
    assert document == {"Version": "2012-10-17", "Id": "p1", "Statement": [
        {"Sid": "Read", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*", "Principal": "*"},
        {"Sid": "Write", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
        {"Sid": "Extra", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}


def test_a_statement_replaces_a_source_statement_of_the_same_sid_in_place():
    source = json.dumps({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                                       {"Sid": "B", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})
    document = rendered(sourcePolicyDocuments=[source],
                        statements=[{"sid": "A", "actions": ["s3:GetObject"], "resources": ["*"]}])
    assert [(s["Sid"], s["Action"]) for s in document["Statement"]] == [("A", "s3:GetObject"), ("B", "sqs:*")]


def test_policy_variables_and_go_html_safe_escaping():
    out = render({"version": "2012-10-17", "statements": [{
        "actions": ["s3:ListBucket"], "resources": ["arn:aws:s3:::b/home/&{aws:username}/*"],
        "conditions": [{"test": "StringLike", "variable": "s3:prefix", "values": ["a&b<c>"]}]}]})
    assert '"Resource": "arn:aws:s3:::b/home/${aws:username}/*"' in out["json"]
    assert '"s3:prefix": "a\\u0026b\\u003cc\\u003e"' in out["json"]


def test_duplicate_sids_are_refused_as_the_provider_refuses_them():
    with pytest.raises(PolicyDocumentError, match="duplicate Sid"):
        render({"statements": [{"sid": "A", "actions": ["s3:*"]}, {"sid": "A", "actions": ["sqs:*"]}]})
    with pytest.raises(PolicyDocumentError, match="not supported in version 2008-10-17"):
        render({"version": "2008-10-17", "statements": [{"actions": ["s3:*"], "resources": ["&{aws:username}"]}]})


def test_policy_document_through_the_sdk_in_both_forms():
    import pulumi_aws as aws

    seen: dict[str, str] = {}

    def program():
        plain = aws.iam.get_policy_document(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["*"], resources=["*"])])
        seen["plain"] = plain.json
        aws.iam.get_policy_document_output(statements=[{"actions": ["*"], "resources": ["*"]}]).json.apply(
            lambda value: seen.setdefault("output", value))

    record(program, project="p", stack="s")
    assert json.loads(seen["plain"])["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    assert seen["output"] == seen["plain"]


def test_echoed_arguments_take_the_result_fields_type_as_the_provider_coerces_them():
    """`get_ami(most_recent="true")` (as a public example writes it): the provider coerces the string to its schema's
    bool, and the SDK's result type refuses anything else."""
    import pulumi_aws as aws

    seen: dict[str, object] = {}

    def program():
        ami = aws.ec2.get_ami(most_recent="true", owners=["amazon"], name_regex="^amzn2",
                              filters=[{"name": "name", "values": ["amzn2-ami-hvm-*"]}])
        seen["most_recent"], seen["owners"], seen["name_regex"] = ami.most_recent, ami.owners, ami.name_regex

    record(program, project="p", stack="s")
    assert seen == {"most_recent": True, "owners": ["amazon"], "name_regex": "^amzn2"}


@pytest.mark.parametrize(("value", "annotation", "expected"), [
    ("true", bool, True), ("False", bool, False), ("maybe", bool, "maybe"), ("3", int, 3), ("2.5", float, 2.5),
    (True, str, "true"), (7, str, "7"), ("x", str, "x"), (["a"], list[str], ["a"]), ("1", "pulumi.Output", "1"),
])
def test_primitive_coercion_of_an_echoed_argument(value, annotation, expected):
    coerced = invokes.coerced(value, annotation)
    assert coerced == expected and type(coerced) is type(expected)


# Programs ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_sources_report() -> dict:
    completed = subprocess.run([sys.executable, "-m", "rampart", "check", "--program",
                                str(PROGRAMS / "data_sources"), "--format", "json"],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 1, completed.stderr
    return json.loads(completed.stdout)["stacks"][0]


def test_program_using_data_sources_runs_to_a_report(data_sources_report):
    assert data_sources_report["error"] in (None, "")
    resources = {(r["type"], r["name"]): r["inputs"] for r in data_sources_report["resources"]}
    server = resources[("aws:ec2/instance:Instance", "web")]
    assert server["ami"].startswith("ami-") and server["subnetId"].startswith("subnet-")
    assert server["availabilityZone"] == "eu-west-1a"
    assert resources[("aws:ec2/securityGroup:SecurityGroup", "web")]["vpcId"].startswith("vpc-")
    assert resources[("aws:route53/record:Record", "web")]["name"] == "web.example.com"
    assert data_sources_report["outputs"]["dockerUser"] == "AWS"


def test_action_star_written_with_get_policy_document_is_caught(data_sources_report):
    caught = [v for v in data_sources_report["violations"]
              if v["policy"] == "iam-no-admin" and v["resourceName"] == "web-admin"]
    assert caught and 'Action "*" on Resource "*"' in caught[0]["message"]
    assert not [v for v in data_sources_report["violations"]
                if v["policy"] == "iam-no-admin" and v["resourceName"] == "web"]
