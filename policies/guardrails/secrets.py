"""Stored state and its metadata: Secrets Manager secrets (stack CMK, rotation, no literal values), protection of
stateful resources across services (RDS, KMS, Secrets Manager, ECR), and descriptions on security groups, their
rules, keys and secrets.

Secret values never appear in a message: rules name the field, never its content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import partial

from guardrails.iam import linked
from guardrails.kms import stack_key_findings, stack_type_index
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import as_list, first_block

FSBP = "AWS Foundational Security Best Practices"

# Type tokens, not credentials (ruff's S105 reads "SECRET" in a name as a password).
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"  # noqa: S105
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"  # noqa: S105
KEY = "aws:kms/key:Key"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def check_secret_cmk(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    types = stack_type_index(resources)
    for secret in resources:
        if secret.type == SECRET:
            for message in stack_key_findings(secret, "kmsKeyId", partial(secret.get, "kmsKeyId"), types):
                yield Finding(message, secret.urn)


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$")


def _schedule_days(expression: str) -> float | None:
    """Days between rotations for rate() expressions; cron() counts as at most monthly unless it names months."""
    rate = _RATE.match(expression.strip())
    if rate:
        amount = float(rate.group(1))
        return amount / 24 if rate.group(2).startswith("hour") else amount
    if expression.strip().startswith("cron(") and expression.strip().endswith(")"):
        fields = expression.strip()[5:-1].split()
        if len(fields) == 6 and fields[3] in ("*", "?"):
            return 31.0
    return None


def _rotation_days(rotation: Resource) -> float | None:
    rules = first_block(rotation.get("rotationRules"))
    if rules.get("automaticallyAfterDays") is not None:
        return float(rules["automaticallyAfterDays"])
    if rules.get("scheduleExpression"):
        return _schedule_days(str(rules["scheduleExpression"]))
    return None


def check_secret_rotation(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    maximum = context.threshold("maxRotationDays")
    rotations = [r for r in resources if r.type == SECRET_ROTATION]
    for secret in resources:
        if secret.type != SECRET:
            continue
        mine = [r for r in rotations if linked(r, "secretId", secret)]
        if not mine:
            yield Finding(
                f"secret {secret.name} has no SecretRotation; expected rotation at most every {maximum} days "
                "(RDS-managed master secrets rotate on their own and are not Secret resources)",
                secret.urn,
            )
            continue
        for rotation in mine:
            if rotation.get("rotationEnabled") is False:
                yield Finding(f"SecretRotation {rotation.name}: rotationEnabled is false, expected true", secret.urn)
                continue
            days = _rotation_days(rotation)
            if days is None:
                yield Finding(
                    f"SecretRotation {rotation.name}: rotationRules has no automaticallyAfterDays or a readable "
                    f"scheduleExpression; expected rotation at most every {maximum} days",
                    secret.urn,
                )
            elif days > maximum:
                yield Finding(
                    f"SecretRotation {rotation.name}: rotates every {days:g} days, expected at most {maximum}",
                    secret.urn,
                )


VALUE_FIELDS = ("secretString", "secretBinary", "secretStringWo")
_PLACEHOLDERS = {
    "changeme", "change-me", "change_me", "password", "passw0rd", "secret", "todo", "test", "example",
    "admin", "root", "default", "placeholder", "dummy", "xxx", "123456", "letmein", "none", "null",
}


def looks_hand_written(value: str, min_length: int) -> bool:
    """A value someone typed: a known placeholder, too short, or too few distinct characters to be generated."""
    text = value.strip()
    if text.lower() in _PLACEHOLDERS or len(text) < min_length:
        return True
    return len(set(text)) < 8


def _weak_leaves(value: object, min_length: int) -> bool:
    """True when the value, or any string inside a JSON object value, looks hand-written."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return looks_hand_written(value, min_length)
        if isinstance(parsed, Mapping):
            return any(isinstance(v, str) and looks_hand_written(v, min_length) for v in parsed.values())
        return looks_hand_written(value, min_length)
    return False


