"""Network: shape, parents, names, and one test per hardening default."""

from __future__ import annotations

import dataclasses
import ipaddress
import json

import pytest

from components.network import Network, NetworkArgs
from tests.support.stacks import record_program

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555"
COMPONENT = "rampart:index:Network"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def args(**overrides) -> NetworkArgs:
    base = NetworkArgs(cidr="10.20.0.0/16", az_count=3, nat_gateways=3, flow_log_retention_days=90, kms_key_arn=KEY)
    return dataclasses.replace(base, **overrides)


def record(network_args: NetworkArgs | None = None):
    return record_program(lambda: Network("net", network_args or args()))


@pytest.fixture(scope="module")
def rec():
    return record()


def subnets(rec, tier: str):
    # Registration order is not deterministic: order by name (net-<tier>-<index>).
    found = [r for r in rec.by_type(SUBNET) if r.plain_inputs()["tags"]["rampart:tier"] == tier]
    return sorted(found, key=lambda r: r.name)


def test_every_child_is_parented_and_named_after_the_component(rec):
    component = rec.one(COMPONENT)
    children = [r for r in rec.registrations if r.urn != component.urn and r.type != "pulumi:pulumi:Stack"]
    assert len(children) > 20
    for child in children:
        assert child.parent == component.urn, child.name
        assert child.name.startswith("net-"), child.name


def test_presence(rec):
    assert len(rec.by_type(VPC)) == 1
    assert len(rec.by_type("aws:ec2/internetGateway:InternetGateway")) == 1
    assert len(subnets(rec, "public")) == 3
    assert len(subnets(rec, "private")) == 3


def test_vpc_resolves_private_dns(rec):
    vpc = rec.one(VPC).plain_inputs()
    assert vpc["cidrBlock"] == "10.20.0.0/16"
    assert vpc["enableDnsSupport"] is True
    assert vpc["enableDnsHostnames"] is True


def test_no_subnet_assigns_public_ips_on_launch(rec):
    for subnet in rec.by_type(SUBNET):
        assert subnet.plain_inputs()["mapPublicIpOnLaunch"] is False, subnet.name


def test_subnets_span_az_count_distinct_zones_and_do_not_overlap(rec):
    for tier in ("public", "private"):
        zones = [s.plain_inputs()["availabilityZone"] for s in subnets(rec, tier)]
        assert len(set(zones)) == 3, tier
    cidrs = [ipaddress.ip_network(s.plain_inputs()["cidrBlock"]) for s in rec.by_type(SUBNET)]
    vpc = ipaddress.ip_network("10.20.0.0/16")
    assert all(c.subnet_of(vpc) for c in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


def test_az_count_follows_args():
    rec = record(args(az_count=2, nat_gateways=1))
    assert len(subnets(rec, "public")) == 2
    assert len(subnets(rec, "private")) == 2


def test_explicit_zones_are_used_in_order():
    rec = record(args(az_count=2, nat_gateways=2, availability_zones=("eu-west-1b", "eu-west-1c", "eu-west-1a")))
    zones = [s.plain_inputs()["availabilityZone"] for s in subnets(rec, "private")]
    assert zones == ["eu-west-1b", "eu-west-1c"]


def test_flow_log_covers_the_vpc_into_an_encrypted_retained_group(rec):
    vpc = rec.one(VPC)
    flow_log = rec.one(FLOW_LOG).plain_inputs()
    assert flow_log["vpcId"] == vpc.id
    assert flow_log["trafficType"] == "ALL"
    group = rec.one(LOG_GROUP)
    assert flow_log["logDestination"].endswith(group.name)
    assert group.plain_inputs()["kmsKeyId"] == KEY
    assert group.plain_inputs()["retentionInDays"] == 90


def test_flow_log_retention_follows_args():
    rec = record(args(flow_log_retention_days=365))
    assert rec.one(LOG_GROUP).plain_inputs()["retentionInDays"] == 365


def test_flow_log_role_trusts_only_the_flow_logs_service_for_this_account(rec):
    role = rec.one("aws:iam/role:Role").plain_inputs()
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_flow_log_role_writes_only_to_its_log_group(rec):
    group = rec.one(LOG_GROUP).name
    policy = json.loads(rec.one("aws:iam/rolePolicy:RolePolicy").plain_inputs()["policy"])
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        assert all(a.startswith("logs:") and "*" not in a for a in actions)
        assert "logs:CreateLogGroup" not in actions
        resources = statement["Resource"]
        assert resources and all(group in r and r != "*" for r in resources)


def test_default_security_group_is_managed_with_no_rules(rec):
    default_sg = rec.one(DEFAULT_SG)
    inputs = default_sg.plain_inputs()
    assert inputs["vpcId"] == rec.one(VPC).id
    # An absent list leaves AWS's allow-all rules in place: the empty lists are what strip them.
    assert inputs["ingress"] == []
    assert inputs["egress"] == []


@pytest.mark.parametrize("nat_gateways", [1, 2, 3])
def test_nat_count_follows_args_and_private_routes_spread_round_robin(nat_gateways):
    rec = record(args(nat_gateways=nat_gateways))
    nats = rec.by_type(NAT)
    assert len(nats) == nat_gateways
    public_ids = {s.id for s in subnets(rec, "public")}
    assert all(n.plain_inputs()["subnetId"] in public_ids for n in nats)
    private_routes = sorted((r for r in rec.by_type(ROUTE) if "natGatewayId" in r.plain_inputs()), key=lambda r: r.name)
    assert len(private_routes) == 3
    nat_ids = [n.id for n in sorted(nats, key=lambda n: n.name)]
    assert [r.plain_inputs()["natGatewayId"] for r in private_routes] == [nat_ids[i % nat_gateways] for i in range(3)]


def test_only_the_public_route_table_reaches_the_internet_gateway(rec):
    igw = rec.one("aws:ec2/internetGateway:InternetGateway").id
    via_igw = [r for r in rec.by_type(ROUTE) if r.plain_inputs().get("gatewayId") == igw]
    assert [r.name for r in via_igw] == ["net-public-default-route"]
    public_rt = rec.one("aws:ec2/routeTable:RouteTable", "net-public-rt").id
    associations = rec.by_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    public_subnet_ids = {s.id for s in subnets(rec, "public")}
    for association in associations:
        inputs = association.plain_inputs()
        assert (inputs["routeTableId"] == public_rt) == (inputs["subnetId"] in public_subnet_ids)


def test_interface_endpoints_with_private_dns_in_private_subnets(rec):
    private_ids = sorted(s.id for s in subnets(rec, "private"))
    endpoint_sg = rec.one("aws:ec2/securityGroup:SecurityGroup").id
    interface = {
        e.plain_inputs()["serviceName"]: e.plain_inputs()
        for e in rec.by_type(ENDPOINT)
        if e.plain_inputs()["vpcEndpointType"] == "Interface"
    }
    expected = {f"com.amazonaws.us-east-1.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")}
    assert set(interface) == expected
    for endpoint in interface.values():
        assert endpoint["privateDnsEnabled"] is True
        assert sorted(endpoint["subnetIds"]) == private_ids
        assert endpoint["securityGroupIds"] == [endpoint_sg]


