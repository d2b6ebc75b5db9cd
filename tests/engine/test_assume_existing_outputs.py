"""`--assume-existing` previews a deployed stack: every output property of every pulumi_aws and pulumi_github
resource is known, shaped by the SDK resource class's own output property types (rampart.engine.resource_outputs),
while the first preview of a new stack keeps what a provider computes unknown (fake_outputs.FakeCloud)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws
import pytest
from pulumi.runtime import rpc

from rampart.engine import invokes, worker
from rampart.engine.fake_outputs import FakeCloud
from rampart.engine.recorder import ASSUME_EXISTING, FIRST_PREVIEW
from rampart.engine.resource_outputs import argument_names
from rampart.engine.values import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Plaintext-42"

PROGRAM = f"""
import pulumi
import pulumi_aws as aws

server = aws.ec2.Instance("server", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                          metadata_options={{"http_tokens": "required"}}, root_block_device={{"encrypted": True}})
sg = aws.ec2.SecurityGroup("db", description="db")
aws.vpc.SecurityGroupIngressRule("from-server", security_group_id=sg.id, ip_protocol="tcp",
                                 from_port=5432, to_port=5432,
                                 cidr_ipv4=server.private_ip.apply(lambda ip: f"{{ip}}/32"))
pulumi.export("private_ip", server.private_ip)
pulumi.export("public_dns", server.public_dns)

cert = aws.acm.Certificate("cert", domain_name="example.com", validation_method="DNS")
option = cert.domain_validation_options[0]
pulumi.export("validation_name", option.resource_record_name)
aws.route53.Record("validation", zone_id="Z0123456789ABCDEFGHIJ", name=option.resource_record_name,
                   type=option.resource_record_type, records=[option.resource_record_value], ttl=60)

role = aws.iam.Role("eks", assume_role_policy='{{"Version":"2012-10-17","Statement":[]}}')
cluster = aws.eks.Cluster("c", role_arn=role.arn, vpc_config={{"subnet_ids": ["subnet-aaaa1111", "subnet-bbbb2222"]}})
pulumi.export("eks_endpoint", cluster.endpoint)
pulumi.export("eks_ca", cluster.certificate_authority.data)

db = aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                      username="app", password=pulumi.Output.secret("{SECRET}"))
key = aws.iam.AccessKey("ci", user="ci")
pulumi.export("db_everything", pulumi.Output.all(db.address, db.endpoint, db.ca_cert_identifier, db.engine_version,
                                                 db.latest_restorable_time, key.id, key.ses_smtp_password_v4))
