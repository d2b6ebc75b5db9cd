"""S3 rules: buckets block public access, bucket policies open to no one, TLS-only access, explicit encryption,
and versioning for the buckets that hold state or logs.

A bucket's settings live in separate resources (aws.s3.BucketPublicAccessBlock, BucketPolicy,
BucketServerSideEncryptionConfiguration(V2), BucketVersioning(V2)) or in the bucket's own inputs: every rule reads
both, and judges the bucket at stack level. A companion resource is tied to its bucket by property dependency
(`bucket=bucket.id`) or by a literal bucket name.

Encryption is judged as a statement of intent: since January 2023 S3 encrypts every new object with SSE-S3 when
no default is configured, so a bucket without a configuration is not unencrypted. `s3-encryption-explicit` is
therefore advisory and low; it fails only when no default is written down or when the algorithm is not one S3
knows as encryption. Buckets that need a customer key (SSE-KMS) say so through that same configuration.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.anchors import (
    CHECKOV,
    FSBP,
    anchor_tags,
    anchored,
    blocks,
    companions,
    is_true,
    refers_to,
    sh_url,
)
from guardrails.iam import (
    condition_keys,
    describe,
    get_ci,
    grants_action,
    is_allow,
    parse_document,
    statements,
    wildcard_principal,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import as_list, first_block, of_type

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_TYPES = (BUCKET, BUCKET_V2)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
NAME_FIELDS = ("bucket",)

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _label(bucket: Resource) -> str:
    return f"bucket {bucket.name}"


def _buckets(resources: Sequence[Resource]) -> list[Resource]:
    return of_type(resources, *BUCKET_TYPES)


# --- s3-public-access-block ---------------------------------------------------------------------------------------


def _missing_flags(block: Resource) -> list[str]:
    return [flag for flag in PUBLIC_ACCESS_FLAGS if not is_true(block.get(flag))]


def check_public_access_block(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    # The account-wide block covers every bucket of the account (S3.1): with all four flags on, buckets need none.
    if any(not _missing_flags(b) for b in of_type(resources, ACCOUNT_PUBLIC_ACCESS_BLOCK)):
        return
    for bucket in _buckets(resources):
        blocks_ = companions(bucket, resources, (PUBLIC_ACCESS_BLOCK,), "bucket", NAME_FIELDS)
        if not blocks_:
            yield Finding(f"{_label(bucket)} has no aws.s3.BucketPublicAccessBlock; expected one with "
                          f"{', '.join(PUBLIC_ACCESS_FLAGS)} all true", bucket.urn)
            continue
        for block in blocks_:
            missing = _missing_flags(block)
            if missing:
                yield Finding(f"{_label(bucket)}: public access block {block.name} leaves {', '.join(missing)} "
                              "off; expected all four flags true", block.urn)


# --- s3-bucket-policy-not-public -----------------------------------------------------------------------------------

# Condition keys that narrow "anyone" down to known callers: a service acting for this account, a network path,
# an organisation or account. aws:SecureTransport narrows how, not who, and does not count.
RESTRICTING_CONDITION_KEYS = frozenset(k.lower() for k in (
    "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "aws:VpcSourceIp", "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalServiceName",
    "aws:userid", "aws:username", "aws:ResourceOrgID", "aws:ResourceAccount",
))


def _restricted(statement: Mapping[str, Any]) -> bool:
    return any(key.lower() in RESTRICTING_CONDITION_KEYS for key in condition_keys(statement))


def _policy_documents(resource: Resource) -> list[tuple[str, Any]]:
    policy = resource.get("policy")
    return [] if policy is None else [("policy", policy)]


def check_bucket_policy_not_public(resource: Resource, context: Context) -> Iterator[str]:
    for label, policy in _policy_documents(resource):
        document = parse_document(policy)
        if document is None:
            yield f"{label} is not a JSON policy document; expected a bucket policy naming its principals"
            continue
        for index, statement in enumerate(statements(document)):
            if is_allow(statement) and wildcard_principal(statement) and not _restricted(statement):
                yield (f"{describe(label, index, statement)}: Principal \"*\" without a condition on the caller's "
                       "account, organisation, source ARN or network opens the bucket to anyone; expected named "
                       "principals or such a condition")


# --- s3-tls-only -----------------------------------------------------------------------------------------------------

_BOOL_OPERATORS = ("bool", "boolifexists")


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    if str(get_ci(statement, "Effect", "")).lower() != "deny" or not wildcard_principal(statement):
        return False
    condition = get_ci(statement, "Condition")
    if not isinstance(condition, Mapping):
        return False
    insecure = False
    for operator, entries in condition.items():
        if str(operator).lower() in _BOOL_OPERATORS and isinstance(entries, Mapping):
            for key, value in entries.items():
                values = as_list(value)
                if str(key).lower() == "aws:securetransport" and any(str(v).lower() == "false" for v in values):
                    insecure = True
    return insecure and grants_action(statement, "s3:GetObject") and grants_action(statement, "s3:PutObject")


def _bucket_policies(bucket: Resource, resources: Sequence[Resource]) -> list[Any]:
    policies = [p.get("policy") for p in companions(bucket, resources, (BUCKET_POLICY,), "bucket", NAME_FIELDS)]
    if bucket.get("policy") is not None:
        policies.append(bucket.get("policy"))
    return policies


def check_tls_only(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    for bucket in _buckets(resources):
        documents = [parse_document(p) for p in _bucket_policies(bucket, resources)]
        if any(_denies_plain_http(s) for d in documents for s in statements(d)):
            continue
        yield Finding(f"{_label(bucket)} has no bucket policy statement denying requests with aws:SecureTransport "
                      "false; expected a Deny for Principal \"*\" on s3:* when aws:SecureTransport is false",
                      bucket.urn)


# --- s3-encryption-explicit --------------------------------------------------------------------------------------

KNOWN_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


def _algorithms(value: Any) -> list[str]:
    """Every `applyServerSideEncryptionByDefault.sseAlgorithm` inside a configuration, whatever its nesting."""
    found: list[str] = []
    if isinstance(value, Mapping):
        default = value.get("applyServerSideEncryptionByDefault")
        if default is not None:
            found.extend(str(b.get("sseAlgorithm")) for b in blocks(default))
        for key, nested in value.items():
            if key != "applyServerSideEncryptionByDefault":
                found.extend(_algorithms(nested))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        # pulumi_policy hands lists over as read-only Sequence proxies, never list.
        for item in value:
            found.extend(_algorithms(item))
    return found


def check_encryption_explicit(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    for bucket in _buckets(resources):
        configs = companions(bucket, resources, SSE_TYPES, "bucket", NAME_FIELDS)
        algorithms = [a for c in configs for a in _algorithms(c.get("rules"))]
        for own in ("serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations"):
            algorithms.extend(_algorithms(bucket.get(own)))
        if not algorithms:
            yield Finding(f"{_label(bucket)} has no default encryption configuration, so only S3's implicit SSE-S3 "
                          "applies; expected an explicit aws.s3.BucketServerSideEncryptionConfiguration (AES256, "
                          "or aws:kms with a customer key for sensitive data)", bucket.urn)
        for algorithm in sorted(set(algorithms) - KNOWN_ALGORITHMS):
            yield Finding(f"{_label(bucket)}: sseAlgorithm {algorithm!r} is not one of "
                          f"{', '.join(sorted(KNOWN_ALGORITHMS))}", bucket.urn)


# --- s3-versioning-state-and-logs ---------------------------------------------------------------------------------

# (type, input) pairs whose value names a bucket that receives logs.
LOG_DESTINATIONS: tuple[tuple[str, str], ...] = (
    ("aws:lb/loadBalancer:LoadBalancer", "accessLogs"),
    ("aws:alb/loadBalancer:LoadBalancer", "accessLogs"),
    ("aws:elb/loadBalancer:LoadBalancer", "accessLogs"),
    ("aws:s3/bucketLogging:BucketLogging", "targetBucket"),
    ("aws:s3/bucketLoggingV2:BucketLoggingV2", "targetBucket"),
    ("aws:cloudfront/distribution:Distribution", "loggingConfig"),
    ("aws:ec2/flowLog:FlowLog", "logDestination"),
    ("aws:cloudtrail/trail:Trail", "s3BucketName"),
)


def _literal(resource: Resource, field: str) -> Any:
    """An input's value only when it is written literally (an output of another resource may be unknown)."""
    return None if resource.property_dependencies.get(field) else resource.get(field)


