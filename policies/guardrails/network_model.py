"""What the network rules read: the type tokens of the network group, relationships between resources, the
ingress and egress permissions security groups declare (inline or as rule resources), and which subnets are
public. Shared by the security group and VPC rules, and by the ALB, RDS and Backup rules.

Relationships are followed through property dependencies (what the engine sends for both preview and update),
with a fallback on literal names/ids, so a rule judges any program, not only ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails.rule import Resource, Rule, Undeterminable
from guardrails.shapes import as_list, of_type
from guardrails.stack_index import for_stack

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ECS_SERVICE = "aws:ecs/service:Service"
RDS_INSTANCE = "aws:rds/instance:Instance"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_ROLE_POLICIES_EXCLUSIVE = "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive"
IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"

OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
ALL_PROTOCOLS = frozenset({"-1", "all"})
TCP = frozenset({"tcp", "6"})
UDP = frozenset({"udp", "17"})
# RDP also runs over udp/3389 (its UDP transport); SSH is tcp only, so udp/22 is no admin path.
UDP_ADMIN_PORTS = frozenset({3389})

SH_EC2_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html"
CHECKOV_URL = "https://www.checkov.io/5.Policy%20Index/terraform.html"


# --- relationships ------------------------------------------------------------------------------------------


def referenced(resource: Resource, key: str, candidates: Sequence[Resource], name_key: str = "name") -> list[Resource]:
    """The candidates `resource.<key>` points at: through the property's dependencies (how the engine
    relates outputs to inputs), or by a literal value equal to the candidate's `name_key` prop."""
    dependency_urns = set(resource.property_dependencies.get(key, ()))
    values = {v for v in as_list(resource.get(key)) if isinstance(v, str) and v}
    found = []
    for candidate in candidates:
        by_name = bool(name_key) and isinstance(candidate.get(name_key), str) and candidate.get(name_key) in values
        if candidate.urn in dependency_urns or by_name:
            found.append(candidate)
    return found


def nested_dependencies(resource: Resource, key: str, candidates: Sequence[Resource]) -> list[Resource]:
    """Candidates a nested block (e.g. `networkConfiguration`) depends on: the engine records dependencies per
    top-level property only, so filter them by the candidates' type."""
    dependency_urns = set(resource.property_dependencies.get(key, ()))
    return [c for c in candidates if c.urn in dependency_urns]


# --- security group permissions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """One ingress or egress permission, whichever resource declares it."""

    direction: str
    """"ingress" or "egress"."""
    group: str
    """URN of the security group in this stack it belongs to ("" when the group is not in the stack)."""
    owner: Resource
    """The resource declaring it (the group itself for inline blocks, else the rule resource)."""
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]
    prefix_lists: tuple[str, ...]
    source_groups: tuple[str, ...]
    """Referenced security groups: URNs when in the stack, else the literal id; "self" for self rules."""

    @property
    def all_ports(self) -> bool:
        return self.protocol in ALL_PROTOCOLS

    def covers(self, port: int, protocols: frozenset[str] = TCP) -> bool:
        if self.all_ports:
            return True
        return self.protocol in protocols and self.from_port <= port <= self.to_port

    @property
    def single_port(self) -> bool:
        return not self.all_ports and self.from_port == self.to_port

    def describe(self) -> str:
        ports = "all ports" if self.all_ports else (
            f"port {self.from_port}" if self.single_port else f"ports {self.from_port}-{self.to_port}")
        sources = [*self.cidrs, *self.prefix_lists, *(s.rsplit("::", 1)[-1] for s in self.source_groups)]
        where = "from" if self.direction == "ingress" else "to"
        return f"{self.direction} {self.protocol} {ports} {where} {', '.join(sources) or 'nowhere'}"


def _port(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _protocol(value: Any, owner: Resource) -> str:
    # Every rule shape requires a protocol: a null one was computed from something this run did not know, and
    # reading it as "-1" (all traffic) would report ports the program never opened.
    if value is None:
        raise Undeterminable(f"{owner.name or owner.urn}: a rule's protocol")
    return str(value).lower()


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in as_list(value) if isinstance(v, str) and v)


def _group_key(rule: Resource, groups: Sequence[Resource], key: str) -> str:
    dependencies = set(rule.property_dependencies.get(key, ()))
    return next((g.urn for g in groups if g.urn in dependencies), "")


def _source_groups(owner: Resource, key: str, groups: Sequence[Resource], values: Any) -> tuple[str, ...]:
    literal = _strings(values)
    if not literal:
        return ()
    # The engine resolves references to ids we cannot map back to URNs; dependencies are recorded per top-level
    # property, so for inline blocks they are the union over all blocks that name a group.
    dependencies = set(owner.property_dependencies.get(key, ()))
    urns = [g.urn for g in groups if g.urn in dependencies]
    return tuple(urns) if urns else literal


