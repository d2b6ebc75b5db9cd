"""ECR rules (catalogue 57-61): a compliant repository passes; each weakened field fails with the rule's message;
each rule once through the real pack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails import ecr
from guardrails.rule import Context, Resource

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import resource_messages, rule_context, urn

REPOSITORY = "aws:ecr/repository:Repository"
KEY = "aws:kms/key:Key"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPO_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
REGISTRY_POLICY = "aws:ecr/registryPolicy:RegistryPolicy"
SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b1f6a3e-1111-2222-3333-444455556666"
RULES = {rule.name: rule for rule in ecr.POLICIES}


KEY_URN = urn(KEY, "key")
REPO_URN = urn(REPOSITORY, "web")

BASE: dict[str, Any] = {
    "name": "shop/web",
    "imageTagMutability": "IMMUTABLE",
    "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
    "forceDelete": False,
}


def context(rule_name: str, **config: Any) -> Context:
    return rule_context(RULES[rule_name], **config)


def messages(rule_name: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    return resource_messages(RULES[rule_name], type_token, props, **config)


def repository(props: dict[str, Any], key_dependency: bool = True) -> Resource:
    deps = {"encryptionConfigurations": (KEY_URN,)} if key_dependency else {}
    return Resource(type=REPOSITORY, props=props, urn=REPO_URN, name="web",
                    dependencies=tuple(deps.get("encryptionConfigurations", ())), property_dependencies=deps)


def stack_messages(rule_name: str, resources: list[Resource], **config: Any) -> list[str]:
    rule = RULES[rule_name]
    assert rule.stack_check is not None
    return [f.message for f in rule.stack_check(resources, context(rule_name, **config))]


def stack(props: dict[str, Any], key_dependency: bool = True, extra: tuple[Resource, ...] = ()) -> list[Resource]:
    return [Resource(type=KEY, props={"enableKeyRotation": True}, urn=KEY_URN, name="key"),
            repository(props, key_dependency), *extra]


# --- ecr-immutable-tags -------------------------------------------------------------------------------------------


def test_immutable_tags_pass():
    assert messages("ecr-immutable-tags", REPOSITORY, BASE) == []


@pytest.mark.parametrize("value", [None, "MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"])
def test_mutable_tags_fail(value):
    props = {k: v for k, v in BASE.items() if k != "imageTagMutability"}
    if value is not None:
        props["imageTagMutability"] = value
    assert messages("ecr-immutable-tags", REPOSITORY, props) == [
        f"imageTagMutability is {value or 'MUTABLE'}, expected IMMUTABLE"
    ]


# --- ecr-scan-on-push ---------------------------------------------------------------------------------------------

SCAN_MESSAGE = "imageScanningConfiguration.scanOnPush is not true"


def registry_scanning(frequency: str, pattern: str, scan_type: str = "ENHANCED") -> Resource:
    rule = {"scanFrequency": frequency, "repositoryFilters": [{"filter": pattern, "filterType": "WILDCARD"}]}
    return Resource(type=SCANNING, props={"scanType": scan_type, "rules": [rule]}, urn=urn(SCANNING, "scan"))


def test_scan_on_push_passes():
    assert stack_messages("ecr-scan-on-push", stack(BASE)) == []


@pytest.mark.parametrize("scanning", [None, {}, {"scanOnPush": False}])
def test_no_scan_on_push_fails(scanning):
    props = {**BASE, "imageScanningConfiguration": scanning}
    [message] = stack_messages("ecr-scan-on-push", stack(props))
    assert message.startswith(SCAN_MESSAGE)


@pytest.mark.parametrize(
    ("config", "passes"),
    [
        (registry_scanning("CONTINUOUS_SCAN", "*"), True),
        (registry_scanning("SCAN_ON_PUSH", "shop/*", "BASIC"), True),
        (registry_scanning("SCAN_ON_PUSH", "other/*"), False),
        (registry_scanning("MANUAL", "*"), False),
    ],
)
def test_registry_scanning_rule_covers_the_repository(config, passes):
    props = {**BASE, "imageScanningConfiguration": {"scanOnPush": False}}
    result = stack_messages("ecr-scan-on-push", stack(props, extra=(config,)))
    assert (result == []) is passes


# --- ecr-kms ------------------------------------------------------------------------------------------------------


def test_kms_with_stack_key_passes():
    assert stack_messages("ecr-kms", stack(BASE)) == []


def test_kms_via_stack_alias_passes():
    alias = urn("aws:kms/alias:Alias", "alias")
    repo = Resource(type=REPOSITORY, props=BASE, urn=REPO_URN, property_dependencies={
        "encryptionConfigurations": (alias,)})
    assert stack_messages("ecr-kms", [repo]) == []


@pytest.mark.parametrize(
    ("encryption", "expected"),
    [
        (None, "encryptionConfigurations.encryptionType is AES256, expected KMS with this stack's key"),
        ([{"encryptionType": "AES256"}], "encryptionConfigurations.encryptionType is AES256, expected KMS"),
        ([{"encryptionType": "KMS"}], "encryptionConfigurations.kmsKey is not set, so the AWS-managed key is used"),
        ([{"encryptionType": "KMS", "kmsKey": "alias/aws/ecr"}],
         "encryptionConfigurations.kmsKey is the AWS-managed key alias/aws/ecr"),
    ],
)
def test_kms_weakened_fails(encryption, expected):
    props = {**BASE, "encryptionConfigurations": encryption}
    [message] = stack_messages("ecr-kms", stack(props, key_dependency=False))
    assert message.startswith(expected)


class UnknownKey(dict):
    """An encryption block whose kmsKey is unknown at preview (a new key's ARN)."""

    def get(self, key, default=None):
        if key == "kmsKey":
            raise AssertionError("kmsKey read although a stack key stands behind it")
        return super().get(key, default)


def test_kms_key_value_is_not_read_when_a_stack_key_stands_behind_it():
    repo = repository({**BASE, "encryptionConfigurations": [UnknownKey(encryptionType="KMS")]})
    assert stack_messages("ecr-kms", [repo]) == []


def test_kms_key_outside_the_stack_fails():
    [message] = stack_messages("ecr-kms", stack(BASE, key_dependency=False))
    assert message == "encryptionConfigurations.kmsKey does not reference a KMS key of this stack; " \
        "expected the stack CMK's arn"


# --- ecr-lifecycle-keeps-rollback ---------------------------------------------------------------------------------


def lifecycle(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"repository": "shop/web", "policy": json.dumps({"rules": list(rules)})}


UNTAGGED_BY_AGE = {
    "rulePriority": 1,
    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
    "action": {"type": "expire"},
}
KEEP_30 = {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
           "action": {"type": "expire"}}


def test_lifecycle_keeping_release_images_passes():
    assert messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, lifecycle(UNTAGGED_BY_AGE, KEEP_30)) == []


