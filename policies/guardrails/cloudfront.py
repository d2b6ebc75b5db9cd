"""CloudFront rules: viewers on TLS 1.2+ only, HTTPS for every cache behaviour, S3 origins behind origin access
control, and standard access logging.

A distribution on the default *.cloudfront.net certificate cannot raise its minimum TLS version (CloudFront keeps
TLSv1 there), so it fails the TLS rule: serve it under an alias with an ACM certificate. An S3 origin is one with
an `s3_origin_config` or a bucket REST endpoint (`<bucket>.s3[.<region>].amazonaws.com`); website endpoints
(`s3-website`) are custom origins and cannot use origin access control.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.anchors import FSBP, anchor_tags, anchored, blocks, is_set, is_true, sh_url
from guardrails.rule import Context, Framework, Resource, Rule
from guardrails.shapes import first_block

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
S3_REST_ENDPOINT = re.compile(r"\.s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")


def check_tls_policy(resource: Resource, context: Context) -> Iterator[str]:
    certificate = first_block(resource.get("viewerCertificate"))
    allowed = tuple(context.threshold("allowedMinimumProtocolVersions"))
    if is_true(certificate.get("cloudfrontDefaultCertificate")):
        yield ("viewerCertificate uses the default *.cloudfront.net certificate, which keeps TLSv1 available; "
               f"expected an ACM certificate with minimumProtocolVersion {allowed[0]}")
        return
    version = certificate.get("minimumProtocolVersion")
    if version not in allowed:
        shown = f"is {version!r}" if version is not None else "is not set (default TLSv1)"
        yield f"viewerCertificate.minimumProtocolVersion {shown}; expected one of {', '.join(allowed)}"


def _behaviours(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield "defaultCacheBehavior", first_block(resource.get("defaultCacheBehavior"))
    for index, behaviour in enumerate(blocks(resource.get("orderedCacheBehaviors"))):
        yield f"orderedCacheBehaviors[{index}]", behaviour


def check_viewer_https(resource: Resource, context: Context) -> Iterator[str]:
    for label, behaviour in _behaviours(resource):
        if str(behaviour.get("viewerProtocolPolicy", "allow-all")) == "allow-all":
            yield (f"{label}.viewerProtocolPolicy is allow-all, so viewers can use plain HTTP; expected "
                   "redirect-to-https or https-only")


def _is_s3_origin(origin: Mapping[str, Any]) -> bool:
    if first_block(origin.get("s3OriginConfig")):
        return True
    if first_block(origin.get("customOriginConfig")):
        return False
    # Read last: a bucket's regional domain name is unknown until the bucket exists (undeterminable at preview).
    domain = origin.get("domainName")
    return isinstance(domain, str) and S3_REST_ENDPOINT.search(domain) is not None and "s3-website" not in domain


def check_s3_origin_access_control(resource: Resource, context: Context) -> Iterator[str]:
    for index, origin in enumerate(blocks(resource.get("origins"))):
        if is_set(origin, "originAccessControlId"):
            continue
        if _is_s3_origin(origin):
            legacy = " (an origin access identity is the legacy mechanism)" if first_block(
                origin.get("s3OriginConfig")).get("originAccessIdentity") else ""
            yield (f"origins[{index}] is an S3 origin without originAccessControlId"
                   f"{legacy}; expected an aws.cloudfront.OriginAccessControl and a bucket policy allowing only "
                   "this distribution")


def check_logging(resource: Resource, context: Context) -> Iterator[str]:
    if not is_set(first_block(resource.get("loggingConfig")), "bucket"):
        yield "loggingConfig.bucket is not set; expected standard access logs to an S3 bucket"


def _rule(name: str, description: str, severity: Any, control: str, checkov: Sequence[str], nag: Sequence[str],
          remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement="MP", severity=severity,
                framework=Framework(FSBP, control), remediation=remediation, url=sh_url("cloudfront", control),
                tags=anchor_tags(checkov, nag), resource_types=(DISTRIBUTION,), **kwargs)


POLICIES: list[Rule] = [
    _rule("cloudfront-tls-policy",
          "CloudFront distributions serve viewers TLS 1.2+ only (security policy TLSv1.2_2021), on an ACM "
          "certificate.",
          "high", "CloudFront.15", ("CKV_AWS_174", "CKV2_AWS_42"), ("AwsSolutions-CFR4",),
          "Set viewer_certificate `acm_certificate_arn` (us-east-1), `ssl_support_method=\"sni-only\"` and "
          "`minimum_protocol_version=\"TLSv1.2_2021\"`.",
          check=check_tls_policy, thresholds={"allowedMinimumProtocolVersions": ["TLSv1.2_2021"]}),
    _rule("cloudfront-viewer-https",
          "Every CloudFront cache behaviour requires HTTPS from viewers (no allow-all).",
          "high", "CloudFront.3", ("CKV_AWS_34",), (),
          "Set `viewer_protocol_policy=\"redirect-to-https\"` (or https-only) on default_cache_behavior and every "
          "ordered_cache_behaviors entry.",
          check=check_viewer_https),
    _rule("cloudfront-s3-origin-access-control",
          "CloudFront S3 origins use origin access control, so the bucket stays private.",
          "high", "CloudFront.13", ("CKV2_AWS_46",), ("AwsSolutions-CFR7",),
          "Create an aws.cloudfront.OriginAccessControl (origin type s3, signing always, sigv4), set "
          "`origin_access_control_id` on the origin, and allow only cloudfront.amazonaws.com with aws:SourceArn "
          "of the distribution in the bucket policy.",
          check=check_s3_origin_access_control),
    _rule("cloudfront-logging",
          "CloudFront distributions write standard access logs.",
          "medium", "CloudFront.5", ("CKV_AWS_86",), ("AwsSolutions-CFR3",),
          "Set `logging_config={\"bucket\": \"<log bucket>.s3.amazonaws.com\", \"prefix\": ...}` on the "
          "distribution (the log bucket needs ACLs enabled for log delivery).",
          check=check_logging),
]
