"""Log group rules (24-25): pure-function flips plus one pass and one fail through the real pack each."""

from __future__ import annotations

import pytest
from guardrails.logs import POLICIES, check_log_group_kms, check_log_group_retention
from guardrails.rule import Context, Resource

from tests.support.pack import analyze, analyze_stack, registration

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
KEY_URN = f"urn:pulumi:test::rampart::{KEY}::cmk"
RULES = {rule.name: rule for rule in POLICIES}


def ctx(rule: str, **overrides) -> Context:
    return Context(config={**RULES[rule].thresholds, **overrides})


def retention(props: dict, **overrides) -> list[str]:
    return list(check_log_group_retention(Resource(LOG_GROUP, props), ctx("log-group-retention", **overrides)))


def test_retention_of_a_year_passes():
    assert retention({"retentionInDays": 365}) == []
    assert retention({"retentionInDays": 3653.0}) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({}, "retentionInDays is not set"),
        ({"retentionInDays": 90}, "retentionInDays is 90: expected at least 365 days"),
        ({"retentionInDays": 364.0}, "retentionInDays is 364: expected at least 365 days"),
    ],
)
def test_retention_missing_or_short_fails(props, expected):
    [message] = retention(props)
    assert expected in message


def test_retention_minimum_is_a_threshold():
    assert retention({"retentionInDays": 30}, minRetentionDays=30) == []
    assert retention({"retentionInDays": 14}, minRetentionDays=30) != []


def test_never_expire_passes_unless_disallowed():
    assert retention({"retentionInDays": 0}) == []
    [message] = retention({"retentionInDays": 0}, allowNeverExpire=False)
    assert "never expire" in message


def kms(resources, **overrides):
    return list(check_log_group_kms(resources, ctx("log-group-kms", **overrides)))


def group(**kwargs) -> Resource:
    props = kwargs.pop("props", {"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc"})
    return Resource(LOG_GROUP, props, urn="urn:lg", **kwargs)


KEY_RESOURCE = Resource(KEY, {"enableKeyRotation": True}, urn=KEY_URN)


def test_kms_from_a_stack_key_passes():
    assert kms([KEY_RESOURCE, group(property_dependencies={"kmsKeyId": [KEY_URN]})]) == []


def test_kms_dependency_on_stack_key_counts_when_property_dependencies_are_absent():
    assert kms([KEY_RESOURCE, group(dependencies=[KEY_URN])]) == []


def test_kms_missing_fails():
    [finding] = kms([KEY_RESOURCE, group(props={})])
    assert finding.urn == "urn:lg" and "kmsKeyId is not set" in finding.message


def test_kms_foreign_key_fails_unless_listed():
    foreign = "arn:aws:kms:us-east-1:123456789012:key/abc"
    [finding] = kms([KEY_RESOURCE, group()])
    assert "is not a KMS key of this stack" in finding.message
    assert kms([group()], externalKeyArns=[foreign]) == []


def test_kms_dependency_on_key_through_another_property_does_not_count():
    grp = group(property_dependencies={"kmsKeyId": [], "name": [KEY_URN]}, dependencies=[KEY_URN])
    assert len(kms([KEY_RESOURCE, grp])) == 1


def test_retention_through_the_pack(policy_pack):
    passing = analyze(policy_pack, LOG_GROUP, {"retentionInDays": 365})
    assert [d for d in passing if d.policy == "log-group-retention"] == []
    failing = analyze(policy_pack, LOG_GROUP, {"retentionInDays": 7}, name="short")
    [diag] = [d for d in failing if d.policy == "log-group-retention"]
    assert diag.message.endswith("retentionInDays is 7: expected at least 365 days")
    assert diag.enforcement == "mandatory"


def test_retention_threshold_from_pack_config(policy_pack):
    diags = analyze(policy_pack, LOG_GROUP, {"retentionInDays": 30},
                    config={"log-group-retention": {"minRetentionDays": 30}})
    assert [d for d in diags if d.policy == "log-group-retention"] == []


def test_kms_through_the_pack(policy_pack):
    key = registration(KEY, {"enableKeyRotation": True}, name="cmk")
    good = registration(LOG_GROUP, {"kmsKeyId": "arn:k", "retentionInDays": 365}, name="good",
                        property_dependencies={"kmsKeyId": [key.urn]}, dependencies=[key.urn])
    bad = registration(LOG_GROUP, {"retentionInDays": 365}, name="bad")
    diags = [d for d in analyze_stack(policy_pack, [key, good, bad]) if d.policy == "log-group-kms"]
    assert [(d.urn.rsplit("::", 1)[-1], d.message.splitlines()[-1]) for d in diags] == [
        ("bad", "kmsKeyId is not set: expected the ARN of this stack's KMS key")]
