"""The network rules through the real pack, in a first preview where ids the run creates are unknown (found by a
new-user trial on public programs): a violation no unknown could excuse is still a violation, and a stack without
a database gets no verdict from the database rule."""

from __future__ import annotations

from rampart.engine.values import UNKNOWN
from tests.policies.network_support import INGRESS, LB, SG, SUBNET, VPC
from tests.support.pack import analyze_stack, registration
from tests.support.service_pack import hits

ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"


def _public_group_behind_a_new_load_balancer(port: int) -> list:
    group = registration(SG, {"vpcId": "vpc-1", "description": "web"}, name="web")
    rule = registration(INGRESS, {"securityGroupId": UNKNOWN, "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp",
                                  "fromPort": float(port), "toPort": float(port)}, name="web-public",
                        property_dependencies={"securityGroupId": [group.urn]})
    balancer = registration(LB, {"internal": False, "securityGroups": [UNKNOWN], "subnets": ["a", "b"]},
                            name="web-lb", property_dependencies={"securityGroups": [group.urn]})
    return [group, rule, balancer]


def test_a_public_port_no_exception_covers_is_a_violation_while_the_load_balancer_groups_are_unknown(policy_pack):
    diagnostics = analyze_stack(policy_pack, _public_group_behind_a_new_load_balancer(8080))
    [violation] = hits(diagnostics, "sg-no-public-ingress")
    assert "8080" in violation.message and "can't run policy" not in violation.message
    assert violation.urn.endswith("::web-public") and violation.enforcement == "mandatory"


def test_a_port_the_exception_names_stays_undeterminable_while_the_load_balancer_groups_are_unknown(policy_pack):
    [diagnostic] = hits(analyze_stack(policy_pack, _public_group_behind_a_new_load_balancer(443)),
                         "sg-no-public-ingress")
    assert "can't run policy" in diagnostic.message


def test_a_stack_without_a_database_gets_no_verdict_from_the_database_rule(policy_pack):
    vpc = registration(VPC, {"cidrBlock": "10.0.0.0/16"}, name="vpc")
    subnet = registration(SUBNET, {"vpcId": UNKNOWN, "cidrBlock": "10.0.1.0/24"}, name="subnet",
                          property_dependencies={"vpcId": [vpc.urn]})
    table = registration(ROUTE_TABLE, {"vpcId": UNKNOWN}, name="routes", property_dependencies={"vpcId": [vpc.urn]})
    association = registration(ROUTE_TABLE_ASSOCIATION, {"routeTableId": UNKNOWN, "subnetId": UNKNOWN},
                               name="association",
                               property_dependencies={"routeTableId": [table.urn], "subnetId": [subnet.urn]})
    assert hits(analyze_stack(policy_pack, [vpc, subnet, table, association]), "rds-network-isolation") == []