def _names_bucket(value: Any, name: str) -> bool:
    if isinstance(value, Mapping):
        return any(_names_bucket(v, name) for v in value.values())
    if not isinstance(value, str) or not name:
        return False
    return value in (name, f"arn:aws:s3:::{name}", f"{name}.s3.amazonaws.com") or value.startswith(
        f"arn:aws:s3:::{name}/")


def _receives_logs(bucket: Resource, resources: Sequence[Resource]) -> bool:
    name = _literal(bucket, "bucket")
    for type_, field in LOG_DESTINATIONS:
        for source in of_type(resources, type_):
            dependencies = source.property_dependencies.get(field, ())
            if bucket.urn in dependencies or (not dependencies and _names_bucket(source.get(field), name)):
                return True
    own_logging = [b for b in _buckets(resources) if b is not bucket]
    return any(refers_to(b, "logging", bucket) or refers_to(b, "loggings", bucket) for b in own_logging)


def _holds_state(bucket: Resource, patterns: Sequence[str]) -> bool:
    names = [n for n in (_literal(bucket, "bucket"), _literal(bucket, "bucketPrefix"), bucket.name)
             if isinstance(n, str) and n]
    return any(fnmatch.fnmatchcase(n.lower(), p.lower()) for n in names for p in patterns)