"""


def _run(tmp_path: Path, mode: str) -> dict:
    (tmp_path / "Pulumi.yaml").write_text("name: repro\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    here = os.getcwd()
    try:
        result = worker.run(tmp_path, "dev", mode)
    finally:
        os.chdir(here)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
    assert result["error"] is None, result["error"]
    return result


def _inputs(result: dict, type_token: str) -> dict:
    [registration] = [r for r in result["registrations"] if r["type"] == type_token]
    return registration["inputs"]


def test_assume_existing_knows_what_the_provider_computes(tmp_path):
    result = _run(tmp_path, ASSUME_EXISTING)
    outputs = result["outputs"]
    for name in ("private_ip", "public_dns", "validation_name", "eks_endpoint", "eks_ca"):
        assert isinstance(outputs.get(name), str) and outputs[name] and outputs[name] != UNKNOWN, (name, outputs)
    assert all(0 <= int(part) < 256 for part in outputs["private_ip"].split("."))
    assert outputs["eks_endpoint"].startswith("https://")
    ingress = _inputs(result, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress["cidrIpv4"] == f"{outputs['private_ip']}/32"
    record = _inputs(result, "aws:route53/record:Record")
    assert record["name"] == outputs["validation_name"] and UNKNOWN not in json.dumps(record)


def test_the_first_preview_leaves_them_unknown(tmp_path):
    outputs = _run(tmp_path, FIRST_PREVIEW)["outputs"]
    for name in ("private_ip", "public_dns", "validation_name", "eks_endpoint", "eks_ca", "db_everything"):
        assert outputs[name] == UNKNOWN, (name, outputs[name])


def test_no_secret_reaches_a_derived_value(tmp_path):
    result = _run(tmp_path, ASSUME_EXISTING)
    assert SECRET not in json.dumps(result["outputs"])
    others = [r["inputs"] for r in result["registrations"] if r["type"] != "aws:rds/instance:Instance"]
    assert SECRET not in json.dumps(others)
    wrapped = {SECRET_SIG_KEY: SECRET_SIG, "value": SECRET}
    state = FakeCloud().new_resource("aws:rds/instance:Instance", "db", {"password": wrapped, "engine": "postgres"})[1]
    assert SECRET not in json.dumps({k: v for k, v in state.items() if k != "password"})
    # A secret name: the ARNs, hosts and labels made from the physical name fall back to Pulumi's name.
    state = FakeCloud().new_resource("aws:eks/cluster:Cluster", "cluster", {"name": wrapped})[1]
    assert SECRET not in json.dumps({k: v for k, v in state.items() if k != "name"})
    assert "cluster" in state["arn"]


# Every output property of every resource class ---------------------------------------------------------------

def _classes(module: str) -> list[tuple[str, type]]:
    """(type token, class) of every resource of a pulumi_aws module, from the SDK's own token registry."""
    __import__(f"pulumi_aws.{module}")
    found = []
    for registered in rpc._RESOURCE_MODULES.values():  # noqa: SLF001 (the SDK's token -> class table)
        info = getattr(registered[0], "mod_info", {})
        if info.get("fqn") == f"pulumi_aws.{module}":
            found += [(token, getattr(getattr(pulumi_aws, module), name)) for token, name in info["classes"].items()]
    return sorted(found, key=lambda pair: pair[0])


SWEPT = ("ec2", "eks", "acm", "lb", "rds", "ecs")


@pytest.mark.parametrize("module", SWEPT)
def test_every_output_property_of_every_resource_class_is_known(module):
    classes = _classes(module)
    assert len(classes) >= 2, module
    cloud = FakeCloud(region="eu-west-1")
    for token, cls in classes:
        _, state = cloud.new_resource(token, "thing", {})
        wanted = {wire for _, wire, _ in invokes.properties(cls)}
        # A block among the resource's own arguments, not set, is null as a provider answers it; nothing is left out.
        missing = sorted(wire for wire in wanted
                         if wire not in state or (state[wire] is None and wire not in argument_names(cls)))
        assert not missing, (token, missing)
        types = pulumi._types.resource_types(cls)  # noqa: SLF001
        for wire in wanted:  # the SDK turns each value into its declared type without complaint
            rpc.translate_output_properties(state[wire], lambda p: p, types.get(wire))


def test_derived_values_are_plausible_and_hand_written_ones_win():
    cloud = FakeCloud(region="eu-west-1")
    _, instance = cloud.new_resource("aws:ec2/instance:Instance", "web", {"instanceType": "t3.micro"})
    assert instance["instanceType"] == "t3.micro"  # echoed input
    assert instance["privateIp"].startswith("10.") and instance["publicIp"].startswith("203.0.113.")
    assert instance["publicDns"].endswith(".amazonaws.com") and instance["subnetId"].startswith("subnet-")
    assert instance["arn"].startswith("arn:aws:ec2:eu-west-1:123456789012:")
    assert instance["ebsBlockDevices"] == []  # an argument block the program did not set
    assert isinstance(instance["tagsAll"], dict)
    _, cert = cloud.new_resource("aws:acm/certificate:Certificate", "cert", {"domainName": "example.com"})
    option = cert["domainValidationOptions"][0]
    assert option["resourceRecordName"] and option["resourceRecordType"] and option["resourceRecordValue"]
    _, db = cloud.new_resource("aws:rds/instance:Instance", "db", {"identifier": "main", "port": 5432})
    assert db["endpoint"].startswith("main.") and db["endpoint"].endswith(".rds.amazonaws.com:5432")
    _, balancer = cloud.new_resource("aws:lb/loadBalancer:LoadBalancer", "alb", {})
    assert balancer["zoneId"] == "Z35SXDOTRQ7X7K" and balancer["dnsName"].endswith(".elb.amazonaws.com")


