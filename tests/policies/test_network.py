"""Network rules (catalogue 49-56): a compliant VPC with load balancer, service and database tiers passes;
each weakened setting fails with the rule's message; each rule once through the real pack."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import network
from guardrails.rule import Context, Resource, Undeterminable, findings

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import rule_context, urn
from tests.support.rules import stack_findings as support_stack_findings

SG = "aws:ec2/securityGroup:SecurityGroup"
DSG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
LB = "aws:lb/loadBalancer:LoadBalancer"
SERVICE = "aws:ecs/service:Service"
DB = "aws:rds/instance:Instance"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

RULES = {rule.name: rule for rule in network.POLICIES}


VPC_URN = urn(VPC, "vpc")
ALB_SG = urn(SG, "alb-sg")
SERVICE_SG = urn(SG, "service-sg")
DB_SG = urn(SG, "db-sg")
LB_URN = urn(LB, "web")
SERVICE_URN = urn(SERVICE, "web")
ROLE_URN = urn(ROLE, "task")


def res(type_token: str, name: str, props: dict[str, Any], **deps: tuple[str, ...]) -> Resource:
    return Resource(type_token, props, urn=urn(type_token, name), name=name, property_dependencies=deps)


def ingress(name: str, group: str, port: int, *, source: str | None = None, cidr: str | None = None,
            to_port: int | None = None, protocol: str = "tcp") -> Resource:
    props: dict[str, Any] = {"securityGroupId": "sg-x", "ipProtocol": protocol, "fromPort": float(port),
                             "toPort": float(port if to_port is None else to_port)}
    deps: dict[str, tuple[str, ...]] = {"securityGroupId": (group,)}
    if source:
        props["referencedSecurityGroupId"] = "sg-src"
        deps["referencedSecurityGroupId"] = (source,)
    if cidr:
        props["cidrIpv6" if ":" in cidr else "cidrIpv4"] = cidr
    return res(INGRESS, name, props, **deps)


def egress(name: str, group: str, port: int, *, source: str | None = None, cidr: str | None = None) -> Resource:
    rule = ingress(name, group, port, source=source, cidr=cidr)
    return Resource(EGRESS, rule.props, urn=urn(EGRESS, name), name=name,
                    property_dependencies=rule.property_dependencies)


def compliant() -> list[Resource]:
    return [
        res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"}),
        res(DSG, "vpc-default-sg", {"vpcId": "vpc-1"}, vpcId=(VPC_URN,)),
        res(FLOW_LOG, "vpc-flow-log", {"vpcId": "vpc-1", "trafficType": "ALL", "logDestination": "arn:logs"},
            vpcId=(VPC_URN,)),
        res(SUBNET, "private-a", {"vpcId": "vpc-1", "cidrBlock": "10.0.1.0/24"}, vpcId=(VPC_URN,)),
        res(SUBNET, "public-a", {"vpcId": "vpc-1", "cidrBlock": "10.0.101.0/24", "mapPublicIpOnLaunch": False},
            vpcId=(VPC_URN,)),
        res(SG, "alb-sg", {"vpcId": "vpc-1", "description": "web load balancer"}),
        res(SG, "service-sg", {"vpcId": "vpc-1", "description": "web tasks"}),
        res(SG, "db-sg", {"vpcId": "vpc-1", "description": "database"}),
        ingress("alb-https", ALB_SG, 443, cidr="0.0.0.0/0"),
        ingress("alb-https-v6", ALB_SG, 443, cidr="::/0"),
        ingress("alb-http", ALB_SG, 80, cidr="0.0.0.0/0"),
        egress("alb-to-service", ALB_SG, 8080, source=SERVICE_SG),
        ingress("service-from-alb", SERVICE_SG, 8080, source=ALB_SG),
        egress("service-https", SERVICE_SG, 443, cidr="0.0.0.0/0"),
        egress("service-to-db", SERVICE_SG, 6432, source=DB_SG),
        ingress("db-from-service", DB_SG, 6432, source=SERVICE_SG),
        res(LB, "web", {"internal": False, "securityGroups": ["sg-alb"], "subnets": ["a", "b"]},
            securityGroups=(ALB_SG,)),
        res(SERVICE, "web", {"networkConfiguration": {"subnets": ["s-1"], "securityGroups": ["sg-svc"],
                                                      "assignPublicIp": False}},
            networkConfiguration=(SERVICE_SG, urn(SUBNET, "private-a"))),
        res(DB, "db", {"engine": "postgres", "vpcSecurityGroupIds": ["sg-db"]}, vpcSecurityGroupIds=(DB_SG,)),
        *[res(ENDPOINT, svc, {"vpcId": "vpc-1", "serviceName": f"com.amazonaws.eu-west-1.{svc}"}, vpcId=(VPC_URN,))
          for svc in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "s3")],
        res(ROLE, "task", {"assumeRolePolicy": "{}", "name": "web-task"}),
        res(ROLE_POLICY, "task-policy", {"role": "web-task", "policy": "{}"}, role=(ROLE_URN,)),
    ]


def replaced(resources: list[Resource], name: str, props: dict[str, Any] | None = None,
             **deps: tuple[str, ...]) -> list[Resource]:
    """The stack with one resource's props (and optionally dependencies) replaced; props None removes it."""
    result = []
    for r in resources:
        if r.name != name:
            result.append(r)
        elif props is not None:
            result.append(Resource(r.type, props, urn=r.urn, name=r.name,
                                   property_dependencies={**r.property_dependencies, **deps}))
    return result