def _versioned(bucket: Resource, resources: Sequence[Resource]) -> bool:
    for config in companions(bucket, resources, VERSIONING_TYPES, "bucket", NAME_FIELDS):
        if str(first_block(config.get("versioningConfiguration")).get("status", "")).lower() == "enabled":
            return True
    return any(is_true(b.get("enabled")) for own in ("versioning", "versionings") for b in blocks(bucket.get(own)))


def check_versioning_state_and_logs(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    patterns = tuple(context.threshold("stateBucketPatterns"))
    for bucket in _buckets(resources):
        holds = "logs" if _receives_logs(bucket, resources) else "state" if _holds_state(bucket, patterns) else ""
        if holds and not _versioned(bucket, resources):
            yield Finding(f"{_label(bucket)} holds {holds} but is not versioned; expected an aws.s3.BucketVersioning "
                          "with status Enabled so an overwrite or delete can be undone", bucket.urn)


def _rule(name: str, description: str, enforcement: Any, severity: Any, control: str, checkov: Sequence[str],
          nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    framework = Framework(FSBP, control) if control else Framework(CHECKOV, checkov[0])
    url = sh_url("s3", control.split(",")[0].strip()) if control else kwargs.pop("url")
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement=enforcement,
                severity=severity, framework=framework, remediation=remediation, url=url,
                tags=anchor_tags(checkov, nag), **kwargs)


POLICIES: list[Rule] = [
    _rule("s3-public-access-block",
          "Every S3 bucket has a public access block with all four flags on (or the account-wide block does).",
          "M", "high", "S3.8", ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6"),
          ("AwsSolutions-S2",),
          "Add an aws.s3.BucketPublicAccessBlock with `bucket=<bucket>.id` and block_public_acls, "
          "block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
          stack_check=check_public_access_block),
    _rule("s3-bucket-policy-not-public",
          "No bucket policy allows Principal \"*\" unless a condition limits the caller (account, organisation, "
          "source ARN or network).",
          "M", "critical", "S3.2, S3.3", ("CKV_AWS_70",), (),
          "Name the principals in the bucket policy, or add a condition such as aws:SourceArn / aws:SourceAccount "
          "/ aws:PrincipalOrgID to the statement that allows \"*\".",
          resource_types=(BUCKET_POLICY, *BUCKET_TYPES), check=check_bucket_policy_not_public),
    _rule("s3-tls-only",
          "Every S3 bucket's policy denies requests made without TLS (aws:SecureTransport false).",
          "M", "medium", "S3.5", ("CKV_AWS_379",), ("AwsSolutions-S10",),
          "Add to the bucket policy a statement: Effect Deny, Principal \"*\", Action s3:*, Resource the bucket and "
          "its objects, Condition {\"Bool\": {\"aws:SecureTransport\": \"false\"}}.",
          stack_check=check_tls_only),
    _rule("s3-encryption-explicit",
          "Every S3 bucket states its default encryption (S3 applies SSE-S3 implicitly since 2023; the rule asks "
          "for the intent to be written down).",
          "A", "low", "", ("CKV_AWS_19", "CKV_AWS_145"), (),
          "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with sse_algorithm AES256, or "
          "aws:kms and the stack key for sensitive data.",
          url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-encryption-faq.html",
          stack_check=check_encryption_explicit),
    _rule("s3-versioning-state-and-logs",
          "Buckets that receive logs (ALB, CloudFront, S3 server access, VPC flow logs, CloudTrail) or hold state "
          "are versioned.",
          "MP", "medium", "", ("CKV_AWS_21",), ("NIST.800.53.R5-S3BucketVersioningEnabled",),
          "Add an aws.s3.BucketVersioning with versioning_configuration status \"Enabled\" for the bucket (and a "
          "lifecycle rule expiring noncurrent versions).",
          url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html",
          stack_check=check_versioning_state_and_logs, thresholds={"stateBucketPatterns": ["*state*"]}),
]