def test_github_resources_are_covered_too():
    import pulumi_github

    _, state = FakeCloud().new_resource("github:index/repository:Repository", "site", {"name": "site"})
    wanted = {wire for _, wire, _ in invokes.properties(pulumi_github.Repository)}
    blocks_not_set = {"pages", "securityAndAnalysis", "template"}  # arguments not given: null, as GitHub has them
    assert blocks_not_set <= argument_names(pulumi_github.Repository)
    assert sorted(w for w in wanted if state.get(w) is None) == sorted(blocks_not_set)
    assert wanted <= set(state)
    assert state["fullName"] == "example-org/site" and state["htmlUrl"].startswith("https://github.com/")


def test_the_first_preview_of_a_create_is_unchanged():
    _, state = FakeCloud(region="eu-west-1").new_resource_preview(
        "aws:ec2/instance:Instance", "web", {"instanceType": "t3.micro", "tags": {"a": "b"}})
    assert state == {"instanceType": "t3.micro", "tags": {"a": "b"}, "region": "eu-west-1", "tagsAll": {"a": "b"},
                     "name": "web"}


_STATES = """
import hashlib, json, sys
from rampart.engine.fake_outputs import FakeCloud
cloud = FakeCloud(region="eu-west-1")
tokens = ["aws:ec2/instance:Instance", "aws:eks/cluster:Cluster", "aws:acm/certificate:Certificate",
          "aws:rds/instance:Instance", "aws:lb/loadBalancer:LoadBalancer", "github:index/repository:Repository"]
states = [cloud.new_resource(token, "thing", {"tags": {"a": "b"}}) for token in tokens]
print(json.dumps(states, sort_keys=True))
"""


