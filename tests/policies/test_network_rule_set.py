"""The network rules (catalogue 49-56) as a set: their enforcement matches the catalogue, the exposure rules cannot
be waived, a compliant VPC with load balancer, service and database tiers passes every rule, and each rule fails
once through the real pack."""

from __future__ import annotations

import pytest
from guardrails.rule import Resource

from tests.policies.network_support import (
    INGRESS,
    RULES,
    SERVICE_SG,
    SERVICE_URN,
    SG,
    SUBNET,
    VPC_URN,
    compliant,
    ingress,
    replaced,
    resource_messages,
    stack_findings,
    without,
)
from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import urn

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
