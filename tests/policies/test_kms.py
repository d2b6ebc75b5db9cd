"""KMS rules (catalogue 62-64): a compliant key passes; each weakened field fails with the rule's message; each
rule once through the real pack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails import kms
from guardrails.rule import Context, Resource, findings

from tests.support.pack import analyze
from tests.support.rules import rule_context

KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b1f6a3e-1111-2222-3333-444455556666"
RULES = {rule.name: rule for rule in kms.POLICIES}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*",
        "Resource": "*"}
VIA_LOGS = {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*"], "Resource": "*"}

BASE: dict[str, Any] = {
    "description": "Stack key for logs, secrets and images",
    "enableKeyRotation": True,
    "rotationPeriodInDays": 365.0,
    "deletionWindowInDays": 30.0,
    "policy": doc(ROOT, VIA_LOGS),
}


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def messages(rule_name: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.check is not None
    resource = Resource(type=type_token, props=props, urn=f"urn:pulumi:test::rampart::{type_token}::x", name="x")
    return [f.message for f in findings(rule.check(resource, context(rule_name, **config)), resource.urn)]


# --- kms-rotation ---------------------------------------------------------------------------------------------------


def test_rotating_key_passes():
    assert messages("kms-rotation", KEY, BASE) == []


@pytest.mark.parametrize("value", [None, False])
def test_rotation_off_fails(value):
    props = {**BASE, "enableKeyRotation": value}
    assert messages("kms-rotation", KEY, props) == ["enableKeyRotation is not true; expected true"]


def test_rotation_period_too_long_fails():
    assert messages("kms-rotation", KEY, {**BASE, "rotationPeriodInDays": 730.0}) == [
        "rotationPeriodInDays is 730, expected at most 365"
    ]
    assert messages("kms-rotation", KEY, {**BASE, "rotationPeriodInDays": 730.0}, maxRotationPeriodDays=730) == []


@pytest.mark.parametrize("extra", [{"customerMasterKeySpec": "RSA_2048"}, {"customKeyStoreId": "cks-1"}])
def test_keys_that_cannot_rotate_are_not_judged(extra):
    assert messages("kms-rotation", KEY, {**BASE, "enableKeyRotation": False, **extra}) == []


# --- kms-key-policy-safety ------------------------------------------------------------------------------------------


def test_explicit_closed_policy_passes():
    assert messages("kms-key-policy-safety", KEY, BASE) == []


def test_account_scoped_wildcard_principal_passes():
    # AWS's own pattern: any principal of the account, through a service.
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
                 "Condition": {"StringEquals": {"kms:CallerAccount": "111111111111",
                                                "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}}
    assert messages("kms-key-policy-safety", KEY, {**BASE, "policy": doc(ROOT, statement)}) == []


def test_default_policy_fails():
    props = {k: v for k, v in BASE.items() if k != "policy"}
    assert messages("kms-key-policy-safety", KEY, props) == [
        "policy is not set, so the default key policy applies; expected an explicit key policy"
    ]


def test_lockout_check_bypass_fails():
    for type_token in (KEY, KEY_POLICY):
        assert messages("kms-key-policy-safety", type_token, {**BASE, "bypassPolicyLockoutSafetyCheck": True}) == [
            "bypassPolicyLockoutSafetyCheck is true; expected false so a policy cannot lock the account out"
        ]


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_open_principal_fails(principal):
    statement = {"Sid": "Open", "Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"}
    for type_token in (KEY, KEY_POLICY):
        assert messages("kms-key-policy-safety", type_token, {**BASE, "policy": doc(ROOT, statement)}) == [
            "policy statement 1 (Open): Principal \"*\" without an account condition opens the key to any AWS "
            "account; expected named principals"
        ]


def test_policy_not_json_fails():
    assert messages("kms-key-policy-safety", KEY, {**BASE, "policy": "not json"}) == [
        "policy is not a JSON policy document; expected an explicit key policy"
    ]


# --- iam-no-kms-decrypt-all-keys ------------------------------------------------------------------------------------


def iam_policy(statement: dict[str, Any]) -> dict[str, Any]:
    return {"role": "web-task", "policy": doc(statement)}


SCOPED = {"Sid": "Read", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY_ARN]}


def test_decrypt_on_named_key_passes():
    assert messages("iam-no-kms-decrypt-all-keys", ROLE_POLICY, iam_policy(SCOPED)) == []


def test_deny_on_all_keys_passes():
    statement = {**SCOPED, "Effect": "Deny", "Resource": "*"}
    assert messages("iam-no-kms-decrypt-all-keys", ROLE_POLICY, iam_policy(statement)) == []


@pytest.mark.parametrize(
    ("changes", "granted", "on"),
    [
        ({"Resource": "*"}, "kms:Decrypt", "*"),
        ({"Resource": "arn:aws:kms:eu-west-1:111111111111:key/*"}, "kms:Decrypt",
         "arn:aws:kms:eu-west-1:111111111111:key/*"),
        ({"Action": "kms:*", "Resource": "*"}, "kms:Decrypt, kms:ReEncryptFrom", "*"),
        ({"Action": "kms:ReEncrypt*", "Resource": "*"}, "kms:ReEncryptFrom", "*"),
        ({"Action": None, "NotAction": "s3:*", "Resource": "*"}, "kms:Decrypt, kms:ReEncryptFrom", "*"),
        ({"Resource": None, "NotResource": KEY_ARN}, "kms:Decrypt", "*"),
    ],
)
def test_decrypt_on_all_keys_fails(changes, granted, on):
    statement = {k: v for k, v in {**SCOPED, **changes}.items() if v is not None}
    assert messages("iam-no-kms-decrypt-all-keys", ROLE_POLICY, iam_policy(statement)) == [
        f"policy statement 0 (Read): {granted} on {on} decrypts with every key; expected key ARNs"
    ]


def test_decrypt_on_all_keys_in_role_inline_policy_and_managed_policy_fails():
    statement = {**SCOPED, "Resource": "*"}
    role = {"assumeRolePolicy": doc(), "inlinePolicies": [{"name": "read", "policy": doc(statement)}]}
    [message] = messages("iam-no-kms-decrypt-all-keys", ROLE, role)
    assert message.startswith("inlinePolicies[0].policy statement 0 (Read): kms:Decrypt on *")
    policy_object = {"policy": {"Version": "2012-10-17", "Statement": statement}}
    assert len(messages("iam-no-kms-decrypt-all-keys", POLICY, policy_object)) == 1


# --- through the real pack ------------------------------------------------------------------------------------------


def hits(diagnostics, rule):
    return [d for d in diagnostics if d.policy == rule]


def test_rules_through_the_pack(policy_pack):
    good = analyze(policy_pack, KEY, BASE)
    assert hits(good, "kms-rotation") == [] and hits(good, "kms-key-policy-safety") == []
    bad = analyze(policy_pack, KEY, {**BASE, "enableKeyRotation": False, "bypassPolicyLockoutSafetyCheck": True})
    [rotation] = hits(bad, "kms-rotation")
    [safety] = hits(bad, "kms-key-policy-safety")
    assert rotation.message.endswith("\nenableKeyRotation is not true; expected true")
    assert rotation.enforcement == "mandatory" and safety.enforcement == "mandatory"
    assert "bypassPolicyLockoutSafetyCheck is true" in safety.message

    assert hits(analyze(policy_pack, ROLE_POLICY, iam_policy(SCOPED)), "iam-no-kms-decrypt-all-keys") == []
    [decrypt] = hits(analyze(policy_pack, ROLE_POLICY, iam_policy({**SCOPED, "Resource": "*"})),
                     "iam-no-kms-decrypt-all-keys")
    assert decrypt.message.endswith("kms:Decrypt on * decrypts with every key; expected key ARNs")