def without(resources: list[Resource], *names: str) -> list[Resource]:
    return [r for r in resources if r.name not in names]


def props_of(resources: list[Resource], name: str) -> dict[str, Any]:
    return dict(next(r for r in resources if r.name == name).props)


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def stack_findings(rule_name: str, resources: list[Resource], **config: Any):
    return support_stack_findings(RULES[rule_name], resources, **config)


def resource_messages(rule_name: str, resource: Resource, **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.check is not None and resource.type in rule.resource_types
    return [f.message for f in findings(rule.check(resource, context(rule_name, **config)), resource.urn)]


# --- metadata ------------------------------------------------------------------------------------------------

CATALOGUE = {
    "sg-no-public-ingress": "M", "sg-no-admin-ports": "M", "sg-least-privilege-paths": "MP",
    "no-split-management-conflicts": "M", "vpc-default-sg-closed": "M", "vpc-flow-logs": "M",
    "subnet-no-auto-public-ip": "M", "vpc-endpoints-for-private-tasks": "A",
}


def test_rules_match_the_catalogue():
    assert {name: rule.enforcement for name, rule in RULES.items()} == CATALOGUE


@pytest.mark.parametrize("name", ["sg-no-public-ingress", "sg-no-admin-ports"])
def test_exposure_rules_cannot_be_waived(name):
    assert RULES[name].waivable is False


def test_every_rule_names_a_reference_and_a_remediation():
    for rule in RULES.values():
        assert rule.url.startswith("https://") and rule.remediation and rule.description.endswith(".")


# --- the compliant stack ---------------------------------------------------------------------------------------

STACK_RULES = [name for name, rule in RULES.items() if rule.stack_check is not None]


@pytest.mark.parametrize("name", STACK_RULES)
def test_compliant_stack_passes(name):
    assert stack_findings(name, compliant()) == []


@pytest.mark.parametrize("resource", [r for r in compliant() if r.type in (SG, INGRESS, SUBNET)],
                         ids=lambda r: r.name)
def test_compliant_resources_pass(resource):
    for name, rule in RULES.items():
        if rule.check is not None and resource.type in rule.resource_types:
            assert resource_messages(name, resource) == []


# --- 49 sg-no-public-ingress ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "culprit", "expected"),
    [
        (compliant() + [ingress("svc-open", SERVICE_SG, 8080, cidr="0.0.0.0/0")], "svc-open",
         "rule svc-open allows ingress tcp port 8080 from 0.0.0.0/0"),
        (compliant() + [ingress("svc-open6", SERVICE_SG, 8080, cidr="::/0")], "svc-open6", "from ::/0"),
        (compliant() + [ingress("alb-8443", ALB_SG, 8443, cidr="0.0.0.0/0")], "alb-8443", "port 8443"),
        (compliant() + [ingress("alb-range", ALB_SG, 80, to_port=443, cidr="0.0.0.0/0")], "alb-range",
         "ports 80-443"),
        (compliant() + [ingress("alb-all", ALB_SG, 0, protocol="-1", cidr="0.0.0.0/0")], "alb-all", "all ports"),
        (replaced(compliant(), "web", {"internal": True, "securityGroups": ["sg-alb"]}),
         ["alb-https", "alb-https-v6", "alb-http"], "rule alb-https allows ingress tcp port 443 from 0.0.0.0/0"),
        (compliant() + [res(SG, "inline-open", {"ingress": [{"protocol": "tcp", "fromPort": 5432.0,
                                                             "toPort": 5432.0, "cidrBlocks": ["0.0.0.0/0"]}]})],
         "inline-open", "security group inline-open allows ingress tcp port 5432"),
        (compliant() + [res(SG_RULE, "legacy-open", {"type": "ingress", "protocol": "tcp", "fromPort": 443.0,
                                                     "toPort": 443.0, "cidrBlocks": ["0.0.0.0/0"],
                                                     "securityGroupId": "sg-elsewhere"})],
         "legacy-open", "rule legacy-open allows ingress tcp port 443 from 0.0.0.0/0"),
    ],
    ids=["service-v4", "service-v6", "alb-other-port", "alb-range", "alb-all-protocols", "internal-alb",
         "inline", "group-outside-the-stack"],
)
def test_public_ingress_fails_on_the_declaring_resource(resources, culprit, expected):
    found = stack_findings("sg-no-public-ingress", resources)
    culprits = culprit if isinstance(culprit, list) else [culprit]
    assert [f.urn.rsplit("::", 1)[-1] for f in found] == culprits, found
    assert expected in found[0].message


