"""Load balancer rules (catalogue 40-48): compliant baselines pass; each weakened field fails with the rule's
message; each rule once through the real pack (and the aws:alb aliases)."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import alb
from guardrails.rule import Context, Resource, Undeterminable

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import DROP, changed, resource_messages, rule_context, urn
from tests.support.rules import stack_findings as support_stack_findings

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TG = "aws:lb/targetGroup:TargetGroup"
WAF = "aws:wafv2/webAclAssociation:WebAclAssociation"
DG = "aws:codedeploy/deploymentGroup:DeploymentGroup"

LB_BASE: dict[str, Any] = {
    "loadBalancerType": "application",
    "internal": False,
    "subnets": ["subnet-a", "subnet-b"],
    "securityGroups": ["sg-alb"],
    "accessLogs": {"bucket": "rampart-alb-logs", "enabled": True, "prefix": "web"},
    "dropInvalidHeaderFields": True,
    "desyncMitigationMode": "strictest",
    "enableDeletionProtection": True,
}
HTTPS: dict[str, Any] = {
    "loadBalancerArn": "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/web/1",
    "port": 443.0,
    "protocol": "HTTPS",
    "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "certificateArn": "arn:aws:acm:eu-west-1:111111111111:certificate/0b1f6a3e",
    "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=31536000; includeSubDomains",
    "defaultActions": [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:tg/blue"}],
}
HTTP_REDIRECT: dict[str, Any] = {
    "loadBalancerArn": HTTPS["loadBalancerArn"],
    "port": 80.0,
    "protocol": "HTTP",
    "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                         "statusCode": "HTTP_301"}}],
}
TG_BASE: dict[str, Any] = {
    "port": 8080.0,
    "protocol": "HTTP",
    "targetType": "ip",
    "vpcId": "vpc-1",
    "healthCheck": {"enabled": True, "path": "/health", "matcher": "200", "interval": 15.0,
                    "healthyThreshold": 2.0, "unhealthyThreshold": 3.0, "timeout": 5.0},
}

RULES = {rule.name: rule for rule in alb.POLICIES}


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def messages(rule_name: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    return resource_messages(RULES[rule_name], type_token, props, **config)


LB_URN = urn(LB, "web")
BLUE_URN = urn(TG, "blue")
GREEN_URN = urn(TG, "green")
DG_URN = urn(DG, "deploy")


def stack(*, lb: dict[str, Any] | None = None, waf: bool = True, green: dict[str, Any] | None = None,
          dg_deps: bool = True) -> list[Resource]:
    resources = [
        Resource(LB, LB_BASE if lb is None else lb, urn=LB_URN, name="web"),
        Resource(TG, {**TG_BASE, "name": "web-blue"}, urn=BLUE_URN, name="blue"),
        Resource(TG, {**(TG_BASE if green is None else green), "name": "web-green"}, urn=GREEN_URN, name="green"),
        Resource(DG, {"loadBalancerInfo": {"targetGroupPairInfo": {
            "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
            "prodTrafficRoute": {"listenerArns": ["arn:listener/443"]}}}},
            urn=DG_URN, name="deploy",
            property_dependencies={"loadBalancerInfo": (BLUE_URN, GREEN_URN)} if dg_deps else {}),
    ]
    if waf:
        resources.append(Resource(WAF, {"resourceArn": "arn:lb", "webAclArn": "arn:acl"}, urn=urn(WAF, "web-waf"),
                                  name="web-waf", property_dependencies={"resourceArn": (LB_URN,)}))
    return resources


def stack_findings(rule_name: str, resources: list[Resource], **config: Any):
    return support_stack_findings(RULES[rule_name], resources, **config)


# --- metadata ------------------------------------------------------------------------------------------------

CATALOGUE = {
    "alb-access-logs": "M", "alb-http-hardening": "M", "alb-deletion-protection": "MP", "alb-waf-association": "MP",
    "alb-multi-az": "M", "alb-http-redirect-only": "M",
    "alb-listener-rules-https-only": "M", "alb-listener-tls-policy": "M", "alb-listener-cert-hsts": "A",
    "lb-target-group-health-check": "M",
}


def test_rules_match_the_catalogue():
    assert {name: rule.enforcement for name, rule in RULES.items()} == CATALOGUE


def test_resource_rules_cover_the_alb_aliases():
    for rule in RULES.values():
        for token in rule.resource_types:
            assert token.replace("aws:lb/", "aws:alb/") in rule.resource_types


def test_every_rule_names_a_reference_and_a_remediation():
    for rule in RULES.values():
        assert rule.url.startswith("https://") and rule.remediation and rule.description.endswith(".")


# --- resource rules ----------------------------------------------------------------------------------------

BASELINES = [
    ("alb-access-logs", LB, LB_BASE), ("alb-http-hardening", LB, LB_BASE), ("alb-deletion-protection", LB, LB_BASE),
    ("alb-multi-az", LB, LB_BASE), ("alb-http-redirect-only", LISTENER, HTTPS),
    ("alb-http-redirect-only", LISTENER, HTTP_REDIRECT), ("alb-listener-tls-policy", LISTENER, HTTPS),
    ("alb-listener-tls-policy", LISTENER, HTTP_REDIRECT), ("alb-listener-cert-hsts", LISTENER, HTTPS),
    ("alb-listener-cert-hsts", LISTENER, HTTP_REDIRECT),
]


@pytest.mark.parametrize(("name", "type_token", "props"), BASELINES)
def test_compliant_resource_passes(name, type_token, props):
    assert messages(name, type_token, props) == []


REDIRECT_TO_HTTP = [{"type": "redirect", "redirect": {"protocol": "HTTP", "port": "8080", "statusCode": "HTTP_301"}}]
TEMPORARY_REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                        "statusCode": "HTTP_302"}}]
FLIPS = [
    ("alb-access-logs", LB, LB_BASE, {"accessLogs": DROP},
     "accessLogs.enabled is not set (provider default false); expected true"),
    ("alb-access-logs", LB, LB_BASE, {"accessLogs": {"bucket": "b", "enabled": False}}, "accessLogs.enabled is False"),
    ("alb-access-logs", LB, LB_BASE, {"accessLogs": {"enabled": True}}, "accessLogs.bucket is not set"),
    ("alb-http-hardening", LB, LB_BASE, {"dropInvalidHeaderFields": DROP},
     "dropInvalidHeaderFields is not set; expected true"),
    ("alb-http-hardening", LB, LB_BASE, {"dropInvalidHeaderFields": False}, "dropInvalidHeaderFields is False"),
    ("alb-http-hardening", LB, LB_BASE, {"desyncMitigationMode": "monitor"}, "desyncMitigationMode is 'monitor'"),
    ("alb-deletion-protection", LB, LB_BASE, {"enableDeletionProtection": DROP},
     "enableDeletionProtection is not set; expected true"),
    ("alb-deletion-protection", LB, LB_BASE, {"enableDeletionProtection": False}, "enableDeletionProtection is False"),
    ("alb-multi-az", LB, LB_BASE, {"subnets": ["subnet-a"]}, "name 1 subnet(s); expected subnets in at least 2"),
    ("alb-multi-az", LB, LB_BASE, {"subnets": ["subnet-a", "subnet-a"]}, "name 1 subnet(s)"),
    ("alb-multi-az", LB, LB_BASE, {"subnets": DROP, "subnetMappings": [{"subnetId": "subnet-a"}]}, "name 1 subnet"),
    ("alb-http-redirect-only", LISTENER, HTTP_REDIRECT, {"defaultActions": HTTPS["defaultActions"]},
     "protocol is HTTP with defaultActions [forward]"),
    ("alb-http-redirect-only", LISTENER, HTTP_REDIRECT, {"defaultActions": REDIRECT_TO_HTTP}, "protocol is HTTP"),
    ("alb-http-redirect-only", LISTENER, HTTP_REDIRECT, {"defaultActions": TEMPORARY_REDIRECT}, "HTTP_301"),
    ("alb-http-redirect-only", LISTENER, HTTPS, {"protocol": DROP}, "protocol is HTTP with defaultActions [forward]"),
    ("alb-listener-tls-policy", LISTENER, HTTPS, {"sslPolicy": DROP}, "sslPolicy is not set (the provider default"),
    ("alb-listener-tls-policy", LISTENER, HTTPS, {"sslPolicy": "ELBSecurityPolicy-2016-08"},
     "sslPolicy is ELBSecurityPolicy-2016-08; expected one of ELBSecurityPolicy-TLS13-1-3-2021-06"),
    ("alb-listener-tls-policy", LISTENER, HTTPS, {"sslPolicy": "ELBSecurityPolicy-TLS13-1-0-2021-06"}, "expected"),
    ("alb-listener-tls-policy", LISTENER, HTTPS, {"protocol": "TLS", "sslPolicy": "ELBSecurityPolicy-TLS-1-1-2017-01"},
     "sslPolicy is ELBSecurityPolicy-TLS-1-1-2017-01"),
    ("alb-listener-cert-hsts", LISTENER, HTTPS, {"certificateArn": DROP},
     "certificateArn is not set; expected an ACM certificate"),
    ("alb-listener-cert-hsts", LISTENER, HTTPS,
     {"certificateArn": "arn:aws:iam::111111111111:server-certificate/web"}, "expected an ACM certificate"),
    ("alb-listener-cert-hsts", LISTENER, HTTPS, {"routingHttpResponseStrictTransportSecurityHeaderValue": DROP},
     "routingHttpResponseStrictTransportSecurityHeaderValue is not set; expected an HSTS header"),
    ("alb-listener-cert-hsts", LISTENER, HTTPS,
     {"routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=300"}, "max-age of at least 31536000"),
]


@pytest.mark.parametrize("change", [{"subnets": [None, None]},
                                    {"subnets": DROP, "subnetMappings": [{"subnetId": None}]}])
def test_subnets_the_run_did_not_know_are_undeterminable_not_a_violation(change):
    # Null subnet ids come from an unset config value or a lookup: not "1 subnet" (issue 16).
    with pytest.raises(Undeterminable, match="subnet"):
        messages("alb-multi-az", LB, changed(LB_BASE, **change))


@pytest.mark.parametrize(("name", "type_token", "base", "change", "expected"), FLIPS,
                         ids=[f"{f[0]}-{'-'.join(f[3])}" for f in FLIPS])
def test_weakened_field_fails(name, type_token, base, change, expected):
    found = messages(name, type_token, changed(base, **change))
    assert any(expected in m for m in found), found


def test_http_features_are_not_demanded_of_network_load_balancers():
    nlb = changed(LB_BASE, loadBalancerType="network", accessLogs=DROP, dropInvalidHeaderFields=DROP)
    assert messages("alb-access-logs", LB, nlb) == []
    assert messages("alb-http-hardening", LB, nlb) == []
    assert messages("alb-deletion-protection", LB, changed(nlb, enableDeletionProtection=False))


def test_gateway_listener_without_port_or_protocol_is_not_http():
    gateway = {"loadBalancerArn": "arn:gwlb", "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}
    assert messages("alb-http-redirect-only", LISTENER, gateway) == []
    assert messages("alb-http-redirect-only", LISTENER, {**gateway, "port": 80.0})


def test_tls_allowlist_and_hsts_floor_are_configurable():
    legacy = changed(HTTPS, sslPolicy="ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06")
    assert messages("alb-listener-tls-policy", LISTENER, legacy)
    assert messages("alb-listener-tls-policy", LISTENER, legacy,
                    allowedSslPolicies=["ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"]) == []
    short = changed(HTTPS, routingHttpResponseStrictTransportSecurityHeaderValue="max-age=86400")
    assert messages("alb-listener-cert-hsts", LISTENER, short, minHstsMaxAgeSeconds=3600) == []
    assert messages("alb-multi-az", LB, LB_BASE, minAvailabilityZones=3)


# --- stack rules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alb-waf-association", "lb-target-group-health-check"])
def test_compliant_stack_passes(name):
    assert stack_findings(name, stack()) == []


def test_internet_facing_alb_without_waf_fails_on_the_load_balancer():
    [finding] = stack_findings("alb-waf-association", stack(waf=False))
    assert finding.urn == LB_URN and "has no aws.wafv2.WebAclAssociation" in finding.message


def test_internal_alb_needs_no_waf():
    assert stack_findings("alb-waf-association", stack(lb=changed(LB_BASE, internal=True), waf=False)) == []


def test_waf_association_for_another_resource_does_not_count():
    resources = [r if r.type != WAF else Resource(WAF, r.props, urn=r.urn, name=r.name) for r in stack()]
    assert stack_findings("alb-waf-association", resources)


@pytest.mark.parametrize(
    ("green", "expected"),
    [
        (changed(TG_BASE, healthCheck=DROP), "healthCheck is not set"),
        (changed(TG_BASE, healthCheck={**TG_BASE["healthCheck"], "enabled": False}), "healthCheck.enabled is false"),
        (changed(TG_BASE, healthCheck={"enabled": True, "matcher": "200"}), "healthCheck.path is not set"),
        (changed(TG_BASE, healthCheck={"enabled": True, "path": "/health"}), "healthCheck.matcher is not set"),
        (changed(TG_BASE, targetType="instance"), "targetType is 'instance'; expected 'ip'"),
        (changed(TG_BASE, targetType=DROP), "targetType is 'instance'; expected 'ip'"),
        (changed(TG_BASE, healthCheck={**TG_BASE["healthCheck"], "path": "/"}),
         "differ (healthCheck.path: '/health' vs '/')"),
        (changed(TG_BASE, port=8081.0), "differ (port: 8080.0 vs 8081.0)"),
        (changed(TG_BASE, healthCheck={k: v for k, v in TG_BASE["healthCheck"].items() if k != "interval"}),
         "differ (healthCheck.interval: 15.0 vs not set)"),
    ],
)
def test_target_group_weakened_fails(green, expected):
    found = [f.message for f in stack_findings("lb-target-group-health-check", stack(green=green))]
    assert any(expected in m for m in found), found


def test_blue_green_pair_is_found_by_name_without_dependencies():
    differing = changed(TG_BASE, port=8081.0)
    found = stack_findings("lb-target-group-health-check", stack(green=differing, dg_deps=False))
    assert [f.urn for f in found] == [GREEN_URN]


# --- through the real pack -----------------------------------------------------------------------------------

BROKEN_LB = changed(LB_BASE, accessLogs=DROP, dropInvalidHeaderFields=False, enableDeletionProtection=False,
                    subnets=["subnet-a"])
BROKEN_LISTENER = changed(HTTPS, sslPolicy="ELBSecurityPolicy-2016-08", certificateArn=DROP)
BROKEN_HTTP = changed(HTTP_REDIRECT, defaultActions=HTTPS["defaultActions"])


def _registrations(resources: list[Resource]):
    return [registration(r.type, r.props, name=r.name, urn=r.urn, property_dependencies=r.property_dependencies)
            for r in resources]


@pytest.fixture(scope="module")
def analyzed(policy_pack):
    results = {}
    for alias in ("lb", "alb"):
        lb_type, listener_type = LB.replace("aws:lb/", f"aws:{alias}/"), LISTENER.replace("aws:lb/", f"aws:{alias}/")
        results[alias] = {
            "pass": [*analyze(policy_pack, lb_type, LB_BASE), *analyze(policy_pack, listener_type, HTTPS),
                     *analyze(policy_pack, listener_type, HTTP_REDIRECT)],
            "fail": [*analyze(policy_pack, lb_type, BROKEN_LB), *analyze(policy_pack, listener_type, BROKEN_LISTENER),
                     *analyze(policy_pack, listener_type, BROKEN_HTTP)],
        }
    broken = stack(waf=False, green=changed(TG_BASE, healthCheck=DROP))
    results["stack-pass"] = analyze_stack(policy_pack, _registrations(stack()))
    results["stack-fail"] = analyze_stack(policy_pack, _registrations(broken))
    return results


@pytest.mark.parametrize("alias", ["lb", "alb"])
@pytest.mark.parametrize("name", [n for n, r in RULES.items() if r.check is not None])
def test_resource_rule_through_the_pack(analyzed, name, alias):
    assert not [d for d in analyzed[alias]["pass"] if d.policy == name]
    assert [d for d in analyzed[alias]["fail"] if d.policy == name]


@pytest.mark.parametrize(("name", "urn_"),
                         [("alb-waf-association", LB_URN), ("lb-target-group-health-check", GREEN_URN)])
def test_stack_rule_through_the_pack(analyzed, name, urn_):
    assert not [d for d in analyzed["stack-pass"] if d.policy == name]
    assert [d for d in analyzed["stack-fail"] if d.policy == name and d.urn == urn_]


def test_tls_allowlist_from_the_pack_config(policy_pack):
    config = {"alb-listener-tls-policy": {"allowedSslPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}}
    diags = analyze(policy_pack, LISTENER, HTTPS, config=config)
    [message] = [d.message for d in diags if d.policy == "alb-listener-tls-policy"]
    assert message.endswith("sslPolicy is ELBSecurityPolicy-TLS13-1-2-2021-06; expected one of "
                            "ELBSecurityPolicy-TLS13-1-3-2021-06")
