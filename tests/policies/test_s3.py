"""S3 rules: a compliant log bucket (public access block, TLS-only policy, explicit SSE, versioning) draws nothing
through the real pack; flipping one setting draws exactly its rule, mandatory in production and graded per stack
elsewhere. Pure cases pin the meaning: conditions that restrict "*", the account-wide block, literal links."""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails import s3
from guardrails.rule import Resource

from rampart.engine.recorder import UNKNOWN
from rampart.reports.model import classify
from tests.support.pack import registration
from tests.support.rules import stack_findings, urn
from tests.support.service_pack import drop, flip, hits, run

RULES = {rule.name: rule for rule in s3.POLICIES}
BUCKET_URN = urn(s3.BUCKET, "logs")
ACCOUNT = "111111111111"
ARN = "arn:aws:s3:::acme-logs"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


DELIVERY = {"Sid": "Delivery", "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": f"{ARN}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
DENY_HTTP = {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [ARN, f"{ARN}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def on_bucket(type_token: str, name: str, props: dict[str, Any]) -> Any:
    return registration(type_token, {"bucket": "acme-logs", **props}, name=name,
                        property_dependencies={"bucket": [BUCKET_URN]}, dependencies=[BUCKET_URN])


BASELINE = [
    registration(s3.BUCKET, {"bucket": "acme-logs", "forceDestroy": False}, name="logs"),
    on_bucket(s3.PUBLIC_ACCESS_BLOCK, "logs-pab", {flag: True for flag in s3.PUBLIC_ACCESS_FLAGS}),
    on_bucket(s3.BUCKET_POLICY, "logs-policy", {"policy": policy(DELIVERY, DENY_HTTP)}),
    on_bucket(s3.SSE_TYPES[0], "logs-sse",
              {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}),
    on_bucket(s3.VERSIONING_TYPES[0], "logs-versioning", {"versioningConfiguration": {"status": "Enabled"}}),
    # The bucket receives ALB access logs: that is what makes versioning required.
    registration("aws:lb/loadBalancer:LoadBalancer", {"accessLogs": {"bucket": "acme-logs", "enabled": True}},
                 name="alb", property_dependencies={"accessLogs": [BUCKET_URN]}),
]

OPEN = {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": f"{ARN}/*"}

CASES = [
    ("s3-public-access-block", lambda b: drop(b, "logs-pab"), "has no aws.s3.BucketPublicAccessBlock", "mandatory"),
    ("s3-public-access-block", lambda b: flip(b, "logs-pab", {"restrictPublicBuckets": False}),
     "leaves restrictPublicBuckets off", "mandatory"),
    ("s3-bucket-policy-not-public", lambda b: flip(b, "logs-policy", {"policy": policy(DELIVERY, DENY_HTTP, OPEN)}),
     "statement 2 (Open): Principal \"*\" without a condition", "mandatory"),
    ("s3-tls-only", lambda b: flip(b, "logs-policy", {"policy": policy(DELIVERY)}),
     "no bucket policy statement denying requests with aws:SecureTransport false", "mandatory"),
    ("s3-encryption-explicit", lambda b: drop(b, "logs-sse"), "has no default encryption configuration", "advisory"),
    ("s3-versioning-state-and-logs", lambda b: drop(b, "logs-versioning"), "holds logs but is not versioned",
     "advisory"),
]


def test_compliant_bucket_draws_no_s3_finding(policy_pack):
    assert hits(run(policy_pack, BASELINE), list(RULES)) == []


@pytest.mark.parametrize(("rule", "change", "fragment", "staging"), CASES,
                         ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_one_flipped_setting_draws_its_rule(policy_pack, rule, change, fragment, staging):
    changed = change(BASELINE)
    production = hits(run(policy_pack, changed, "production"), list(RULES))
    assert [d.policy for d in production] == [rule]
    assert fragment in production[0].message
    assert production[0].enforcement == ("advisory" if RULES[rule].enforcement == "A" else "mandatory")
    [in_staging] = hits(run(policy_pack, changed, "staging"), rule)
    assert in_staging.enforcement == staging


def test_unknown_policy_is_undeterminable_not_a_violation(policy_pack):
    changed = flip(BASELINE, "logs-policy", {"policy": UNKNOWN})
    findings = classify(run(policy_pack, changed), policy_pack.info())
    tls = [f for f in findings if f.policy == "s3-tls-only"]
    assert [f.state for f in tls] == ["undeterminable"] and not tls[0].blocking


# --- pure cases ------------------------------------------------------------------------------------------------------


def resource(type_token: str, name: str, props: dict[str, Any], **deps: Any) -> Resource:
    return Resource(type=type_token, props=props, urn=urn(type_token, name), name=name,
                    property_dependencies={k: tuple(v) for k, v in deps.items()})


def bucket_policy_messages(*statements: dict[str, Any]) -> list[str]:
    rule = RULES["s3-bucket-policy-not-public"]
    return [str(m) for m in rule.check(resource(s3.BUCKET_POLICY, "p", {"policy": policy(*statements)}), None)]


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::111111111111:distribution/E1"}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
    {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
])
def test_wildcard_principal_restricted_by_condition_passes(condition):
    assert bucket_policy_messages({**OPEN, "Condition": condition}) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_wildcard_principal_only_limited_by_tls_fails(principal):
    statement = {**OPEN, "Principal": principal, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert len(bucket_policy_messages(statement)) == 1


def test_bucket_own_policy_input_is_judged_too():
    rule = RULES["s3-bucket-policy-not-public"]
    assert len(list(rule.check(resource(s3.BUCKET, "b", {"policy": policy(OPEN)}), None))) == 1


def test_account_wide_block_covers_every_bucket():
    bucket = resource(s3.BUCKET, "b", {"bucket": "b"})
    account = resource(s3.ACCOUNT_PUBLIC_ACCESS_BLOCK, "acct", {f: True for f in s3.PUBLIC_ACCESS_FLAGS})
    assert stack_findings(RULES["s3-public-access-block"], [bucket, account]) == []
    assert len(stack_findings(RULES["s3-public-access-block"], [bucket])) == 1


def test_companions_linked_by_literal_bucket_name():
    bucket = resource(s3.BUCKET, "b", {"bucket": "acme-state"})
    flags = {f: True for f in s3.PUBLIC_ACCESS_FLAGS}
    block = resource(s3.PUBLIC_ACCESS_BLOCK, "pab", {"bucket": "acme-state", **flags})
    other = resource(s3.PUBLIC_ACCESS_BLOCK, "pab2", {"bucket": "someone-else", **flags})
    assert stack_findings(RULES["s3-public-access-block"], [bucket, block]) == []
    assert len(stack_findings(RULES["s3-public-access-block"], [bucket, other])) == 1


def test_state_bucket_by_name_needs_versioning_and_own_versioning_block_counts():
    rule = RULES["s3-versioning-state-and-logs"]
    state = resource(s3.BUCKET, "tf", {"bucket": "acme-terraform-state"})
    assert [f.message for f in stack_findings(rule, [state])] == [
        "bucket tf holds state but is not versioned; expected an aws.s3.BucketVersioning with status Enabled so an "
        "overwrite or delete can be undone"]
    assert stack_findings(rule, [resource(s3.BUCKET, "tf", {"bucket": "acme-terraform-state",
                                                             "versioning": {"enabled": True}})]) == []
    assert stack_findings(rule, [resource(s3.BUCKET, "assets", {"bucket": "acme-assets"})]) == []


def test_bucket_named_in_bucket_logging_target_is_a_log_bucket():
    rule = RULES["s3-versioning-state-and-logs"]
    target = resource(s3.BUCKET, "access", {"bucket": "acme-access"})
    logging = resource("aws:s3/bucketLogging:BucketLogging", "lg",
                       {"bucket": "acme-assets", "targetBucket": "acme-access"})
    assert len(stack_findings(rule, [target, logging])) == 1


def test_kms_and_unknown_algorithms():
    rule = RULES["s3-encryption-explicit"]
    bucket = resource(s3.BUCKET, "b", {"bucket": "b", "serverSideEncryptionConfiguration": {
        "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}}})
    assert stack_findings(rule, [bucket]) == []
    bucket = resource(s3.BUCKET, "b", {"bucket": "b", "serverSideEncryptionConfiguration": {
        "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "ROT13"}}}})
    assert [f.message for f in stack_findings(rule, [bucket])] == [
        "bucket b: sseAlgorithm 'ROT13' is not one of AES256, aws:kms, aws:kms:dsse"]


def test_tls_deny_must_cover_object_reads_and_writes():
    rule = RULES["s3-tls-only"]
    bucket = resource(s3.BUCKET, "b", {"bucket": "b"})
    narrow = {**DENY_HTTP, "Action": "s3:DeleteBucket"}
    for statement, expected in ((DENY_HTTP, 0), (narrow, 1), ({**DENY_HTTP, "Action": "*"}, 0)):
        pol = resource(s3.BUCKET_POLICY, "p", {"bucket": "b", "policy": policy(statement)})
        assert len(stack_findings(rule, [bucket, pol])) == expected
