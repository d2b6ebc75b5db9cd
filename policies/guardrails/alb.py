"""Load balancer rules (catalogue 40-48): access logs, HTTP hardening, deletion protection, WAF, zones,
HTTPS-only listeners with a modern TLS policy, ACM certificates and HSTS, and target group health checks
(blue and green target groups of a CodeDeploy deployment group must be interchangeable).

Every rule covers both the `aws:lb/...` tokens and their `aws:alb/...` aliases. Rules about HTTP features
(access logs, header hardening, WAF) apply to application load balancers only (`loadBalancerType` unset or
"application").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.network import nested_dependencies, referenced
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import as_list, known_items, of_type

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
WAF_ASSOCIATIONS = ("aws:wafv2/webAclAssociation:WebAclAssociation",
                    "aws:wafregional/webAclAssociation:WebAclAssociation")
DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"

FSBP = "AWS Foundational Security Best Practices"
SH_ELB_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html"

# TLS 1.2 or 1.3 only, forward-secret ciphers only (no CBC "Ext" variants).
TLS_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
]
SECURE_PROTOCOLS = frozenset({"HTTPS", "TLS"})
# Health check fields and target group settings that must match between blue and green.
TWIN_FIELDS = ("port", "protocol", "protocolVersion", "targetType")


def is_application(lb: Resource) -> bool:
    return lb.get("loadBalancerType", "application") == "application"


def _protocol(listener: Resource) -> str:
    # The provider's default for a listener without a protocol is HTTP (application load balancers).
    return str(listener.get("protocol", "HTTP")).upper()


def _subnet_count(lb: Resource) -> int:
    subnets = {s for s in known_items(lb.get("subnets"), "a subnets entry") if s}
    mappings = [m for m in as_list(lb.get("subnetMappings")) if isinstance(m, Mapping)]
    subnets |= {s for s in known_items([m.get("subnetId") for m in mappings], "a subnetMappings.subnetId") if s}
    return len(subnets)


# --- load balancers ----------------------------------------------------------------------------------------


def check_access_logs(resource: Resource, context: Context) -> Iterator[str]:
    if not is_application(resource):
        return
    logs = resource.get("accessLogs", {}) or {}
    if logs.get("enabled") is not True:
        yield f"accessLogs.enabled is {shown(logs.get('enabled'))} (provider default false); expected true"
    if not logs.get("bucket"):
        yield "accessLogs.bucket is not set; expected the stack's access log bucket"


def check_http_hardening(resource: Resource, context: Context) -> Iterator[str]:
    if not is_application(resource):
        return
    if resource.get("dropInvalidHeaderFields") is not True:
        yield (f"dropInvalidHeaderFields is {shown(resource.get('dropInvalidHeaderFields'))}; expected true "
               "(drop headers that are not valid HTTP before they reach targets)")
    mode = resource.get("desyncMitigationMode", "defensive")
    if mode not in ("defensive", "strictest"):
        yield f"desyncMitigationMode is {mode!r}; expected defensive or strictest"


def check_deletion_protection(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("enableDeletionProtection") is not True:
        yield f"enableDeletionProtection is {shown(resource.get('enableDeletionProtection'))}; expected true"


def check_multi_az(resource: Resource, context: Context) -> Iterator[str]:
    # A load balancer takes at most one subnet per zone (the API refuses two in one zone), so distinct
    # subnets count zones.
    required = int(context.threshold("minAvailabilityZones"))
    count = _subnet_count(resource)
    if count < required:
        yield (f"subnets/subnetMappings name {count} subnet(s); expected subnets in at least {required} "
               "availability zones")


def check_waf_association(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    load_balancers = of_type(resources, *LOAD_BALANCERS)
    protected: set[str] = set()
    for association in of_type(resources, *WAF_ASSOCIATIONS):
        protected.update(lb.urn for lb in referenced(association, "resourceArn", load_balancers, name_key=""))
    for lb in load_balancers:
        if is_application(lb) and lb.get("internal") is not True and lb.urn not in protected:
            yield Finding("internet-facing application load balancer has no aws.wafv2.WebAclAssociation "
                          "(resourceArn = this load balancer's arn); expected a web ACL in front of it", lb.urn)


# --- listeners ---------------------------------------------------------------------------------------------


def _is_https_redirect(action: Any) -> bool:
    if not isinstance(action, Mapping) or action.get("type") != "redirect":
        return False
    redirect = action.get("redirect", {}) or {}
    return str(redirect.get("protocol", "")).upper() == "HTTPS" and redirect.get("statusCode") == "HTTP_301"


def check_http_redirect_only(resource: Resource, context: Context) -> Iterator[str]:
    if _protocol(resource) != "HTTP":
        return
    if resource.get("protocol") is None and resource.get("port") is None:
        return  # a gateway load balancer listener: neither port nor protocol, no HTTP at all
    actions = resource.get("defaultActions", []) or []
    if not actions or not all(_is_https_redirect(a) for a in actions):
        kinds = ", ".join(str(a.get("type")) for a in actions if isinstance(a, Mapping)) or "none"
        yield (f"protocol is HTTP with defaultActions [{kinds}]; expected HTTPS, or an HTTP listener whose only "
               "action redirects to HTTPS with statusCode HTTP_301")


def check_listener_rules_on_http(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    """A rule on an HTTP listener serves plain HTTP for whatever it matches, however the listener's own default
    action redirects: each of its actions must redirect to HTTPS too."""
    listeners = of_type(resources, *LISTENERS)
    for rule in of_type(resources, *LISTENER_RULES):
        # By dependency only: a listener's ARN is unknown until it exists, and reading it would make the rule
        # undeterminable for the whole stack.
        linked = set(rule.property_dependencies.get("listenerArn", ()))
        for listener in (candidate for candidate in listeners if candidate.urn in linked):
            if _protocol(listener) != "HTTP" or (listener.get("protocol") is None and listener.get("port") is None):
                continue
            actions = [a for a in rule.get("actions", []) or [] if isinstance(a, Mapping)]
            if not actions or not all(_is_https_redirect(a) for a in actions):
                kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
                yield Finding(f"listener rule on HTTP listener {listener.name or listener.urn} has actions [{kinds}] "
                              "and so serves plain HTTP; expected only a redirect to HTTPS with statusCode HTTP_301 "
                              "(put forwarding rules on the HTTPS listener)", rule.urn)


def check_tls_policy(resource: Resource, context: Context) -> Iterator[str]:
    if _protocol(resource) not in SECURE_PROTOCOLS:
        return
    allowed = list(context.threshold("allowedSslPolicies"))
    policy = resource.get("sslPolicy")
    if policy not in allowed:
        described = policy if policy else "not set (the provider default ELBSecurityPolicy-2016-08 allows TLS 1.0)"
        yield f"sslPolicy is {described}; expected one of {', '.join(allowed)}"


_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


def check_cert_hsts(resource: Resource, context: Context) -> Iterator[str]:
    protocol = _protocol(resource)
    if protocol not in SECURE_PROTOCOLS:
        return
    certificate = resource.get("certificateArn")
    if not certificate or ":acm:" not in str(certificate):
        yield f"certificateArn is {shown(certificate)}; expected an ACM certificate (arn:aws:acm:...), renewed by AWS"
    if protocol != "HTTPS":
        return
    header = resource.get("routingHttpResponseStrictTransportSecurityHeaderValue")
    minimum = int(context.threshold("minHstsMaxAgeSeconds"))
    match = _MAX_AGE.search(str(header or ""))
    if match is None or int(match.group(1)) < minimum:
        yield (f"routingHttpResponseStrictTransportSecurityHeaderValue is {shown(header)}; expected an HSTS header "
               f"with max-age of at least {minimum}")


# --- target groups -----------------------------------------------------------------------------------------


def _health_check_problems(group: Resource) -> Iterator[str]:
    health = group.get("healthCheck")
    if not isinstance(health, Mapping) or not health:
        yield "healthCheck is not set; expected an explicit health check"
        return
    if health.get("enabled") is False:
        yield "healthCheck.enabled is false; expected true"
    if str(group.get("protocol", "HTTP")).upper() in ("HTTP", "HTTPS"):
        for key in ("path", "matcher"):
            if not health.get(key):
                yield f"healthCheck.{key} is not set; expected an explicit {key} for the application's check"


def _twin_signature(group: Resource) -> dict[str, Any]:
    signature = {key: group.get(key) for key in TWIN_FIELDS}
    health = group.get("healthCheck") or {}
    if isinstance(health, Mapping):
        signature.update({f"healthCheck.{k}": v for k, v in health.items()})
    return signature


def _pair_of(deployment_group: Resource, target_groups: Sequence[Resource]) -> list[Resource]:
    info = deployment_group.get("loadBalancerInfo", {})
    pair = (info.get("targetGroupPairInfo") if isinstance(info, Mapping) else None) or {}
    names = {t.get("name") for t in pair.get("targetGroups", []) or [] if isinstance(t, Mapping)}
    found = {g.urn: g for g in nested_dependencies(deployment_group, "loadBalancerInfo", target_groups)}
    found.update({g.urn: g for g in target_groups if g.get("name") and g.get("name") in names})
    return list(found.values())


def check_target_group_health(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    target_groups = of_type(resources, *TARGET_GROUPS)
    required_type = context.threshold("targetType")
    for group in target_groups:
        for problem in _health_check_problems(group):
            yield Finding(problem, group.urn)
        if group.get("targetType", "instance") != required_type:
            yield Finding(f"targetType is {group.get('targetType', 'instance')!r}; expected {required_type!r} "
                          "(awsvpc tasks register by IP)", group.urn)
    for deployment_group in of_type(resources, DEPLOYMENT_GROUP):
        pair = _pair_of(deployment_group, target_groups)
        if len(pair) != 2:
            continue
        blue, green = (_twin_signature(g) for g in pair)
        differing = sorted(k for k in blue.keys() | green.keys() if blue.get(k) != green.get(k))
        if differing:
            details = "; ".join(f"{k}: {shown(blue.get(k))} vs {shown(green.get(k))}" for k in differing)
            yield Finding(f"blue and green target groups {pair[0].name} and {pair[1].name} differ ({details}); "
                          "expected identical settings so traffic can move either way", pair[1].urn)


def _rule(number: int, **kwargs: Any) -> Rule:
    kwargs.setdefault("tags", ("alb", f"catalogue-{number}"))
    return Rule(**kwargs)


POLICIES: list[Rule] = [
    _rule(
        40, name="alb-access-logs",
        description="Application load balancers write access logs to a bucket.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "ELB.5"),
        remediation="Set `access_logs={\"enabled\": True, \"bucket\": <log bucket>, \"prefix\": <name>}`; the "
                    "bucket policy must allow the regional ELB log delivery principal.",
        url=f"{SH_ELB_URL}#elb-5", resource_types=LOAD_BALANCERS, check=check_access_logs,
    ),
    _rule(
        41, name="alb-http-hardening",
        description="Application load balancers drop invalid headers and mitigate HTTP desync.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "ELB.4"),
        remediation="Set `drop_invalid_header_fields=True` and `desync_mitigation_mode` to \"defensive\" or "
                    "\"strictest\".",
        url=f"{SH_ELB_URL}#elb-4", resource_types=LOAD_BALANCERS, check=check_http_hardening,
    ),
    _rule(
        42, name="alb-deletion-protection",
        description="Load balancers have deletion protection enabled.",
        enforcement="MP", severity="medium", framework=Framework(FSBP, "ELB.6"),
        remediation="Set `enable_deletion_protection=True`.",
        url=f"{SH_ELB_URL}#elb-6", resource_types=LOAD_BALANCERS, check=check_deletion_protection,
    ),
    _rule(
        43, name="alb-waf-association",
        description="Every internet-facing application load balancer is associated with a WAF web ACL.",
        enforcement="MP", severity="high", framework=Framework("Checkov", "CKV2_AWS_28"),
        remediation="Add an `aws.wafv2.WebAclAssociation` with `resource_arn=<load balancer>.arn` and "
                    "`web_acl_arn` a REGIONAL web ACL (e.g. AWS managed common rule set).",
        url=f"{SH_ELB_URL}#elb-16", stack_check=check_waf_association,
    ),
    _rule(
        44, name="alb-multi-az",
        description="Load balancers span at least two availability zones.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "ELB.13"),
        remediation="Set `subnets` (or `subnet_mappings`) to subnets in at least two availability zones.",
        url=f"{SH_ELB_URL}#elb-13", resource_types=LOAD_BALANCERS, check=check_multi_az,
        thresholds={"minAvailabilityZones": 2},
    ),
    _rule(
        45, name="alb-http-redirect-only",
        description="Listeners serve HTTPS; an HTTP listener only redirects to HTTPS with a 301.",
        enforcement="M", severity="high", framework=Framework(FSBP, "ELB.1"),
        remediation="Use `protocol=\"HTTPS\"`; for port 80 set `default_actions=[{\"type\": \"redirect\", "
                    "\"redirect\": {\"protocol\": \"HTTPS\", \"port\": \"443\", \"status_code\": \"HTTP_301\"}}]`.",
        url=f"{SH_ELB_URL}#elb-1", resource_types=LISTENERS, check=check_http_redirect_only,
    ),
    _rule(
        45, name="alb-listener-rules-https-only",
        description="Listener rules on an HTTP listener only redirect to HTTPS; forwarding rules live on HTTPS "
                    "listeners.",
        enforcement="M", severity="high", framework=Framework(FSBP, "ELB.1"),
        remediation="Attach forwarding `aws.lb.ListenerRule`s to the HTTPS listener (`listener_arn`); on the HTTP "
                    "listener keep only redirects to HTTPS with `status_code=\"HTTP_301\"`.",
        url=f"{SH_ELB_URL}#elb-1", stack_check=check_listener_rules_on_http,
    ),
    _rule(
        46, name="alb-listener-tls-policy",
        description="HTTPS and TLS listeners use a TLS 1.2+ security policy from the allowlist.",
        enforcement="M", severity="high", framework=Framework(FSBP, "ELB.17"),
        remediation="Set `ssl_policy` to e.g. \"ELBSecurityPolicy-TLS13-1-2-2021-06\" (the allowlist is the "
                    "rule's `allowedSslPolicies`).",
        url=f"{SH_ELB_URL}#elb-17", resource_types=LISTENERS, check=check_tls_policy,
        thresholds={"allowedSslPolicies": TLS_POLICIES},
    ),
    _rule(
        47, name="alb-listener-cert-hsts",
        description="Secure listeners use an ACM certificate and HTTPS listeners send an HSTS header.",
        enforcement="A", severity="low",
        framework=Framework("cdk-nag NIST.800.53.R5", "ELBv2ACMCertificateRequired"),
        remediation="Set `certificate_arn` to an `aws.acm.Certificate` (validated by DNS) and "
                    "`routing_http_response_strict_transport_security_header_value=\"max-age=31536000; "
                    "includeSubDomains\"`.",
        url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html",
        resource_types=LISTENERS, check=check_cert_hsts, thresholds={"minHstsMaxAgeSeconds": 31536000},
    ),
    _rule(
        48, name="lb-target-group-health-check",
        description="Target groups have an explicit health check and ip targets; blue and green target groups "
                    "are identical.",
        enforcement="M", severity="medium", framework=Framework("Checkov", "CKV_AWS_261"),
        remediation="Set `target_type=\"ip\"` and `health_check={\"path\": ..., \"matcher\": \"200\", ...}`; "
                    "build both target groups of a deployment group from the same arguments.",
        url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html",
        stack_check=check_target_group_health, thresholds={"targetType": "ip"},
    ),
]
