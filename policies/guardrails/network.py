"""Network rules: security groups (public ingress, admin ports, least-privilege paths, split management),
the default security group, VPC flow logs, subnet public IPs and the VPC endpoints private tasks need.

Relationships are followed through property dependencies (what the engine sends for both preview and update),
with a fallback on literal names/ids, so a rule judges any program, not only ours.

Never waivable: `sg-no-public-ingress` and `sg-no-admin-ports`: an open port to the internet or an admin port
reachable from an address range is a direct exposure; the fix (an SG reference, SSM Session Manager) always exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails.rule import Context, Finding, Framework, Resource, Rule, Undeterminable
from guardrails.shapes import as_list, of_type

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
    matched = [g.urn for g in groups if g.urn in set(rule.property_dependencies.get(key, ()))]
    return matched[0] if matched else ""


def _source_groups(owner: Resource, key: str, groups: Sequence[Resource], values: Any) -> tuple[str, ...]:
    literal = _strings(values)
    if not literal:
        return ()
    # The engine resolves references to ids we cannot map back to URNs; dependencies are recorded per top-level
    # property, so for inline blocks they are the union over all blocks that name a group.
    urns = [g.urn for g in groups if g.urn in set(owner.property_dependencies.get(key, ()))]
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
    groups = of_type(resources, SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
    permissions: list[Permission] = []
    for resource in of_type(resources, SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE,
                            SG_EGRESS_RULE):
        permissions.extend(resource_permissions(resource, groups))
    return permissions


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


def _owner_label(permission: Permission) -> str:
    owner = permission.owner
    kind = "security group" if owner.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP) else "rule"
    return f"{kind} {owner.name or owner.urn}"


def _public_load_balancer_groups(resources: Sequence[Resource], groups: Sequence[Resource]) -> set[str]:
    found: set[str] = set()
    for lb in of_type(resources, *LOAD_BALANCERS):
        if lb.get("internal") is not True:
            found.update(g.urn for g in referenced(lb, "securityGroups", groups, name_key=""))
    return found


# --- 49 sg-no-public-ingress -------------------------------------------------------------------------------


def check_no_public_ingress(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
    public_lb_groups = _public_load_balancer_groups(resources, groups)
    allowed_ports = {int(p) for p in context.threshold("publicLoadBalancerPorts")}
    for permission in stack_permissions(resources):
        open_cidrs = [c for c in permission.cidrs if c in OPEN_CIDRS]
        if permission.direction != "ingress" or not open_cidrs:
            continue
        allowed = (permission.group in public_lb_groups and permission.protocol in TCP and permission.single_port
                   and permission.from_port in allowed_ports)
        if not allowed:
            yield Finding(
                f"{_owner_label(permission)} allows {permission.describe()}; expected no ingress from "
                f"{' or '.join(sorted(OPEN_CIDRS))} except tcp {', '.join(map(str, sorted(allowed_ports)))} on an "
                "internet-facing load balancer's security group", permission.owner.urn)


# --- 50 sg-no-admin-ports ----------------------------------------------------------------------------------


def check_no_admin_ports(resource: Resource, context: Context) -> Iterator[str]:
    admin_ports = [int(p) for p in context.threshold("adminPorts")]
    for permission in resource_permissions(resource):
        if permission.direction != "ingress" or not (permission.cidrs or permission.prefix_lists):
            continue
        exposed = [p for p in admin_ports
                   if permission.covers(p) or (p in UDP_ADMIN_PORTS and permission.covers(p, UDP))]
        if exposed:
            yield (f"{permission.describe()} opens admin port(s) {', '.join(map(str, exposed))} to address ranges; "
                   "expected no ingress on them from any CIDR (use SSM Session Manager or ECS Exec)")


# --- 51 sg-least-privilege-paths ---------------------------------------------------------------------------


def _tier_problems(permission: Permission, expected_sources: set[str], source_tier: str) -> list[str]:
    problems = []
    if permission.cidrs or permission.prefix_lists:
        problems.append("address ranges instead of a security group reference")
    if not permission.single_port:
        problems.append("more than one port")
    if expected_sources:
        strangers = [s for s in permission.source_groups if s not in expected_sources]
        if strangers:
            problems.append(f"sources other than the {source_tier} security group")
    return problems


def check_least_privilege_paths(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, SECURITY_GROUP)
    by_urn = {g.urn: g for g in groups}
    permissions = stack_permissions(resources)
    lb_groups = {g.urn for lb in of_type(resources, *LOAD_BALANCERS)
                 for g in referenced(lb, "securityGroups", groups, name_key="")}
    service_groups = {g.urn for service in of_type(resources, ECS_SERVICE)
                      for g in nested_dependencies(service, "networkConfiguration", groups)}
    db_groups = {g.urn for instance in of_type(resources, RDS_INSTANCE)
                 for g in referenced(instance, "vpcSecurityGroupIds", groups, name_key="")}
    tiers = [(service_groups - lb_groups, "service", lb_groups, "load balancer"),
             (db_groups, "database", service_groups, "service")]
    for tier_groups, tier, sources, source_tier in tiers:
        for group_urn in sorted(tier_groups):
            for permission in permissions_of(group_urn, permissions, "ingress"):
                problems = _tier_problems(permission, sources, source_tier)
                if problems:
                    yield Finding(
                        f"{tier} security group {group_label(group_urn, by_urn)}: {_owner_label(permission)} allows "
                        f"{permission.describe()} ({'; '.join(problems)}); expected one port from the {source_tier} "
                        "security group by reference", permission.owner.urn)
    for group_urn in sorted(db_groups):
        for permission in permissions_of(group_urn, permissions, "egress"):
            if set(permission.cidrs) & OPEN_CIDRS:
                yield Finding(
                    f"database security group {group_label(group_urn, by_urn)}: {_owner_label(permission)} allows "
                    f"{permission.describe()}; expected no egress to the internet from the database",
                    permission.owner.urn)


# --- 52 no-split-management-conflicts ----------------------------------------------------------------------

_ROLE_POLICY_TYPES = (IAM_ROLE_POLICY, IAM_ROLE_POLICIES_EXCLUSIVE)
_ROLE_ATTACHMENT_TYPES = (IAM_ROLE_POLICY_ATTACHMENT, IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE)


def _names(resources: Iterable[Resource]) -> str:
    return ", ".join(sorted(r.name or r.urn for r in resources))


def check_split_management(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, SECURITY_GROUP)
    rules = of_type(resources, SG_RULE, SG_INGRESS_RULE, SG_EGRESS_RULE)
    for group in groups:
        inline = [key for key in ("ingress", "egress") if key in group.props and group.props[key] is not None]
        standalone = [r for r in rules if group in referenced(r, "securityGroupId", [group], name_key="")]
        if inline and standalone:
            yield Finding(
                f"security group {group.name or group.urn} manages rules inline ({', '.join(inline)}) and through "
                f"standalone rule resources ({_names(standalone)}); expected one or the other (they overwrite each "
                "other on every update)", group.urn)
    roles = of_type(resources, IAM_ROLE)
    policies = of_type(resources, *_ROLE_POLICY_TYPES)
    attachments = of_type(resources, *_ROLE_ATTACHMENT_TYPES)
    for role in roles:
        def attached(candidates: Sequence[Resource], _role: Resource = role) -> list[Resource]:
            return [c for c in candidates if referenced(c, "role", [_role]) or referenced(c, "roleName", [_role])]

        if role.props.get("inlinePolicies") is not None and attached(policies):
            yield Finding(
                f"role {role.name or role.urn} sets inlinePolicies and has standalone role policies "
                f"({_names(attached(policies))}); expected one or the other", role.urn)
        if role.props.get("managedPolicyArns") is not None and attached(attachments):
            yield Finding(
                f"role {role.name or role.urn} sets managedPolicyArns and has standalone policy attachments "
                f"({_names(attached(attachments))}); expected one or the other", role.urn)


# --- 53 vpc-default-sg-closed ------------------------------------------------------------------------------


def check_default_sg_closed(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    defaults = of_type(resources, DEFAULT_SECURITY_GROUP)
    for vpc in of_type(resources, VPC):
        adopted = [d for d in defaults if referenced(d, "vpcId", [vpc], name_key="")]
        if not adopted:
            yield Finding("VPC has no aws.ec2.DefaultSecurityGroup; expected one with no ingress or egress (the "
                          "default group lets members talk to each other and reach the internet)", vpc.urn)
        elif len(adopted) > 1:
            yield Finding(f"VPC has {len(adopted)} DefaultSecurityGroup resources ({_names(adopted)}); expected "
                          "exactly one", vpc.urn)
    for default in defaults:
        for key in ("ingress", "egress"):
            if default.get(key):
                yield Finding(f"DefaultSecurityGroup {key} has {len(default.get(key))} rule(s); expected none",
                              default.urn)


# --- 54 vpc-flow-logs --------------------------------------------------------------------------------------


def check_flow_logs(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    flow_logs = of_type(resources, FLOW_LOG)
    traffic_types = list(context.threshold("trafficTypes"))
    for vpc in of_type(resources, VPC):
        logs = [f for f in flow_logs if referenced(f, "vpcId", [vpc], name_key="")]
        if not logs:
            yield Finding("VPC has no aws.ec2.FlowLog (vpc_id = this VPC); expected flow logs", vpc.urn)
        elif not any(f.get("trafficType") in traffic_types for f in logs):
            found = ", ".join(repr(f.get("trafficType")) for f in logs)
            yield Finding(f"VPC flow logs record trafficType {found}; expected one of {', '.join(traffic_types)}",
                          vpc.urn)


# --- 55 subnet-no-auto-public-ip ---------------------------------------------------------------------------


def check_subnet_no_auto_public_ip(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("mapPublicIpOnLaunch") is True:
        yield "mapPublicIpOnLaunch is true; expected false (load balancers and NAT gateways do not need it)"


# --- 56 vpc-endpoints-for-private-tasks --------------------------------------------------------------------


def check_endpoints_for_private_tasks(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    private_services = [s for s in of_type(resources, ECS_SERVICE)
                        if (s.get("networkConfiguration", {}) or {}).get("assignPublicIp") is not True]
    if not private_services or of_type(resources, NAT_GATEWAY):
        return
    present = [str(e.get("serviceName", "")) for e in of_type(resources, VPC_ENDPOINT)]
    missing = [svc for svc in context.threshold("requiredEndpoints")
               if not any(name.endswith(f".{svc}") for name in present)]
    if missing:
        for service in private_services:
            yield Finding(f"private tasks have no NAT gateway and no VPC endpoint for {', '.join(missing)}; "
                          "expected endpoints (or a NAT gateway) so tasks can pull images, write logs and read "
                          "secrets", service.urn)


def _rule(number: int, **kwargs: Any) -> Rule:
    kwargs.setdefault("tags", ("network", f"catalogue-{number}"))
    return Rule(**kwargs)


FSBP = "AWS Foundational Security Best Practices"
SG_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE)

POLICIES: list[Rule] = [
    _rule(
        49, name="sg-no-public-ingress",
        description="No security group admits 0.0.0.0/0 or ::/0, except an internet-facing load balancer on 443 "
                    "(and 80 to redirect).",
        enforcement="M", severity="critical", framework=Framework(FSBP, "EC2.18"),
        remediation="Replace the open CIDR with `referenced_security_group_id` (or `security_groups`) of the "
                    "calling tier; only the public load balancer's group may take tcp 443/80 from anywhere.",
        url=f"{SH_EC2_URL}#ec2-18", stack_check=check_no_public_ingress, waivable=False,
        thresholds={"publicLoadBalancerPorts": [443, 80]},
    ),
    _rule(
        50, name="sg-no-admin-ports",
        description="No ingress opens SSH or RDP (RDP over tcp or udp; all-protocol rules too) to any address "
                    "range.",
        enforcement="M", severity="critical", framework=Framework("Checkov", "CKV_AWS_24, CKV_AWS_25"),
        remediation="Remove ingress on 22/3389 (and all-ports or all-protocol rules) with a CIDR or prefix list; "
                    "reach tasks with ECS Exec and hosts with SSM Session Manager.",
        url=CHECKOV_URL, resource_types=SG_TYPES, check=check_no_admin_ports, waivable=False,
        thresholds={"adminPorts": [22, 3389]},
    ),
    _rule(
        51, name="sg-least-privilege-paths",
        description="Traffic flows load balancer to service to database by security group reference on one port, "
                    "and the database has no open egress.",
        enforcement="MP", severity="high", framework=Framework("Checkov", "CKV_AWS_382"),
        remediation="Give the service group one ingress rule (`from_port == to_port` = container port, "
                    "`referenced_security_group_id` = load balancer group) and the database group one ingress "
                    "rule (database port from the service group) and no 0.0.0.0/0 egress.",
        url=CHECKOV_URL, stack_check=check_least_privilege_paths,
    ),
    _rule(
        52, name="no-split-management-conflicts",
        description="Security group rules and role policies are managed either inline or by standalone resources, "
                    "never both.",
        enforcement="M", severity="medium", framework=Framework("Rampart deployment safety", "NET-52"),
        remediation="Drop `ingress`/`egress` from the `aws.ec2.SecurityGroup` when using `aws.vpc.SecurityGroup"
                    "IngressRule`/`EgressRule` (or the reverse); drop `inline_policies`/`managed_policy_arns` from "
                    "the role when using `aws.iam.RolePolicy`/`RolePolicyAttachment`.",
        url="https://www.pulumi.com/registry/packages/aws/api-docs/ec2/securitygroup/",
        stack_check=check_split_management,
    ),
    _rule(
        53, name="vpc-default-sg-closed",
        description="Each VPC adopts its default security group once and leaves it without rules.",
        enforcement="M", severity="high", framework=Framework(FSBP, "EC2.2"),
        remediation="Add one `aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id)` per VPC with no `ingress` or `egress`.",
        url=f"{SH_EC2_URL}#ec2-2", stack_check=check_default_sg_closed,
    ),
    _rule(
        54, name="vpc-flow-logs",
        description="Every VPC has flow logs.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "EC2.6"),
        remediation="Add an `aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type=\"ALL\", log_destination=...)` per VPC.",
        url=f"{SH_EC2_URL}#ec2-6", stack_check=check_flow_logs, thresholds={"trafficTypes": ["ALL", "REJECT"]},
    ),
    _rule(
        55, name="subnet-no-auto-public-ip",
        description="Subnets do not assign public IPs on launch.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "EC2.15"),
        remediation="Set `map_public_ip_on_launch=False` (the default).",
        url=f"{SH_EC2_URL}#ec2-15", resource_types=(SUBNET,), check=check_subnet_no_auto_public_ip,
    ),
    _rule(
        56, name="vpc-endpoints-for-private-tasks",
        description="Private tasks reach ECR, CloudWatch Logs, Secrets Manager and S3 through VPC endpoints or a "
                    "NAT gateway.",
        enforcement="A", severity="low", framework=Framework(FSBP, "EC2.55, EC2.56"),
        remediation="Add `aws.ec2.VpcEndpoint`s for ecr.api, ecr.dkr, logs, secretsmanager (Interface, private "
                    "DNS) and s3 (Gateway), or a NAT gateway.",
        url=f"{SH_EC2_URL}#ec2-55", stack_check=check_endpoints_for_private_tasks,
        thresholds={"requiredEndpoints": ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "s3"]},
    ),
]
