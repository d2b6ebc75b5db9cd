"""The rule adapter through the real analyzer protocol: waivers, expiry, unwaivable rules, thresholds,
unknown values, and how `rampart check` classifies what comes back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from guardrails.adapter import WAIVED_MESSAGE_FORMAT

from rampart.engine.recorder import UNKNOWN
from rampart.reports.model import WAIVED_MESSAGE_PATTERN, classify
from tests.support.pack import pack_session, registration

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "waivers"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()
PAST = (dt.date.today() - dt.timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def pack():
    with pack_session(PACK) as running:
        yield running


def run(pack, resources, config=None):
    pack.configure(config or {})
    diagnostics = []
    for resource in resources:
        diagnostics.extend(pack.analyze(resource))
    diagnostics.extend(pack.analyze_stack(resources))
    return classify(diagnostics, pack.info())


def waiver(resource: str, expires: str = FUTURE) -> dict:
    return {"resource": resource, "reason": "Legacy bucket kept until the data migration ends.",
            "approvedBy": "security@example.com", "expires": expires}


def test_compliant_resources_draw_nothing(pack):
    compliant = [registration(BUCKET, {"versioning": "Enabled"}), registration(KEY, {"enableKeyRotation": True})]
    assert run(pack, compliant) == []


def test_violation_carries_rule_metadata(pack):
    [finding] = run(pack, [registration(BUCKET, {}, name="logs")])
    assert (finding.policy, finding.state, finding.enforcement, finding.severity) == (
        "bucket-versioned", "violation", "mandatory", "medium")
    assert (finding.framework, finding.control, finding.url) == ("Fixture", "FX.1", "https://example.com/1")
    assert finding.message == "bucket versioning is not enabled"
    assert finding.urn.endswith("::logs")


def test_waiver_by_name_glob_turns_the_finding_into_a_visible_waived_one(pack):
    config = {"bucket-versioned": {"waivers": [waiver("legacy-*")]}}
    resources = [registration(BUCKET, {}, name="legacy-logs"),
                 registration(BUCKET, {"versioning": "Enabled"}, name="other")]
    findings = run(pack, resources, config)
    [finding] = [f for f in findings if f.policy == "bucket-versioned"]
    assert finding.state == "waived" and not finding.blocking
    assert finding.enforcement == "mandatory"
    assert finding.waiver.reason == "Legacy bucket kept until the data migration ends."
    assert finding.waiver.approved_by == "security@example.com"
    assert finding.waiver.expires == FUTURE
    assert finding.urn.endswith("::legacy-logs")


def test_waiver_for_another_resource_does_not_apply(pack):
    config = {"bucket-versioned": {"waivers": [waiver("legacy-*")]}}
    [finding] = run(pack, [registration(BUCKET, {}, name="fresh")], config)
    assert finding.state == "violation" and finding.blocking


def test_expired_waiver_no_longer_applies(pack):
    config = {"bucket-versioned": {"waivers": [waiver("legacy-logs", expires=PAST)]}}
    [finding] = run(pack, [registration(BUCKET, {}, name="legacy-logs")], config)
    assert finding.state == "violation" and finding.blocking
    assert f"(waiver expired on {PAST})" in finding.message


def test_unwaivable_rule_ignores_waivers(pack):
    # The pack rejects the key in its schema (rampart check validates config first); the rule ignores it too.
    config = {"key-rotates": {"waivers": [waiver("*")]}}
    [finding] = run(pack, [registration(KEY, {"enableKeyRotation": False})], config)
    assert finding.state == "violation" and finding.blocking
    assert "unwaivable" in pack.info().policies["key-rotates"].tags
    assert "waivers" not in pack.info().policies["key-rotates"].config_schema.get("properties", {})


def test_stack_rule_threshold_default_and_override(pack):
    buckets = [registration(BUCKET, {"versioning": "Enabled"}, name=f"b{i}") for i in range(2)]
    [finding] = run(pack, buckets)
    assert finding.policy == "bucket-budget" and finding.message == "2 buckets, at most 1"
    assert finding.urn.endswith("::b1")
    assert run(pack, buckets, {"bucket-budget": {"maxBuckets": 2}}) == []


def test_stack_rule_finding_can_be_waived(pack):
    buckets = [registration(BUCKET, {"versioning": "Enabled"}, name=f"b{i}") for i in range(2)]
    [finding] = run(pack, buckets, {"bucket-budget": {"waivers": [waiver("b1")]}})
    assert finding.state == "waived" and finding.policy == "bucket-budget"


def test_enforcement_downgraded_by_config(pack):
    [finding] = run(pack, [registration(BUCKET, {})], {"bucket-versioned": "advisory"})
    assert finding.enforcement == "advisory" and not finding.blocking


def test_unknown_value_is_undeterminable_not_pass_nor_violation(pack):
    [finding] = run(pack, [registration(KEY, {"enableKeyRotation": UNKNOWN}, name="k")])
    assert finding.state == "undeterminable" and not finding.blocking
    assert finding.policy == "key-rotates"
    assert finding.urn.endswith("::k")


def test_waived_message_format_and_report_pattern_agree():
    message = WAIVED_MESSAGE_FORMAT.format(rule="a-rule", message="it: failed [badly]", reason="Because | reasons.",
                                           approved_by="me", expires="2027-01-31")
    match = WAIVED_MESSAGE_PATTERN.match(message)
    assert match and match["rule"] == "a-rule" and match["expires"] == "2027-01-31"
    assert match["message"] == "it: failed [badly]"