def test_two_runs_give_equal_states():
    runs = [subprocess.run([sys.executable, "-c", _STATES], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1] and len(runs[0]) > 1000
    first = json.loads(runs[0])
    assert first[0][1]["privateIp"] and first[1][1]["endpoint"]


# aws.elb.get_service_account --------------------------------------------------------------------------------

SERVICE_ACCOUNT = "aws:elb/getServiceAccount:getServiceAccount"


@pytest.mark.parametrize(("region", "account"), [
    ("us-east-1", "127311923021"), ("eu-west-1", "156460612806"), ("ap-southeast-2", "783225319266"),
    ("us-west-2", "797873946194"), ("eu-central-1", "054676820928"), ("sa-east-1", "507241528517"),
])
def test_the_elb_service_account_is_the_regions_own(region, account):
    answer = invokes.answer(SERVICE_ACCOUNT, {}, FakeCloud(region=region))
    assert answer["id"] == account and answer["arn"] == f"arn:aws:iam::{account}:root"


def test_the_elb_service_account_of_a_region_asked_for_and_of_other_partitions():
    cloud = FakeCloud(region="us-east-1")
    assert invokes.answer(SERVICE_ACCOUNT, {"region": "eu-west-1"}, cloud)["id"] == "156460612806"
    gov = invokes.answer(SERVICE_ACCOUNT, {}, FakeCloud(region="us-gov-west-1"))
    assert gov["arn"] == "arn:aws-us-gov:iam::048591011584:root"


def test_the_elb_service_account_of_an_unknown_region_is_unanswerable():
    with pytest.raises(invokes.UnanswerableInvoke, match="xx-nowhere-1"):
        invokes.answer(SERVICE_ACCOUNT, {}, FakeCloud(region="xx-nowhere-1"))


@pytest.mark.parametrize("module", SWEPT)
def test_the_per_class_plan_answers_what_walking_the_annotations_answers(module):
    """Shaper.of_class decides each class's shape once (shapes._class_plan); the values must be what Shaper.of
    gives walking the annotations for each resource."""
    from rampart.engine.resource_outputs import _ResourceValues, resource_class

    cloud = FakeCloud(region="eu-west-1")
    for token, _ in _classes(module):
        for name in ("thing", "other"):
            shaper = _ResourceValues(cloud, token, name, f"{name}-physical")
            planned = shaper.of_class(resource_class(token), depth=0)
            walked = {wire: shaper.of(annotation, python_name, 0)
                      for python_name, wire, annotation in invokes.properties(resource_class(token))}
            assert planned == walked, token


def test_a_block_nobody_set_is_empty_and_a_computed_one_is_filled():
    cloud = FakeCloud()
    _, certificate = cloud.new_resource("aws:acm/certificate:Certificate", "cert", {"domainName": "example.com"})
    assert certificate["options"] is None  # an argument block the program did not set
    [record] = certificate["domainValidationOptions"]  # computed: filled
    assert record["resourceRecordName"] and record["resourceRecordType"] == "CNAME"
    _, instance = cloud.new_resource("aws:ec2/instance:Instance", "web", {"ami": "ami-0123456789abcdef0"})
    assert instance["ebsBlockDevices"] == [] and instance["privateIp"].startswith("10.0.")
    assert instance["ami"] == "ami-0123456789abcdef0"
    _, given = cloud.new_resource("aws:ec2/instance:Instance", "web", {"ebsBlockDevices": [{"deviceName": "/dev/x"}]})
    assert given["ebsBlockDevices"] == [{"deviceName": "/dev/x"}]  # what the program set is echoed


def test_one_annotation_nobody_can_resolve_leaves_the_other_properties_their_types(monkeypatch):
    import pulumi_aws as aws

    from rampart.engine import shapes

    def unresolvable(cls):
        raise NameError("name 'NoSuchType' is not defined")

    monkeypatch.setattr(pulumi._types, "_types_from_py_properties", unresolvable)
    shapes.properties.cache_clear()
    try:
        read = {wire: annotation for _, wire, annotation in shapes.properties(aws.acm.Certificate)}
    finally:
        shapes.properties.cache_clear()
    assert read["domainValidationOptions"] is not str and read["pendingRenewal"] is bool


def test_an_output_the_provider_marks_secret_is_a_secret(tmp_path):
    # aws.iam.AccessKey lists `secret` and `sesSmtpPasswordV4` in additional_secret_outputs: the engine returns
    # them as secrets, so anything built from one (this export) is a secret too.
    outputs = _run(tmp_path, ASSUME_EXISTING)["outputs"]
    assert isinstance(outputs["db_everything"], dict) and outputs["db_everything"].get(SECRET_SIG_KEY) == SECRET_SIG
    assert not isinstance(outputs["private_ip"], dict)  # nothing else turns secret


def test_a_class_plan_is_made_once_for_every_resource_of_the_class():
    """A stack declares many resources of one class (50 services: 400 alarms); the plan of its shape is the class's,
    worked out at its first resource, while the values stay each resource's own."""
    from rampart.engine import shapes

    cloud = FakeCloud()
    shapes._class_plan.cache_clear()
    states = [cloud.new_resource("aws:cloudwatch/metricAlarm:MetricAlarm", f"alarm-{i}", {"threshold": 1})[1]
              for i in range(5)]
    assert shapes._class_plan.cache_info().misses == 1 and shapes._class_plan.cache_info().hits == 4
    assert len({state["arn"] for state in states}) == 5
