"""LoadBalancer: shape, parents, names, and one test per hardening default."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components.load_balancer import LoadBalancer, LoadBalancerArgs
from tests.support.stacks import record_program

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/6f1c0f5e-2b1d-4a55-9a9e-1d2f0c4b8a71"
COMPONENT = "rampart:index:LoadBalancer"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
BUCKET = "aws:s3/bucket:Bucket"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def args(**overrides) -> LoadBalancerArgs:
    base = LoadBalancerArgs(
        vpc_id="vpc-0123",
        public_subnet_ids=["subnet-a", "subnet-b"],
        certificate_arn=CERT,
        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        test_listener_port=8443,
        access_log_retention_days=90,
        idle_timeout_seconds=60,
        deletion_protection=True,
        vpc_cidr="10.20.0.0/16",
    )
    return dataclasses.replace(base, **overrides)


def record(lb_args: LoadBalancerArgs | None = None):
    return record_program(lambda: LoadBalancer("edge", lb_args or args()))


@pytest.fixture(scope="module")
def rec():
    return record()


def listener(rec, role: str):
    return rec.one(LISTENER, f"edge-{role}")


def test_every_child_is_parented_and_named_after_the_component(rec):
    component = rec.one(COMPONENT)
    children = [r for r in rec.registrations if r.urn != component.urn and r.type != "pulumi:pulumi:Stack"]
    assert len(children) >= 15
    for child in children:
        assert child.parent == component.urn, child.name
        assert child.name.startswith("edge-"), child.name


def test_presence(rec):
    assert len(rec.by_type(ALB)) == 1
    assert sorted(r.name for r in rec.by_type(LISTENER)) == ["edge-http", "edge-https", "edge-test"]
    assert len(rec.by_type(BUCKET)) == 1
    assert len(rec.by_type("aws:ec2/securityGroup:SecurityGroup")) == 1


def test_alb_is_public_in_the_given_subnets_behind_its_security_group(rec):
    alb = rec.one(ALB).plain_inputs()
    assert alb["loadBalancerType"] == "application"
    assert alb["internal"] is False
    assert alb["subnets"] == ["subnet-a", "subnet-b"]
    assert alb["securityGroups"] == [rec.one("aws:ec2/securityGroup:SecurityGroup").id]
    assert alb["idleTimeout"] == 60


def test_alb_drops_invalid_headers_and_mitigates_desync(rec):
    alb = rec.one(ALB).plain_inputs()
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["desyncMitigationMode"] in ("strictest", "defensive")
    assert alb["enableHttp2"] is True


@pytest.mark.parametrize("protection", [True, False])
def test_deletion_protection_follows_args(protection):
    rec = record(args(deletion_protection=protection))
    assert rec.one(ALB).plain_inputs()["enableDeletionProtection"] is protection


def test_access_logs_are_on_into_the_component_bucket(rec):
    access_logs = rec.one(ALB).plain_inputs()["accessLogs"]
    assert access_logs["enabled"] is True
    bucket_name = rec.one(BUCKET).plain_inputs().get("bucket") or "edge-access-logs"
    assert access_logs["bucket"] == bucket_name
    # Logging is switched on only once the bucket policy lets the ELB write (else creation fails).
    alb_deps = rec.one(ALB).dependencies
    assert rec.one("aws:s3/bucketPolicy:BucketPolicy").urn in alb_deps


def test_access_log_bucket_is_encrypted_with_sse_s3(rec):
    (encryption,) = rec.by_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (rule,) = encryption.plain_inputs()["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_access_log_bucket_blocks_all_public_access(rec):
    block = rec.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").plain_inputs()
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag


def test_access_log_bucket_disables_acls_and_keeps_versions(rec):
    ownership = rec.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").plain_inputs()
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    versioning = rec.one("aws:s3/bucketVersioning:BucketVersioning").plain_inputs()
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    assert rec.one(BUCKET).plain_inputs()["forceDestroy"] is False


def test_access_logs_expire_after_the_retention_from_args():
    rec = record(args(access_log_retention_days=400))
    lifecycle = rec.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").plain_inputs()
    (rule,) = lifecycle["rules"]
    assert rule["status"] == "Enabled"
    assert rule["expiration"]["days"] == 400
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] >= 1


def test_bucket_policy_admits_elb_log_delivery_and_denies_plain_http(rec):
    policy = json.loads(rec.one("aws:s3/bucketPolicy:BucketPolicy").plain_inputs()["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    delivery = statements["ElbLogDelivery"]
    assert delivery["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"].endswith("/AWSLogs/123456789012/*")
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            assert statement["Action"] == "s3:PutObject"
            assert statement["Principal"] != "*"
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2


@pytest.mark.parametrize("role", ["https", "test"])
def test_https_listeners_use_the_tls13_policy_and_certificate(rec, role):
    inputs = listener(rec, role).plain_inputs()
    assert inputs["protocol"] == "HTTPS"
    assert inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert inputs["certificateArn"] == CERT


def test_listener_ports(rec):
    assert listener(rec, "https").plain_inputs()["port"] == 443
    assert listener(rec, "test").plain_inputs()["port"] == 8443
    assert listener(rec, "http").plain_inputs()["port"] == 80


@pytest.mark.parametrize("role", ["https", "test"])
def test_https_listeners_ignore_default_actions_that_codedeploy_rewrites(rec, role):
    assert "defaultActions" in listener(rec, role).ignore_changes


@pytest.mark.parametrize("role", ["https", "test"])
def test_https_listeners_answer_404_until_services_add_rules(rec, role):
    (action,) = listener(rec, role).plain_inputs()["defaultActions"]
    assert action["type"] == "fixed-response"
    assert action["fixedResponse"]["statusCode"] == "404"


@pytest.mark.parametrize("role", ["https", "test"])
def test_https_listeners_send_hsts_for_a_year(rec, role):
    inputs = listener(rec, role).plain_inputs()
    hsts = inputs["routingHttpResponseStrictTransportSecurityHeaderValue"]
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000
    assert inputs["routingHttpResponseXContentTypeOptionsHeaderValue"] == "nosniff"


def test_http_listener_only_redirects_to_https_permanently(rec):
    http = listener(rec, "http")
    inputs = http.plain_inputs()
    assert inputs["protocol"] == "HTTP"
    (action,) = inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"]["protocol"] == "HTTPS"
    assert action["redirect"]["port"] == "443"
    assert action["redirect"]["statusCode"] == "HTTP_301"
    # Nothing rewrites this listener, so drift on it must be corrected, not ignored.
    assert http.ignore_changes == ()


def test_security_group_has_no_inline_rules(rec):
    sg = rec.one("aws:ec2/securityGroup:SecurityGroup").plain_inputs()
    assert not sg.get("ingress")
    assert not sg.get("egress")


def ingress_by_port(rec) -> dict[int, list[dict]]:
    rules: dict[int, list[dict]] = {}
    for rule in rec.by_type(INGRESS):
        inputs = rule.plain_inputs()
        rules.setdefault(inputs["fromPort"], []).append(inputs)
    return rules


def source(rule: dict) -> str:
    return rule.get("cidrIpv4") or rule.get("cidrIpv6")


def test_ingress_rules_are_single_port_tcp_with_descriptions(rec):
    sg = rec.one("aws:ec2/securityGroup:SecurityGroup").id
    for rule in (r.plain_inputs() for r in rec.by_type(INGRESS)):
        assert rule["securityGroupId"] == sg
        assert rule["ipProtocol"] == "tcp"
        assert rule["fromPort"] == rule["toPort"]
        assert rule.get("description")


def test_default_ingress_opens_only_443_and_80_to_the_internet(rec):
    rules = ingress_by_port(rec)
    assert sorted(rules) == [80, 443]  # the test listener only from the sources given (tests below)
    assert [source(r) for r in rules[443]] == ["0.0.0.0/0"]
    assert [source(r) for r in rules[80]] == ["0.0.0.0/0"]
    open_rules = [r for rs in rules.values() for r in rs if source(r) in ("0.0.0.0/0", "::/0")]
    assert sorted(r["fromPort"] for r in open_rules) == [80, 443]


def test_test_listener_admits_nobody_without_sources(rec):
    # The VPC CIDR admitted nothing: the ALB is internet-facing, so VPC clients arrive from the NAT addresses.
    assert 8443 not in ingress_by_port(rec)


def test_test_listener_admits_each_nat_address_and_the_configured_ranges():
    rec = record(args(test_source_ips=("198.51.100.7", "198.51.100.9"), test_ingress_cidrs=("192.0.2.0/24",)))
    rules = ingress_by_port(rec)[8443]
    assert sorted(source(r) for r in rules) == ["192.0.2.0/24", "198.51.100.7/32", "198.51.100.9/32"]
    assert all(source(r) != "10.20.0.0/16" for rs in ingress_by_port(rec).values() for r in rs)
    assert all(r.get("description") for r in rules)


def test_ingress_follows_ingress_cidrs_and_test_ingress_cidrs():
    rec = record(args(ingress_cidrs=("203.0.113.0/24", "2001:db8::/32"), test_ingress_cidrs=("198.51.100.0/24",)))
    rules = ingress_by_port(rec)
    for port in (443, 80):
        assert sorted(source(r) for r in rules[port]) == ["2001:db8::/32", "203.0.113.0/24"]
    assert [source(r) for r in rules[8443]] == ["198.51.100.0/24"]
    (v6,) = [r for r in rules[443] if "cidrIpv6" in r]
    assert "cidrIpv4" not in v6


def test_egress_only_to_the_vpc(rec):
    (egress,) = [r.plain_inputs() for r in rec.by_type(EGRESS)]
    assert egress["cidrIpv4"] == "10.20.0.0/16"
    assert egress["ipProtocol"] == "tcp"
    assert egress.get("description")


def test_egress_looks_the_vpc_cidr_up_when_not_given():
    rec = record(args(vpc_cidr=None))
    (egress,) = [r.plain_inputs() for r in rec.by_type(EGRESS)]
    # The offline fake cloud does not answer getVpc: what matters is that no open CIDR is substituted.
    assert egress.get("cidrIpv4") != "0.0.0.0/0"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, "ssl_policy"),
        ({"ssl_policy": "ELBSecurityPolicy-TLS-1-2-2017-01"}, "ssl_policy"),
        ({"certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"}, "certificate_arn"),
        ({"test_listener_port": 443}, "test_listener_port"),
        ({"test_listener_port": 80}, "test_listener_port"),
        ({"test_listener_port": 70000}, "test_listener_port"),
        ({"access_log_retention_days": 0}, "access_log_retention_days"),
        ({"idle_timeout_seconds": 0}, "idle_timeout_seconds"),
        ({"idle_timeout_seconds": 4001}, "idle_timeout_seconds"),
        ({"deletion_protection": "yes"}, "deletion_protection"),
        ({"public_subnet_ids": ["subnet-a"]}, "public_subnet_ids"),
        ({"ingress_cidrs": ()}, "ingress_cidrs"),
        ({"ingress_cidrs": ("0.0.0.0/0", "10.0.0.1/8")}, "ingress_cidrs"),
        ({"test_ingress_cidrs": ()}, "test_ingress_cidrs"),
        ({"test_ingress_cidrs": ("nowhere",)}, "test_ingress_cidrs"),
        ({"test_source_ips": ("198.51.100.0/24",)}, "test_source_ips"),
        ({"test_source_ips": "198.51.100.7"}, "test_source_ips"),
    ],
)
def test_invalid_args_are_rejected(overrides, field):
    with pytest.raises(ValueError, match=rf"^LoadBalancerArgs\.{field}: expected"):
        LoadBalancer("edge", args(**overrides))