def test_public_ports_are_configurable():
    assert stack_findings("sg-no-public-ingress", compliant(), publicLoadBalancerPorts=[443])


def test_public_egress_is_not_this_rules_business():
    assert stack_findings("sg-no-public-ingress", compliant() + [egress("x", SERVICE_SG, 443, cidr="::/0")]) == []


# --- 50 sg-no-admin-ports ------------------------------------------------------------------------------------

ADMIN_FLIPS = [
    (res(SG, "ssh", {"ingress": [{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0,
                                  "cidrBlocks": ["10.0.0.0/8"]}]}), "opens admin port(s) 22"),
    (res(SG, "all", {"ingress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": ["10.1.0.0/16"]}]}),
     "opens admin port(s) 22, 3389"),
    (res(SG_RULE, "rdp", {"type": "ingress", "protocol": "tcp", "fromPort": 3389.0, "toPort": 3389.0,
                          "ipv6CidrBlocks": ["::/0"], "securityGroupId": "sg-1"}), "opens admin port(s) 3389"),
    (ingress("range", SERVICE_SG, 0, to_port=65535, cidr="192.168.0.0/16"), "ports 0-65535 from 192.168.0.0/16"),
    (res(INGRESS, "pl", {"ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "prefixListId": "pl-123"}),
     "from pl-123 opens admin port(s) 22"),
    (res(DSG, "default", {"ingress": [{"protocol": "tcp", "fromPort": 20.0, "toPort": 25.0,
                                       "cidrBlocks": ["0.0.0.0/0"]}]}), "opens admin port(s) 22"),
]


@pytest.mark.parametrize(("resource", "expected"), ADMIN_FLIPS, ids=[r.name for r, _ in ADMIN_FLIPS])
def test_admin_port_from_a_cidr_fails(resource, expected):
    found = resource_messages("sg-no-admin-ports", resource)
    assert any(expected in m for m in found), found


@pytest.mark.parametrize(
    "resource",
    [
        ingress("ssh-from-bastion-sg", SERVICE_SG, 22, source=ALB_SG),
        egress("ssh-out", SERVICE_SG, 22, cidr="10.0.0.0/8"),
        res(SG, "udp", {"ingress": [{"protocol": "udp", "fromPort": 22.0, "toPort": 22.0,
                                     "cidrBlocks": ["10.0.0.0/8"]}]}),
    ],
    ids=lambda r: r.name,
)
def test_admin_ports_by_reference_or_outbound_pass(resource):
    rule = RULES["sg-no-admin-ports"]
    if resource.type in rule.resource_types:
        assert resource_messages("sg-no-admin-ports", resource) == []


# --- 51 sg-least-privilege-paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "culprit", "expected"),
    [
        (ingress("svc-cidr", SERVICE_SG, 8080, cidr="10.0.0.0/16"), "svc-cidr",
         "service security group service-sg: rule svc-cidr allows ingress tcp port 8080 from 10.0.0.0/16 "
         "(address ranges instead of a security group reference)"),
        (ingress("svc-from-db", SERVICE_SG, 8080, source=DB_SG), "svc-from-db",
         "sources other than the load balancer security group"),
        (ingress("svc-range", SERVICE_SG, 8080, to_port=8090, source=ALB_SG), "svc-range", "more than one port"),
        (ingress("db-from-alb", DB_SG, 6432, source=ALB_SG), "db-from-alb",
         "database security group db-sg: rule db-from-alb allows ingress tcp port 6432 from alb-sg "
         "(sources other than the service security group)"),
        (ingress("db-all", DB_SG, 0, protocol="-1", source=SERVICE_SG), "db-all", "more than one port"),
        (egress("db-out", DB_SG, 443, cidr="0.0.0.0/0"), "db-out",
         "expected no egress to the internet from the database"),
    ],
    ids=["service-cidr", "service-from-db", "service-range", "db-from-alb", "db-all", "db-open-egress"],
)
def test_least_privilege_path_weakened_fails(extra, culprit, expected):
    found = stack_findings("sg-least-privilege-paths", compliant() + [extra])
    assert [f.urn.rsplit("::", 1)[-1] for f in found] == [culprit], found
    assert expected in found[0].message


