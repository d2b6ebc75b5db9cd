"""WebAcl: the public load balancer sits behind managed exploit rules, IP reputation and a rate limit, with
request logs encrypted and retained."""

from __future__ import annotations

import pytest

from components.web_acl import MANAGED_RULE_GROUPS, WebAcl, WebAclArgs
from tests.support.stacks import record_program

ALB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/rampart-production/50dc6c495c0c9188"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def args(**overrides) -> WebAclArgs:
    return WebAclArgs(**{"name_prefix": "rampart-production", "resource_arn": ALB, "kms_key_arn": KEY, **overrides})


@pytest.fixture(scope="module")
def rec():
    return record_program(lambda: WebAcl("waf", args()))


def test_children_are_parented_and_named(rec):
    [component] = rec.by_type("rampart:index:WebAcl")
    children = rec.children_of(component.urn)
    assert {c.name for c in children} == {"waf-acl", "waf-association", "waf-logs", "waf-logging"}


def test_managed_rule_groups_and_rate_limit_are_enforced(rec):
    acl = rec.one("aws:wafv2/webAcl:WebAcl").plain_inputs()
    assert acl["scope"] == "REGIONAL"
    rules = {r["name"]: r for r in acl["rules"]}
    assert set(MANAGED_RULE_GROUPS) < set(rules)
    for group in MANAGED_RULE_GROUPS:
        # `none` keeps the managed group's own block actions; `count` would only observe.
        assert rules[group]["overrideAction"] == {"none": {}}
    rate = rules["rate-limit-per-client"]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rateBasedStatement"]["limit"] == 2000


def test_the_acl_is_associated_with_the_load_balancer(rec):
    association = rec.one("aws:wafv2/webAclAssociation:WebAclAssociation").plain_inputs()
    assert association["resourceArn"] == ALB


def test_logs_are_encrypted_retained_and_redacted(rec):
    group = rec.one("aws:cloudwatch/logGroup:LogGroup").plain_inputs()
    assert group["name"].startswith("aws-waf-logs-")
    assert group["kmsKeyId"] == KEY and group["retentionInDays"] == 365
    logging = rec.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").plain_inputs()
    redacted = {f["singleHeader"]["name"] for f in logging["redactedFields"]}
    assert {"authorization", "cookie"} <= redacted


@pytest.mark.parametrize(("field", "value"), [("rate_limit_per_five_minutes", 10), ("log_retention_days", 0)])
def test_invalid_args_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"WebAclArgs.{field}"):
        WebAcl("waf", args(**{field: value}))