def check_secret_value_not_literal(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    """pulumi_policy unwraps secrets before a policy sees them, so a literal and a config secret look alike; a
    value generated by a resource shows as a property dependency. The rule flags values with no such provenance
    that look typed by hand (placeholders, short or low-variety strings) and never echoes them."""
    min_length = context.threshold("minLength")
    for version in resources:
        if version.type != SECRET_VERSION:
            continue
        for field in VALUE_FIELDS:
            value = version.get(field)
            if value is None or version.property_dependencies.get(field):
                continue
            if _weak_leaves(value, min_length):
                yield Finding(
                    f"{field} looks like a literal typed into the program (placeholder, short or low-variety "
                    "value); expected a value from `pulumi config set --secret` or generated (random.RandomPassword, "
                    "manage_master_user_password)",
                    version.urn,
                )


STATEFUL_TYPES = (RDS_INSTANCE, RDS_CLUSTER, KEY, SECRET, ECR_REPOSITORY)


def check_stateful_protection(resource: Resource, context: Context) -> Iterator[str]:
    if not resource.protect:
        yield "resource option protect is not set; expected protect=True so a stray `pulumi destroy` or replace " \
            "cannot delete the data"
    if resource.type == KEY:
        window = float(resource.get("deletionWindowInDays", 30))
        minimum = context.threshold("minKeyDeletionWindowDays")
        if window < minimum:
            yield f"deletionWindowInDays is {window:g}, expected at least {minimum}"
    elif resource.type == SECRET:
        window = float(resource.get("recoveryWindowInDays", 30))
        minimum = context.threshold("minSecretRecoveryWindowDays")
        if window < minimum:
            yield f"recoveryWindowInDays is {window:g}, expected at least {minimum}"
    elif resource.type == ECR_REPOSITORY and resource.get("forceDelete") is True:
        yield "forceDelete is true, which deletes every image with the repository; expected false"


PULUMI_DEFAULT_DESCRIPTION = "Managed by Pulumi"


def _missing(value: object) -> bool:
    return not isinstance(value, str) or not value.strip() or value.strip() == PULUMI_DEFAULT_DESCRIPTION


def check_descriptions(resource: Resource, context: Context) -> Iterator[str]:
    if _missing(resource.get("description")):
        yield "description is not set (or is the provider default); expected what the resource is for"
    if resource.type == SECURITY_GROUP:
        for block in ("ingress", "egress"):
            for index, rule in enumerate(as_list(resource.get(block))):
                if isinstance(rule, Mapping) and _missing(rule.get("description")):
                    yield f"{block}[{index}].description is not set; expected why the rule exists"


POLICIES: list[Rule] = [
    Rule(
        name="secret-cmk",
        description="Secrets Manager secrets are encrypted with this stack's customer-managed KMS key.",
        enforcement="MP",
        severity="medium",
        framework=Framework("Checkov", "CKV_AWS_149"),
        remediation="Set `kms_key_id=key.arn` on the aws.secretsmanager.Secret, with `key` the stack's aws.kms.Key.",
        url="https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html",
        stack_check=check_secret_cmk,
    ),
    Rule(
        name="secret-rotation",
        description="Every Secrets Manager secret of the stack rotates at least every 90 days.",
        enforcement="MP",
        severity="high",
        framework=Framework(FSBP, "SecretsManager.1, SecretsManager.4"),
        remediation="Add an aws.secretsmanager.SecretRotation with `secret_id=secret.id` and "
        "`rotation_rules={\"automatically_after_days\": 30}` (at most `maxRotationDays`); for database master "
        "passwords use `manage_master_user_password` instead of a Secret.",
        url="https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html#secretsmanager-1",
        stack_check=check_secret_rotation,
        thresholds={"maxRotationDays": 90},
    ),
    Rule(
        name="secret-value-not-literal",
        description="Secret values come from secret config or a generator, never a literal in the program.",
        enforcement="A",
        severity="high",
        framework=Framework("Rampart deployment safety", "SEC-1"),
        remediation="Read the value with `config.require_secret(...)` (set with `pulumi config set --secret`) or "
        "generate it (random.RandomPassword, RDS `manage_master_user_password`); never pass a string literal as "
        "`secret_string`.",
        url="https://www.pulumi.com/docs/iac/concepts/secrets/",
        stack_check=check_secret_value_not_literal,
        thresholds={"minLength": 12},
    ),
    Rule(
        name="stateful-resource-protection",
        description="Databases, keys, secrets and image repositories are protected from deletion and keep a "
        "recovery window.",
        enforcement="MP",
        severity="high",
        # Not one FSBP control: KMS.3 is about keys only, and no control covers Pulumi's `protect` on databases,
        # secrets and repositories. Per resource type the nearest controls are KMS.3 (keys) and RDS.7/RDS.8
        # (deletion protection, which rds-deletion-protection maps).
        framework=Framework("Rampart deployment safety", "STATE-68"),
        remediation="Pass `opts=pulumi.ResourceOptions(protect=True)`; keep aws.kms.Key `deletion_window_in_days` "
        "≥ 30 and aws.secretsmanager.Secret `recovery_window_in_days` ≥ 7; leave aws.ecr.Repository "
        "`force_delete` unset.",
        url="https://www.pulumi.com/docs/iac/concepts/options/protect/",
        resource_types=STATEFUL_TYPES,
        check=check_stateful_protection,
        thresholds={"minKeyDeletionWindowDays": 30, "minSecretRecoveryWindowDays": 7},
    ),
    Rule(
        name="descriptions",
        description="Security groups, their rules, KMS keys and secrets say what they are for.",
        enforcement="A",
        severity="low",
        framework=Framework("Checkov", "CKV_AWS_23"),
        remediation="Set `description` on the resource (and on each inline `ingress`/`egress` rule) to what it is "
        "for; \"Managed by Pulumi\" is the provider default, not a description.",
        url="https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
        resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE, KEY, SECRET),
        check=check_descriptions,
    ),
]