def test_inline_cidr_block_is_not_credited_with_a_sibling_blocks_group():
    db = {"vpcId": "vpc-1", "ingress": [
        {"protocol": "tcp", "fromPort": 6432.0, "toPort": 6432.0, "securityGroups": ["sg-svc"]},
        {"protocol": "tcp", "fromPort": 6432.0, "toPort": 6432.0, "cidrBlocks": ["10.0.0.0/16"]},
    ]}
    resources = replaced(without(compliant(), "db-from-service"), "db-sg", db, ingress=(SERVICE_SG,))
    [finding] = stack_findings("sg-least-privilege-paths", resources)
    assert "allows ingress tcp port 6432 from 10.0.0.0/16 (address ranges" in finding.message


# --- 52 no-split-management-conflicts ------------------------------------------------------------------------


def test_security_group_with_inline_and_standalone_rules_fails():
    resources = replaced(compliant(), "service-sg", {"vpcId": "vpc-1", "egress": []})
    [finding] = stack_findings("no-split-management-conflicts", resources)
    assert finding.urn == SERVICE_SG
    assert "manages rules inline (egress) and through standalone rule resources (service-from-alb, " \
           "service-https, service-to-db)" in finding.message


def test_inline_rules_alone_pass():
    inline_only = [res(SG, "solo", {"ingress": [{"protocol": "tcp", "fromPort": 1.0, "toPort": 1.0}]})]
    assert stack_findings("no-split-management-conflicts", compliant() + inline_only) == []