def test_lifecycle_as_object_passes():
    props = {"repository": "shop/web", "policy": {"rules": [UNTAGGED_BY_AGE, KEEP_30]}}
    assert messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, props) == []


def test_lifecycle_keeping_too_few_fails():
    rule = {**KEEP_30, "selection": {**KEEP_30["selection"], "countNumber": 3.0}}
    assert messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, lifecycle(rule)) == [
        "rules[0] (priority 2): imageCountMoreThan 3 keeps fewer than 10 release images; expected countNumber >= 10"
    ]


def test_lifecycle_threshold_is_configurable():
    assert messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, lifecycle(KEEP_30), minReleaseImagesKept=50) != []


@pytest.mark.parametrize("status", ["tagged", "any"])
def test_lifecycle_expiring_release_images_by_age_fails(status):
    rule = {**UNTAGGED_BY_AGE, "selection": {**UNTAGGED_BY_AGE["selection"], "tagStatus": status,
                                             "tagPrefixList": ["v"]}}
    [message] = messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, lifecycle(rule))
    assert "sinceImagePushed expires release images by age" in message


def test_lifecycle_non_release_prefixes_may_expire_by_age():
    rule = {**UNTAGGED_BY_AGE, "selection": {**UNTAGGED_BY_AGE["selection"], "tagStatus": "tagged",
                                             "tagPrefixList": ["pr-"]}}
    assert messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, lifecycle(rule)) != []
    assert messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, lifecycle(rule), nonReleaseTagPrefixes=["pr-"]) == []


def test_lifecycle_not_json_fails():
    [message] = messages("ecr-lifecycle-keeps-rollback", LIFECYCLE, {"repository": "r", "policy": "{not json"})
    assert message.startswith("policy is not a JSON lifecycle policy")


# --- ecr-policy-not-public ----------------------------------------------------------------------------------------