def inline_permissions(group: Resource, groups: Sequence[Resource] = ()) -> list[Permission]:
    permissions = []
    for direction in ("ingress", "egress"):
        for block in as_list(group.get(direction)):
            if not isinstance(block, Mapping):
                continue
            sources = _source_groups(group, direction, groups, block.get("securityGroups"))
            if block.get("self") is True:
                sources = (*sources, "self")
            permissions.append(Permission(
                direction=direction, group=group.urn, owner=group, protocol=_protocol(block.get("protocol"), group),
                from_port=_port(block.get("fromPort")), to_port=_port(block.get("toPort")),
                cidrs=_strings(block.get("cidrBlocks")) + _strings(block.get("ipv6CidrBlocks")),
                prefix_lists=_strings(block.get("prefixListIds")), source_groups=sources,
            ))
    return permissions


def rule_permission(rule: Resource, groups: Sequence[Resource] = ()) -> Permission | None:
    """The permission a standalone rule resource declares (None for a type that declares none)."""
    if rule.type == SG_RULE:
        sources = _source_groups(rule, "sourceSecurityGroupId", groups, rule.get("sourceSecurityGroupId"))
        if rule.get("self") is True:
            sources = (*sources, "self")
        return Permission(
            direction=str(rule.get("type", "ingress")), group=_group_key(rule, groups, "securityGroupId"),
            owner=rule, protocol=_protocol(rule.get("protocol"), rule), from_port=_port(rule.get("fromPort")),
            to_port=_port(rule.get("toPort")),
            cidrs=_strings(rule.get("cidrBlocks")) + _strings(rule.get("ipv6CidrBlocks")),
            prefix_lists=_strings(rule.get("prefixListIds")), source_groups=sources,
        )
    if rule.type in (SG_INGRESS_RULE, SG_EGRESS_RULE):
        protocol = _protocol(rule.get("ipProtocol"), rule)
        from_port, to_port = _port(rule.get("fromPort")), _port(rule.get("toPort"))
        return Permission(
            direction="ingress" if rule.type == SG_INGRESS_RULE else "egress",
            group=_group_key(rule, groups, "securityGroupId"), owner=rule, protocol=protocol,
            from_port=from_port, to_port=to_port,
            cidrs=_strings(rule.get("cidrIpv4")) + _strings(rule.get("cidrIpv6")),
            prefix_lists=_strings(rule.get("prefixListId")),
            source_groups=_source_groups(rule, "referencedSecurityGroupId", groups,
                                         rule.get("referencedSecurityGroupId")),
        )
    return None


def resource_permissions(resource: Resource, groups: Sequence[Resource] = ()) -> list[Permission]:
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return inline_permissions(resource, groups)
    permission = rule_permission(resource, groups)
    return [permission] if permission else []


def stack_permissions(resources: Sequence[Resource]) -> list[Permission]:
    """Every permission the stack declares. Three rules ask it of one stack: computed once per stack index (an
    Undeterminable or unknown read is not remembered: each asking rule meets it again, as before)."""
    return list(for_stack(resources).memo("stack_permissions", lambda: _stack_permissions(resources)))


def _stack_permissions(resources: Sequence[Resource]) -> tuple[Permission, ...]:
    groups = of_type(resources, SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
    permissions: list[Permission] = []
    for resource in of_type(resources, SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE,
                            SG_EGRESS_RULE):
        permissions.extend(resource_permissions(resource, groups))
    return tuple(permissions)


def permissions_of(group_urn: str, permissions: Sequence[Permission], direction: str) -> list[Permission]:
    return [p for p in permissions if p.group == group_urn and p.direction == direction]


# --- subnets -----------------------------------------------------------------------------------------------


def public_subnets(resources: Sequence[Resource]) -> set[str]:
    """URNs of subnets that are public: auto-assigned public IPs, or routed to an internet gateway."""
    gateways = of_type(resources, INTERNET_GATEWAY)
    tables = of_type(resources, ROUTE_TABLE)
    public_tables = {t.urn for t in tables if nested_dependencies(t, "routes", gateways)}
    for route in of_type(resources, ROUTE):
        if referenced(route, "gatewayId", gateways, name_key=""):
            public_tables.update(t.urn for t in referenced(route, "routeTableId", tables, name_key=""))
    subnets = of_type(resources, SUBNET)
    public = {s.urn for s in subnets if s.get("mapPublicIpOnLaunch") is True}
    for association in of_type(resources, ROUTE_TABLE_ASSOCIATION):
        if {t.urn for t in referenced(association, "routeTableId", tables, name_key="")} & public_tables:
            public.update(s.urn for s in referenced(association, "subnetId", subnets, name_key=""))
    return public


def group_label(group_urn: str, groups_by_urn: Mapping[str, Resource]) -> str:
    group = groups_by_urn.get(group_urn)
    return (group.name or group.urn) if group is not None else (group_urn or "a security group outside the stack")


def names_of(resources: Iterable[Resource]) -> str:
    return ", ".join(sorted(r.name or r.urn for r in resources))


def network_rule(number: int, **kwargs: Any) -> Rule:
    kwargs.setdefault("tags", ("network", f"catalogue-{number}"))
    return Rule(**kwargs)


FSBP = "AWS Foundational Security Best Practices"