def test_s3_gateway_endpoint_on_every_private_route_table(rec):
    (gateway,) = [e.plain_inputs() for e in rec.by_type(ENDPOINT) if e.plain_inputs()["vpcEndpointType"] == "Gateway"]
    assert gateway["serviceName"] == "com.amazonaws.us-east-1.s3"
    private_rts = sorted(r.id for r in rec.by_type("aws:ec2/routeTable:RouteTable") if "private" in r.name)
    assert len(private_rts) == 3
    assert sorted(gateway["routeTableIds"]) == private_rts


def test_endpoint_security_group_admits_only_https_from_the_vpc(rec):
    sg = rec.one("aws:ec2/securityGroup:SecurityGroup").plain_inputs()
    assert not sg.get("ingress") and not sg.get("egress")
    (rule,) = [r.plain_inputs() for r in rec.by_type(INGRESS)]
    assert rule["cidrIpv4"] == "10.20.0.0/16"
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"az_count": 1, "nat_gateways": 1}, "NetworkArgs.az_count"),
        ({"nat_gateways": 0}, "NetworkArgs.nat_gateways"),
        ({"nat_gateways": 4}, "NetworkArgs.nat_gateways"),
        ({"flow_log_retention_days": 10}, "NetworkArgs.flow_log_retention_days"),
        ({"cidr": "10.0.0.1/16"}, "NetworkArgs.cidr"),
        ({"cidr": "not-a-cidr"}, "NetworkArgs.cidr"),
        ({"cidr": "8.8.0.0/16"}, "NetworkArgs.cidr"),
        ({"cidr": "10.0.0.0/8"}, "NetworkArgs.cidr"),
        ({"cidr": "10.0.0.0/24", "az_count": 6, "nat_gateways": 1}, "NetworkArgs.cidr"),
        ({"availability_zones": ("us-east-1a", "us-east-1b")}, "NetworkArgs.availability_zones"),
        ({"availability_zones": ("us-east-1a", "us-east-1a", "us-east-1b")}, "NetworkArgs.availability_zones"),
    ],
)
def test_invalid_args_are_rejected(overrides, field):
    with pytest.raises(ValueError, match=rf"^{field}: expected"):
        Network("net", args(**overrides))


def test_a_small_vpc_that_still_fits_is_accepted():
    rec = record(args(cidr="10.0.0.0/24", az_count=2, nat_gateways=1))
    assert all(ipaddress.ip_network(s.plain_inputs()["cidrBlock"]).prefixlen == 26 for s in rec.by_type(SUBNET))


def test_network_edge_cluster_and_notifications_pass_the_policy_pack():
    """The four foundation components together, through the real pack as `rampart check` runs it."""
    import pulumi_aws as aws

    from components.cluster import Cluster, ClusterArgs
    from components.load_balancer import LoadBalancer, LoadBalancerArgs
    from components.notifications import Notifications, NotificationsArgs
    from tests.support.pack import pack_session

    def program() -> None:
        # A key of this stack (the key's own hygiene is the key component's business, excluded below).
        key = aws.kms.Key("test-key").arn
        net = Network("net", args(kms_key_arn=key, flow_log_retention_days=365))
        LoadBalancer(
            "edge",
            LoadBalancerArgs(
                vpc_id=net.vpc_id,
                public_subnet_ids=net.public_subnet_ids,
                certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/6f1c0f5e",
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                test_listener_port=8443,
                access_log_retention_days=365,
                idle_timeout_seconds=60,
                deletion_protection=True,
                vpc_cidr=net.vpc_cidr,
            ),
        )
        Cluster("ecs", ClusterArgs())
        Notifications("alerts", NotificationsArgs(kms_key_arn=key, emails=("oncall@example.com",)))

    rec = record_program(program)
    with pack_session() as pack:
        pack.configure({})
        diagnostics = [d for r in rec.registrations for d in pack.analyze(r)]
        diagnostics += pack.analyze_stack(list(rec.registrations))
    # The key's own hygiene is the key component's business; the web ACL is components/web_acl.py, which the
    # stack associates with the ALB.
    findings = [
        f"{d.policy}: {d.message}"
        for d in diagnostics
        if not d.urn.endswith("::test-key") and d.policy != "alb-waf-association"
    ]
    assert findings == []
