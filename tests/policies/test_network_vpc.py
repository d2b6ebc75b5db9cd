"""VPC rules (catalogue 53-56): the default security group closed, flow logs, no automatic public IPs on subnets,
and VPC endpoints for private tasks. Each weakened setting of the compliant stack fails with the rule's message."""

from __future__ import annotations

import pytest

from tests.policies.network_support import (
    DSG,
    SERVICE_URN,
    SUBNET,
    VPC_URN,
    compliant,
    replaced,
    res,
    resource_messages,
    stack_findings,
    without,
)

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
