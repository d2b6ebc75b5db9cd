"""Network rules: security groups (public ingress, admin ports, least-privilege paths, split management),
the default security group, VPC flow logs, subnet public IPs and the VPC endpoints private tasks need.

Relationships are followed through property dependencies (what the engine sends for both preview and update),
with a fallback on literal names/ids, so a rule judges any program, not only ours.

Never waivable: `sg-no-public-ingress` and `sg-no-admin-ports`: an open port to the internet or an admin port
reachable from an address range is a direct exposure; the fix (an SG reference, SSM Session Manager) always exists.

The rules live by concern: security groups in guardrails.network_security_groups (49-52), the VPC in
guardrails.network_vpc (53-56), and what both read (type tokens, relationships, security group permissions,
public subnets) in guardrails.network_model. This module is the group the pack and the rule catalogue read
(`POLICIES`, in catalogue order) and keeps the names other groups import from it.
"""

from __future__ import annotations

from guardrails import network_security_groups, network_vpc
from guardrails.network_model import (
    SECURITY_GROUP,
    SG_INGRESS_RULE,
    SUBNET,
    nested_dependencies,
    permissions_of,
    public_subnets,
    referenced,
    stack_permissions,
)
from guardrails.rule import Rule

# What the ALB, Backup and RDS rules (and the tests) import from guardrails.network.
__all__ = [
    "POLICIES",
    "SECURITY_GROUP",
    "SG_INGRESS_RULE",
    "SUBNET",
    "nested_dependencies",
    "permissions_of",
    "public_subnets",
    "referenced",
    "stack_permissions",
]

POLICIES: list[Rule] = [*network_security_groups.RULES, *network_vpc.RULES]
