"""Security group rules (catalogue 49-52): no public ingress except to the load balancer's ports, no admin ports
from an address range, least-privilege paths between the tiers, and no group or role managed both inline and
through standalone resources. Each weakened setting of the compliant stack fails with the rule's message."""

from __future__ import annotations

import pytest
from guardrails import network
from guardrails.rule import Resource, Undeterminable

from tests.policies.network_support import (
    ALB_SG,
    ATTACHMENT,
    DB_SG,
    DSG,
    INGRESS,
    ROLE_URN,
    RULES,
    SERVICE_SG,
    SG,
    SG_RULE,
    compliant,
    egress,
    ingress,
    replaced,
    res,
    resource_messages,
    stack_findings,
    without,
)
from tests.support.rules import urn

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


def test_a_protocol_the_run_did_not_know_is_undeterminable_not_all_traffic():
    # Every rule shape requires a protocol: a null one is unknown, not "-1" (issue 16).
    rule = Resource(network.SG_INGRESS_RULE, {"securityGroupId": "sg-1", "cidrIpv4": "10.0.0.0/8",
                                              "fromPort": 443.0, "toPort": 443.0, "ipProtocol": None},
                    urn=urn(network.SG_INGRESS_RULE, "https"), name="https")
    with pytest.raises(Undeterminable, match="protocol"):
        resource_messages("sg-no-admin-ports", rule)
