"""API Gateway rules (REST APIs and HTTP/WebSocket APIs): stages write access logs, custom domains accept TLS 1.2
or newer only, and every method or route names an authoriser.

A deliberately public method (a health check, a webhook verified in code) is waived per resource with a reason;
CORS preflight (`OPTIONS`) is exempt because browsers send it without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import CHECKOV, FSBP, anchor_tags, anchored, is_set, sh_url
from guardrails.rule import Context, Framework, Resource, Rule
from guardrails.shapes import first_block

REST_STAGE = "aws:apigateway/stage:Stage"
V2_STAGE = "aws:apigatewayv2/stage:Stage"
REST_DOMAIN = "aws:apigateway/domainName:DomainName"
V2_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
REST_METHOD = "aws:apigateway/method:Method"
V2_ROUTE = "aws:apigatewayv2/route:Route"


def check_access_logs(resource: Resource, context: Context) -> Iterator[str]:
    settings = first_block(resource.get("accessLogSettings"))
    if not is_set(settings, "destinationArn"):
        yield "accessLogSettings.destinationArn is not set; expected access logs to a CloudWatch log group"
    elif not is_set(settings, "format"):
        yield "accessLogSettings.format is not set; expected a log format (requestId, caller, status, latency)"


def check_tls_policy(resource: Resource, context: Context) -> Iterator[str]:
    allowed = tuple(context.threshold("allowedSecurityPolicies"))
    if resource.type == REST_DOMAIN:
        field, policy = "securityPolicy", resource.get("securityPolicy")
    else:
        field, policy = "domainNameConfiguration.securityPolicy", first_block(
            resource.get("domainNameConfiguration")).get("securityPolicy")
    if policy not in allowed:
        shown = f"is {policy!r}" if policy is not None else "is not set (API Gateway then accepts TLS 1.0)"
        yield f"{field} {shown}; expected one of {', '.join(allowed)}"


def check_authorization(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == REST_METHOD:
        if str(resource.get("httpMethod", "")).upper() == "OPTIONS":
            return
        if str(resource.get("authorization", "NONE")).upper() == "NONE":
            yield ("authorization is NONE: anyone can call this method; expected AWS_IAM, COGNITO_USER_POOLS or "
                   "CUSTOM with an authorizer (waive deliberately public methods)")
        return
    if str(resource.get("routeKey", "")).upper().startswith("OPTIONS "):
        return
    if str(resource.get("authorizationType", "NONE")).upper() == "NONE":
        yield ("authorizationType is NONE: anyone can call this route; expected AWS_IAM, JWT or CUSTOM with an "
               "authorizer (waive deliberately public routes)")


def _rule(name: str, description: str, enforcement: Any, severity: Any, framework: Framework, url: str,
          checkov: Sequence[str], nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement=enforcement,
                severity=severity, framework=framework, remediation=remediation, url=url,
                tags=anchor_tags(checkov, nag), **kwargs)


POLICIES: list[Rule] = [
    _rule("apigw-access-logs",
          "API Gateway REST and HTTP/WebSocket stages send access logs (destination and format) to CloudWatch Logs.",
          "MP", "medium", Framework(FSBP, "APIGateway.9"), sh_url("apigateway", "APIGateway.9"),
          ("CKV_AWS_76", "CKV_AWS_95"), ("AwsSolutions-APIG1",),
          "Set `access_log_settings={\"destination_arn\": <log group arn>, \"format\": <JSON format>}` on the "
          "aws.apigateway.Stage / aws.apigatewayv2.Stage.",
          resource_types=(REST_STAGE, V2_STAGE), check=check_access_logs),
    _rule("apigw-domain-tls-policy",
          "API Gateway custom domain names accept TLS 1.2 or newer only.",
          "MP", "high", Framework(CHECKOV, "CKV_AWS_206"),
          "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-custom-domain-tls-version.html",
          ("CKV_AWS_206",), (),
          "Set `security_policy=\"TLS_1_2\"` on aws.apigateway.DomainName (domain_name_configuration.security_policy "
          "on aws.apigatewayv2.DomainName).",
          resource_types=(REST_DOMAIN, V2_DOMAIN), check=check_tls_policy,
          thresholds={"allowedSecurityPolicies": ["TLS_1_2"]}),
    _rule("apigw-authorization",
          "Every API Gateway method and route requires authorisation (authorization / authorization_type not "
          "NONE), CORS preflight excepted.",
          "MP", "high", Framework(FSBP, "APIGateway.8"), sh_url("apigateway", "APIGateway.8"),
          ("CKV_AWS_59", "CKV_AWS_309"), ("AwsSolutions-APIG4",),
          "Set `authorization` (REST) or `authorization_type` (HTTP/WebSocket) to AWS_IAM, COGNITO_USER_POOLS/JWT "
          "or CUSTOM with an authorizer; waive a deliberately public method with a reason.",
          resource_types=(REST_METHOD, V2_ROUTE), check=check_authorization),
]
