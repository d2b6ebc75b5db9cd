"""Shared by the service groups added beside ECS and RDS (s3, ec2, lambda_, apigateway, messaging, dynamodb,
elasticache, eks, cloudfront, redshift): public anchors, truthiness as providers send it, and references
between resources.

Each rule names one framework control (`Rule.framework`: the AWS Security Hub FSBP control when one exists, else
the Checkov id); the other public anchors (Checkov, cdk-nag) ride along as tags (`checkov:CKV_AWS_53`,
`cdk-nag:AwsSolutions-S2`) and at the end of the description, so auditors and tools both see them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from guardrails.rule import Resource
from guardrails.shapes import as_list

FSBP = "AWS Foundational Security Best Practices"
CHECKOV = "Checkov"
CHECKOV_URL = "https://www.checkov.io/5.Policy%20Index/terraform.html"


def sh_url(service: str, control: str) -> str:
    """The Security Hub control reference page, anchored at the control (`S3.8` -> ...s3-controls.html#s3-8)."""
    anchor = control.lower().replace(".", "-")
    return f"https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html#{anchor}"


def anchor_tags(checkov: Sequence[str] = (), cdk_nag: Sequence[str] = ()) -> tuple[str, ...]:
    return (*(f"checkov:{c}" for c in checkov), *(f"cdk-nag:{n}" for n in cdk_nag))


def anchored(description: str, checkov: Sequence[str] = (), cdk_nag: Sequence[str] = ()) -> str:
    parts = []
    if checkov:
        parts.append("Checkov " + ", ".join(checkov))
    if cdk_nag:
        parts.append("cdk-nag " + ", ".join(cdk_nag))
    return f"{description} (Also: {'; '.join(parts)}.)" if parts else description


def is_true(value: Any) -> bool:
    """True for `true` however it arrives: some inputs are typed as strings (launch template `encrypted`)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def is_set(mapping: Mapping[str, Any], key: str) -> bool:
    """Whether an input (or a nested block's field) holds a value, for rules that only ask "is a key / log
    destination / snapshot id given?".

    A value computed by another resource (`kms_master_key_id=key.arn`) is unknown at preview but is still given:
    it will be that resource's id. So presence rules judge it at preview instead of waiting for apply; rules that
    need the value itself read it normally and stay undeterminable until it is known."""
    if key not in iter(mapping):  # iterating the keys never reads a value
        return False
    try:
        value = mapping[key]
    except UnknownValueError:
        return True
    return value not in (None, "") and not (isinstance(value, Sequence | Mapping) and not isinstance(value, str)
                                            and len(value) == 0)


def blocks(value: Any) -> list[Mapping[str, Any]]:
    """Nested blocks (a list of objects, or one object) as a list of mappings."""
    return [item for item in as_list(value) if isinstance(item, Mapping)]


def refers_to(resource: Resource, field: str, target: Resource, name_fields: Iterable[str] = ()) -> bool:
    """`resource.<field>` points at `target`: by property dependency (an output of `target`), or, when written as a
    literal, by one of the target's identifying inputs (`name_fields`).

    A field that depends on other resources is never read: at preview its value is unknown, and reading an unknown
    would make a whole stack rule undeterminable."""
    dependencies = resource.property_dependencies.get(field, ())
    if dependencies:
        return target.urn in dependencies
    value = resource.get(field)
    if not isinstance(value, str) or not value:
        return False
    return any(target.get(name) == value for name in name_fields)


def companions(
    target: Resource, resources: Sequence[Resource], types: Iterable[str], field: str, name_fields: Iterable[str]
) -> list[Resource]:
    """The resources of `types` whose `field` points at `target` (a bucket's public access block, ...)."""
    wanted = frozenset(types)
    names = tuple(name_fields)
    return [r for r in resources if r.type in wanted and refers_to(r, field, target, names)]