def repo_policy(principal: Any, effect: str = "Allow", key: str = "Principal") -> dict[str, Any]:
    statement = {"Sid": "Pull", "Effect": effect, key: principal, "Action": ["ecr:BatchGetImage"]}
    return {"repository": "shop/web", "policy": json.dumps({"Version": "2012-10-17", "Statement": statement})}


def test_named_principal_passes():
    props = repo_policy({"AWS": ["arn:aws:iam::222222222222:root"]})
    assert messages("ecr-policy-not-public", REPO_POLICY, props) == []


def test_deny_with_wildcard_principal_passes():
    assert messages("ecr-policy-not-public", REPO_POLICY, repo_policy("*", effect="Deny")) == []


@pytest.mark.parametrize(
    ("principal", "key"),
    [("*", "Principal"), ({"AWS": "*"}, "Principal"), ({"AWS": ["arn:aws:iam::1:root", "*"]}, "Principal"),
     ({"AWS": "arn:aws:iam::222222222222:root"}, "NotPrincipal")],
)
@pytest.mark.parametrize("type_token", [REPO_POLICY, REGISTRY_POLICY])
def test_wildcard_principal_fails(principal, key, type_token):
    assert messages("ecr-policy-not-public", type_token, repo_policy(principal, key=key)) == [
        "policy statement 0 (Pull): Principal \"*\" (or NotPrincipal) shares the images with every AWS account; "
        "expected named account or role ARNs"
    ]


# --- through the real pack ----------------------------------------------------------------------------------------


def hits(diagnostics, rule):
    return [d for d in diagnostics if d.policy == rule]


def test_resource_rules_through_the_pack(policy_pack):
    good = analyze(policy_pack, REPOSITORY, BASE)
    assert hits(good, "ecr-immutable-tags") == []
    [bad] = hits(analyze(policy_pack, REPOSITORY, {**BASE, "imageTagMutability": "MUTABLE"}), "ecr-immutable-tags")
    assert bad.message.endswith("\nimageTagMutability is MUTABLE, expected IMMUTABLE")
    assert bad.enforcement == "mandatory"

    assert hits(analyze(policy_pack, LIFECYCLE, lifecycle(KEEP_30)), "ecr-lifecycle-keeps-rollback") == []
    [advice] = hits(analyze(policy_pack, LIFECYCLE, lifecycle(UNTAGGED_BY_AGE | {"selection": {"tagStatus": "any",
                    "countType": "sinceImagePushed", "countNumber": 1}})), "ecr-lifecycle-keeps-rollback")
    assert advice.enforcement == "advisory"

    assert hits(analyze(policy_pack, REPO_POLICY, repo_policy({"AWS": "arn:aws:iam::2:root"})),
                "ecr-policy-not-public") == []
    [public] = hits(analyze(policy_pack, REPO_POLICY, repo_policy("*")), "ecr-policy-not-public")
    assert public.severity == "critical"


def test_policy_not_public_cannot_be_waived(policy_pack):
    waiver = {"resource": "*", "reason": "A waiver attempt that the pack must ignore.", "approvedBy": "someone",
              "expires": "2999-01-01"}
    diagnostics = analyze(policy_pack, REPO_POLICY, repo_policy("*"),
                          config={"ecr-policy-not-public": {"waivers": [waiver]}})
    assert len(hits(diagnostics, "ecr-policy-not-public")) == 1


def test_stack_rules_through_the_pack(policy_pack):
    key = registration(KEY, {"enableKeyRotation": True}, name="key", urn=KEY_URN)
    good = registration(REPOSITORY, BASE, name="web", urn=REPO_URN, dependencies=[KEY_URN],
                        property_dependencies={"encryptionConfigurations": [KEY_URN]})
    diagnostics = analyze_stack(policy_pack, [key, good])
    assert hits(diagnostics, "ecr-scan-on-push") == [] and hits(diagnostics, "ecr-kms") == []

    weak = {**BASE, "imageScanningConfiguration": {"scanOnPush": False}, "encryptionConfigurations": None}
    bad = registration(REPOSITORY, weak, name="web", urn=REPO_URN)
    diagnostics = analyze_stack(policy_pack, [key, bad])
    [scan] = hits(diagnostics, "ecr-scan-on-push")
    [kms] = hits(diagnostics, "ecr-kms")
    assert scan.urn == REPO_URN and f"\n{SCAN_MESSAGE}" in scan.message
    assert "\nencryptionConfigurations.encryptionType is AES256" in kms.message