def test_role_with_inline_policies_and_role_policy_fails():
    resources = replaced(compliant(), "task", {"name": "web-task", "inlinePolicies": [{"name": "a", "policy": "{}"}]})
    [finding] = stack_findings("no-split-management-conflicts", resources)
    assert finding.urn == ROLE_URN and "sets inlinePolicies and has standalone role policies (task-policy)" in \
        finding.message


def test_role_with_managed_arns_and_attachment_fails_even_matched_by_name():
    resources = replaced(compliant(), "task", {"name": "web-task", "managedPolicyArns": []}) + [
        res(ATTACHMENT, "task-attach", {"role": "web-task", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})]
    [finding] = stack_findings("no-split-management-conflicts", resources)
    assert "sets managedPolicyArns and has standalone policy attachments (task-attach)" in finding.message


# --- 53 vpc-default-sg-closed --------------------------------------------------------------------------------


def test_vpc_without_default_sg_fails():
    [finding] = stack_findings("vpc-default-sg-closed", without(compliant(), "vpc-default-sg"))
    assert finding.urn == VPC_URN and "VPC has no aws.ec2.DefaultSecurityGroup" in finding.message


@pytest.mark.parametrize("key", ["ingress", "egress"])
def test_default_sg_with_rules_fails(key):
    rules = [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "self": True}]
    resources = replaced(compliant(), "vpc-default-sg", {"vpcId": "vpc-1", key: rules})
    [finding] = stack_findings("vpc-default-sg-closed", resources)
    assert finding.message == f"DefaultSecurityGroup {key} has 1 rule(s); expected none"


def test_two_default_sgs_for_one_vpc_fail():
    resources = compliant() + [res(DSG, "second", {"vpcId": "vpc-1"}, vpcId=(VPC_URN,))]
    [finding] = stack_findings("vpc-default-sg-closed", resources)
    assert "VPC has 2 DefaultSecurityGroup resources" in finding.message


# --- 54 vpc-flow-logs ----------------------------------------------------------------------------------------


def test_vpc_without_flow_log_fails():
    [finding] = stack_findings("vpc-flow-logs", without(compliant(), "vpc-flow-log"))
    assert finding.urn == VPC_URN and "VPC has no aws.ec2.FlowLog" in finding.message


def test_flow_log_of_another_vpc_does_not_count():
    resources = replaced(compliant(), "vpc-flow-log", {"vpcId": "vpc-other", "trafficType": "ALL"}, vpcId=())
    assert stack_findings("vpc-flow-logs", resources)


def test_flow_log_of_accepted_traffic_only_fails():
    resources = replaced(compliant(), "vpc-flow-log", {"vpcId": "vpc-1", "trafficType": "ACCEPT"})
    [finding] = stack_findings("vpc-flow-logs", resources)
    assert "trafficType 'ACCEPT'; expected one of ALL, REJECT" in finding.message


# --- 55 subnet-no-auto-public-ip -----------------------------------------------------------------------------


def test_subnet_with_auto_public_ip_fails():
    subnet = res(SUBNET, "public-a", {"vpcId": "vpc-1", "mapPublicIpOnLaunch": True})
    assert resource_messages("subnet-no-auto-public-ip", subnet) == [
        "mapPublicIpOnLaunch is true; expected false (load balancers and NAT gateways do not need it)"]


# --- 56 vpc-endpoints-for-private-tasks ----------------------------------------------------------------------


def test_missing_endpoints_without_nat_fail_on_each_private_service():
    [finding] = stack_findings("vpc-endpoints-for-private-tasks", without(compliant(), "ecr.dkr", "s3"))
    assert finding.urn == SERVICE_URN and "no VPC endpoint for ecr.dkr, s3" in finding.message


