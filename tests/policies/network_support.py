"""What the network rule tests share (tests/policies/test_network_*.py): a compliant VPC with load balancer,
service and database tiers, ways to change one resource of it, and one rule's findings for a resource or the stack."""

from __future__ import annotations

from typing import Any

from guardrails import network
from guardrails.rule import Context, Resource, findings

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
