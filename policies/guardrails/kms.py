"""KMS rules: customer keys rotate, key policies are explicit and closed, and no IAM policy decrypts with every key.

Also home of `stack_key_findings`, the check behind "encrypted with the stack CMK" that the ECR and Secrets
Manager rules share: a key reference counts as a stack key when it depends on a KMS key or alias of this program.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from guardrails.iam import (
    GRANTING_TYPES,
    allow_statements,
    condition_values,
    covers_action,
    describe,
    grants_action,
    is_allow,
    is_wildcard_resource,
    parse_document,
    resources,
    statements,
    urn_type,
    wildcard_principal,
)
from guardrails.rule import Context, Framework, Resource, Rule

FSBP = "AWS Foundational Security Best Practices"
SH_KMS_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html"

KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
STACK_KEY_TYPES = frozenset(
    {KEY, "aws:kms/alias:Alias", "aws:kms/replicaKey:ReplicaKey", "aws:kms/externalKey:ExternalKey"}
)


def stack_key_findings(
    resource: Resource,
    field: str,
    read_value: Callable[[], object],
    stack_types: Mapping[str, str],
    label: str = "",
) -> Iterator[str]:
    """Why `resource.<field>` (a key id/ARN/alias) is not a customer key of this stack, if it is not.

    `stack_types` maps the URNs of the program's resources to their types. The reference must depend on a KMS
    key or alias of this stack: AWS-managed keys (`alias/aws/...`) and keys of other accounts or stacks are not
    under this stack's rotation, policy and deletion protection. The value is read (`read_value`) only when no
    stack key stands behind it: a new key's ARN is unknown at preview, and reading an unknown would make the
    whole stack rule undeterminable. `label` names the input in messages (default: `field`).
    """
    label = label or field
    candidates = list(resource.property_dependencies.get(field, ())) or list(resource.dependencies)
    if any(stack_types.get(urn, urn_type(urn)) in STACK_KEY_TYPES for urn in candidates):
        return
    value = read_value()
    if value is None or value == "":
        yield f"{label} is not set, so the AWS-managed key is used; expected this stack's KMS key"
    elif isinstance(value, str) and "alias/aws/" in value:
        yield f"{label} is the AWS-managed key {value}; expected this stack's KMS key"
    else:
        yield f"{label} does not reference a KMS key of this stack; expected the stack CMK's arn"


def stack_type_index(resources_: Sequence[Resource]) -> dict[str, str]:
    return {r.urn: r.type for r in resources_ if r.urn}


SYMMETRIC = "SYMMETRIC_DEFAULT"


def check_rotation(resource: Resource, context: Context) -> Iterator[str]:
    spec = resource.get("customerMasterKeySpec", SYMMETRIC)
    if spec != SYMMETRIC or resource.get("customKeyStoreId"):
        # Asymmetric, HMAC and custom-key-store keys cannot rotate automatically: there is nothing to enable.
        return
    if resource.get("enableKeyRotation") is not True:
        yield "enableKeyRotation is not true; expected true"
        return
    period = resource.get("rotationPeriodInDays")
    maximum = context.threshold("maxRotationPeriodDays")
    if period is not None and float(period) > maximum:
        yield f"rotationPeriodInDays is {int(float(period))}, expected at most {maximum}"


ACCOUNT_SCOPING_KEYS = ("kms:CallerAccount", "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:SourceAccount")


def _open_principal(statement: Mapping[str, Any]) -> bool:
    if not wildcard_principal(statement):
        return False
    # AWS's own key policy pattern: Principal "*" limited to the account by condition (kms:CallerAccount).
    return not any(condition_values(statement, key) for key in ACCOUNT_SCOPING_KEYS)


def check_key_policy_safety(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("bypassPolicyLockoutSafetyCheck") is True:
        yield "bypassPolicyLockoutSafetyCheck is true; expected false so a policy cannot lock the account out"
    policy = resource.get("policy")
    if policy is None:
        if resource.type == KEY:
            yield "policy is not set, so the default key policy applies; expected an explicit key policy"
        return
    document = parse_document(policy)
    if document is None:
        yield "policy is not a JSON policy document; expected an explicit key policy"
        return
    for index, statement in enumerate(statements(document)):
        if is_allow(statement) and _open_principal(statement):
            yield (
                f"{describe('policy', index, statement)}: Principal \"*\" without an account condition opens the "
                "key to any AWS account; expected named principals"
            )


DECRYPT_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom")


def check_no_decrypt_all_keys(resource: Resource, context: Context) -> Iterator[str]:
    for where, statement in allow_statements(resource):
        wildcard = [r for r in resources(statement) if is_wildcard_resource(r)]
        granted = [a for a in DECRYPT_ACTIONS if grants_action(statement, a)
                   and any(covers_action(r, a) for r in wildcard)]
        if wildcard and granted:
            yield f"{where}: {', '.join(granted)} on {', '.join(wildcard)} decrypts with every key; expected key ARNs"


POLICIES: list[Rule] = [
    Rule(
        name="kms-rotation",
        description="Symmetric customer-managed KMS keys rotate automatically.",
        enforcement="M",
        severity="high",
        framework=Framework("Checkov", "CKV_AWS_7"),
        remediation="Set `enable_key_rotation=True` on the aws.kms.Key (and `rotation_period_in_days` no longer "
        "than the configured maximum).",
        url="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
        resource_types=(KEY,),
        check=check_rotation,
        thresholds={"maxRotationPeriodDays": 365},
    ),
    Rule(
        name="kms-key-policy-safety",
        description="KMS keys have an explicit key policy with no open principal, and the lockout check is kept.",
        enforcement="M",
        severity="critical",
        framework=Framework(FSBP, "KMS.5"),
        remediation="Set `policy` on the aws.kms.Key to a document naming the account root and the roles that use "
        "the key (Principal \"*\" only with a kms:CallerAccount condition); leave "
        "`bypass_policy_lockout_safety_check` unset.",
        url=f"{SH_KMS_URL}#kms-5",
        resource_types=(KEY, KEY_POLICY),
        check=check_key_policy_safety,
    ),
    Rule(
        name="iam-no-kms-decrypt-all-keys",
        description="No IAM policy allows kms:Decrypt or kms:ReEncryptFrom on all KMS keys.",
        enforcement="M",
        severity="high",
        framework=Framework(FSBP, "KMS.1, KMS.2"),
        remediation="In the IAM `policy` document, name the key ARNs (the stack key's `.arn`) for kms:Decrypt "
        "instead of \"*\" or key/*.",
        url=f"{SH_KMS_URL}#kms-1",
        resource_types=GRANTING_TYPES,
        check=check_no_decrypt_all_keys,
    ),
]