def test_nat_gateway_instead_of_endpoints_passes():
    resources = without(compliant(), "ecr.api", "ecr.dkr", "logs", "secretsmanager", "s3") + [
        res("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "s-pub"})]
    assert stack_findings("vpc-endpoints-for-private-tasks", resources) == []


def test_public_tasks_need_no_endpoints():
    service = {"networkConfiguration": {"subnets": ["s"], "securityGroups": ["sg"], "assignPublicIp": True}}
    resources = replaced(without(compliant(), "logs"), "web", service)
    assert stack_findings("vpc-endpoints-for-private-tasks", resources) == []


# --- through the real pack -----------------------------------------------------------------------------------


def _registrations(resources: list[Resource]):
    return [registration(r.type, r.props, name=r.name, urn=r.urn, property_dependencies=r.property_dependencies)
            for r in resources]


def broken() -> list[Resource]:
    resources = without(compliant(), "vpc-default-sg", "vpc-flow-log", "logs")
    resources = replaced(resources, "service-sg", {"vpcId": "vpc-1", "egress": []})
    return resources + [ingress("svc-open", SERVICE_SG, 8080, cidr="0.0.0.0/0")]


@pytest.fixture(scope="module")
def analyzed(policy_pack):
    ssh = {"ingress": [{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["10.0.0.0/8"]}]}
    return {
        "pass": [*analyze(policy_pack, SG, {"vpcId": "vpc-1"}), *analyze(policy_pack, SUBNET, {"vpcId": "v"})],
        "fail": [*analyze(policy_pack, SG, ssh), *analyze(policy_pack, SUBNET, {"mapPublicIpOnLaunch": True})],
        "stack-pass": analyze_stack(policy_pack, _registrations(compliant())),
        "stack-fail": analyze_stack(policy_pack, _registrations(broken())),
    }


@pytest.mark.parametrize("name", [n for n, r in RULES.items() if r.check is not None])
def test_resource_rule_through_the_pack(analyzed, name):
    assert not [d for d in analyzed["pass"] if d.policy == name]
    assert [d for d in analyzed["fail"] if d.policy == name]


@pytest.mark.parametrize(
    ("name", "culprit"),
    [("sg-no-public-ingress", urn(INGRESS, "svc-open")), ("sg-least-privilege-paths", urn(INGRESS, "svc-open")),
     ("no-split-management-conflicts", SERVICE_SG), ("vpc-default-sg-closed", VPC_URN), ("vpc-flow-logs", VPC_URN),
     ("vpc-endpoints-for-private-tasks", SERVICE_URN)],
)
def test_stack_rule_through_the_pack(analyzed, name, culprit):
    assert set(STACK_RULES) == {"sg-no-public-ingress", "sg-least-privilege-paths", "no-split-management-conflicts",
                                "vpc-default-sg-closed", "vpc-flow-logs", "vpc-endpoints-for-private-tasks"}
    assert not [d for d in analyzed["stack-pass"] if d.policy == name]
    assert [d for d in analyzed["stack-fail"] if d.policy == name and d.urn == culprit]


def test_a_waiver_cannot_silence_public_ingress(policy_pack):
    waiver = {"resource": "svc-open", "reason": "Temporary demo access for the client.", "approvedBy": "cto",
              "expires": "2999-01-01"}
    diags = analyze_stack(policy_pack, _registrations(broken()),
                          config={"sg-no-public-ingress": {"waivers": [waiver]}})
    assert [d for d in diags if d.policy == "sg-no-public-ingress"]


def test_a_protocol_the_run_did_not_know_is_undeterminable_not_all_traffic():
    # Every rule shape requires a protocol: a null one is unknown, not "-1" (issue 16).
    rule = Resource(network.SG_INGRESS_RULE, {"securityGroupId": "sg-1", "cidrIpv4": "10.0.0.0/8",
                                              "fromPort": 443.0, "toPort": 443.0, "ipProtocol": None},
                    urn=urn(network.SG_INGRESS_RULE, "https"), name="https")
    with pytest.raises(Undeterminable, match="protocol"):
        resource_messages("sg-no-admin-ports", rule)
