"""Security group rules (catalogue 49-52): no public ingress but an internet-facing load balancer's, no admin
ports open to address ranges, least-privilege paths from load balancer to service to database, and rules and
role policies managed either inline or by standalone resources, never both.

Never waivable: `sg-no-public-ingress` and `sg-no-admin-ports`: an open port to the internet or an admin port
reachable from an address range is a direct exposure; the fix (an SG reference, SSM Session Manager) always exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy.proxy import UnknownValueError

from guardrails.network_model import (
    CHECKOV_URL,
    DEFAULT_SECURITY_GROUP,
    ECS_SERVICE,
    FSBP,
    IAM_ROLE,
    IAM_ROLE_POLICIES_EXCLUSIVE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
    LOAD_BALANCERS,
    OPEN_CIDRS,
    RDS_INSTANCE,
    SECURITY_GROUP,
    SG_EGRESS_RULE,
    SG_INGRESS_RULE,
    SG_RULE,
    SH_EC2_URL,
    TCP,
    UDP,
    UDP_ADMIN_PORTS,
    Permission,
    group_label,
    names_of,
    nested_dependencies,
    network_rule,
    permissions_of,
    referenced,
    resource_permissions,
    stack_permissions,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule, Undeterminable
from guardrails.shapes import as_list, of_type

SG_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE)


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
    allowed_ports = {int(p) for p in context.threshold("publicLoadBalancerPorts")}
    certain, maybe_allowed = [], []
    for permission in stack_permissions(resources):
        if permission.direction != "ingress" or not any(c in OPEN_CIDRS for c in permission.cidrs):
            continue
        exception_may_apply = (permission.protocol in TCP and permission.single_port
                               and permission.from_port in allowed_ports)
        (maybe_allowed if exception_may_apply else certain).append(permission)
    # Which groups the load balancers use matters only to the ports the exception names: in a first preview they
    # may be unknown, and a port no exception covers is a violation all the same.
    try:
        public_lb_groups = _public_load_balancer_groups(
            resources, of_type(resources, SECURITY_GROUP, DEFAULT_SECURITY_GROUP)) if maybe_allowed else set()
    except (UnknownValueError, Undeterminable):
        if not certain:
            raise
        maybe_allowed, public_lb_groups = [], set()
    for permission in certain + [p for p in maybe_allowed if p.group not in public_lb_groups]:
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


def _rules_by_group(rules: Sequence[Resource]) -> dict[str, list[Resource]]:
    """The standalone rules by the URN of each group their securityGroupId depends on, in stack order: one pass
    over the rules instead of one per group (50 services: 54 groups x 700 rules)."""
    by_group: dict[str, list[Resource]] = {}
    for rule in rules:
        # The read `referenced` made of every rule: an unknown securityGroupId still stops the check here.
        as_list(rule.get("securityGroupId"))
        for urn in set(rule.property_dependencies.get("securityGroupId", ())):
            by_group.setdefault(urn, []).append(rule)
    return by_group


def check_split_management(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    groups = of_type(resources, SECURITY_GROUP)
    rules = of_type(resources, SG_RULE, SG_INGRESS_RULE, SG_EGRESS_RULE)
    rules_by_group: dict[str, list[Resource]] | None = None
    for group in groups:
        inline = [key for key in ("ingress", "egress") if key in group.props and group.props[key] is not None]
        if rules_by_group is None:  # after the first group's own reads, where the rules were read before
            rules_by_group = _rules_by_group(rules)
        standalone = rules_by_group.get(group.urn, [])
        if inline and standalone:
            yield Finding(
                f"security group {group.name or group.urn} manages rules inline ({', '.join(inline)}) and through "
                f"standalone rule resources ({names_of(standalone)}); expected one or the other (they overwrite each "
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
                f"({names_of(attached(policies))}); expected one or the other", role.urn)
        if role.props.get("managedPolicyArns") is not None and attached(attachments):
            yield Finding(
                f"role {role.name or role.urn} sets managedPolicyArns and has standalone policy attachments "
                f"({names_of(attached(attachments))}); expected one or the other", role.urn)


RULES: list[Rule] = [
    network_rule(
        49, name="sg-no-public-ingress",
        description="No security group admits 0.0.0.0/0 or ::/0, except an internet-facing load balancer on 443 "
                    "(and 80 to redirect).",
        enforcement="M", severity="critical", framework=Framework(FSBP, "EC2.18"),
        remediation="Replace the open CIDR with `referenced_security_group_id` (or `security_groups`) of the "
                    "calling tier; only the public load balancer's group may take tcp 443/80 from anywhere.",
        url=f"{SH_EC2_URL}#ec2-18", stack_check=check_no_public_ingress, waivable=False,
        thresholds={"publicLoadBalancerPorts": [443, 80]},
    ),
    network_rule(
        50, name="sg-no-admin-ports",
        description="No ingress opens SSH or RDP (RDP over tcp or udp; all-protocol rules too) to any address "
                    "range.",
        enforcement="M", severity="critical", framework=Framework("Checkov", "CKV_AWS_24, CKV_AWS_25"),
        remediation="Remove ingress on 22/3389 (and all-ports or all-protocol rules) with a CIDR or prefix list; "
                    "reach tasks with ECS Exec and hosts with SSM Session Manager.",
        url=CHECKOV_URL, resource_types=SG_TYPES, check=check_no_admin_ports, waivable=False,
        thresholds={"adminPorts": [22, 3389]},
    ),
    network_rule(
        51, name="sg-least-privilege-paths",
        description="Traffic flows load balancer to service to database by security group reference on one port, "
                    "and the database has no open egress.",
        enforcement="MP", severity="high", framework=Framework("Checkov", "CKV_AWS_382"),
        remediation="Give the service group one ingress rule (`from_port == to_port` = container port, "
                    "`referenced_security_group_id` = load balancer group) and the database group one ingress "
                    "rule (database port from the service group) and no 0.0.0.0/0 egress.",
        url=CHECKOV_URL, stack_check=check_least_privilege_paths,
    ),
    network_rule(
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
]
