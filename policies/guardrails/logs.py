"""CloudWatch Logs rules: every log group has a bounded, long-enough retention and is encrypted with a key of
this stack (catalogue rules 24-25).

Log groups hold the container output and ECS Exec sessions an incident review depends on, so losing them early
or leaving them readable under the AWS-owned default key is a finding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guardrails.rule import Context, Finding, Framework, Resource, Rule

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"

NEVER_EXPIRE = 0
"""`retentionInDays = 0` is CloudWatch's "never expire": long enough for any minimum, but a conscious choice."""


def check_log_group_retention(resource: Resource, context: Context) -> Iterator[str]:
    retention = resource.get("retentionInDays")
    minimum = context.threshold("minRetentionDays")
    if retention is None:
        yield f"retentionInDays is not set (logs are kept forever by accident): expected at least {minimum} days"
        return
    if int(retention) == NEVER_EXPIRE:
        if not context.threshold("allowNeverExpire"):
            yield f"retentionInDays is 0 (never expire): expected an explicit retention of at least {minimum} days"
        return
    if int(retention) < minimum:
        yield f"retentionInDays is {int(retention)}: expected at least {minimum} days"


def _stack_key_urns(resources: Sequence[Resource]) -> set[str]:
    return {r.urn for r in resources if r.type in (KMS_KEY, KMS_ALIAS)}


def _stack_key_arns(resources: Sequence[Resource]) -> set[str]:
    arns = set()
    for r in resources:
        if r.type in (KMS_KEY, KMS_ALIAS):
            for key in ("arn", "keyId", "id", "name"):
                value = r.get(key)
                if isinstance(value, str) and value:
                    arns.add(value)
    return arns


def uses_stack_key(resource: Resource, prop: str, resources: Sequence[Resource], external: Sequence[str]) -> bool:
    """True when `prop` is computed from a KMS key or alias of this stack, or names an allowed external key."""
    value = resource.get(prop)
    key_urns = _stack_key_urns(resources)
    if set(resource.property_dependencies.get(prop, ())) & key_urns:
        return True
    if isinstance(value, str) and (value in _stack_key_arns(resources) or value in external):
        return True
    # Without property dependencies (older engines), a dependency on a stack key is the next best evidence.
    return not resource.property_dependencies and bool(set(resource.dependencies) & key_urns)


def check_log_group_kms(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    external = tuple(context.threshold("externalKeyArns"))
    for resource in resources:
        if resource.type != LOG_GROUP:
            continue
        if not resource.get("kmsKeyId"):
            yield Finding("kmsKeyId is not set: expected the ARN of this stack's KMS key", resource.urn)
        elif not uses_stack_key(resource, "kmsKeyId", resources, external):
            yield Finding(
                f"kmsKeyId {resource.get('kmsKeyId')!r} is not a KMS key of this stack: expected the stack CMK "
                "(or a key listed in externalKeyArns)",
                resource.urn,
            )


POLICIES: list[Rule] = [
    Rule(
        name="log-group-retention",
        description="CloudWatch log groups set an explicit retention of at least the configured number of days.",
        enforcement="M",
        severity="medium",
        framework=Framework("Checkov", "CKV_AWS_66, CKV_AWS_338"),
        remediation="Set `retention_in_days` on the aws.cloudwatch.LogGroup to at least minRetentionDays "
        "(365 in production); the stack's pack config sets the minimum for other stacks.",
        url="https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-16",
        resource_types=(LOG_GROUP,),
        check=check_log_group_retention,
        thresholds={"minRetentionDays": 365, "allowNeverExpire": True},
    ),
    Rule(
        name="log-group-kms",
        description="CloudWatch log groups are encrypted with a customer-managed KMS key of this stack.",
        enforcement="MP",
        severity="medium",
        framework=Framework("Checkov", "CKV_AWS_158"),
        remediation="Set `kms_key_id` on the aws.cloudwatch.LogGroup to the stack key's `arn` (the key policy must "
        "allow logs.<region>.amazonaws.com to use it).",
        url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
        stack_check=check_log_group_kms,
        thresholds={"externalKeyArns": []},
    ),
]
