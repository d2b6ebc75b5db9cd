"""Lifecycle rule (catalogue 58): a fixed name of a type whose name forces replacement, without
deleteBeforeReplace, is reported; delete-before-replace, Pulumi's auto-naming and the exempt types pass."""

from __future__ import annotations

import dataclasses

import pytest
from guardrails import lifecycle
from guardrails.rule import Resource, findings

from tests.support.pack import registration
from tests.support.rules import rule_context, urn

RULE = lifecycle.POLICIES[0]
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
TG = {"name": "shop-web-blue", "port": 8080.0, "protocol": "HTTP", "targetType": "ip", "vpcId": "vpc-1"}


def _messages(type_token: str, props: dict, delete_before_replace: bool = False) -> list[str]:
    resource = Resource(type_token, props, urn=urn(type_token, "x"), name="x",
                        delete_before_replace=delete_before_replace)
    return [f.message for f in findings(RULE.check(resource, rule_context(RULE)), resource.urn)]


def test_fixed_name_without_delete_before_replace_is_reported():
    [message] = _messages(TARGET_GROUP, TG)
    assert message.startswith("name is fixed ('shop-web-blue') and forces replacement, without deleteBeforeReplace")


def test_delete_before_replace_passes():
    assert not _messages(TARGET_GROUP, TG, delete_before_replace=True)


@pytest.mark.parametrize("props", [{**TG, "name": None}, {k: v for k, v in TG.items() if k != "name"},
                                   {**{k: v for k, v in TG.items() if k != "name"}, "namePrefix": "web-"}])
def test_pulumi_named_resources_pass(props):
    assert not _messages(TARGET_GROUP, props)


def test_the_rule_reads_each_types_own_name_input():
    config = "aws:codedeploy/deploymentConfig:DeploymentConfig"
    assert config in lifecycle.EXEMPT and not _messages(config, {"deploymentConfigName": "shop-canary-10pct-5m"})
    alarm = "aws:cloudwatch/metricAlarm:MetricAlarm"
    assert _messages(alarm, {"name": "shop-web-5xx"})


@pytest.mark.parametrize("type_token", sorted(lifecycle.EXEMPT))
def test_exempt_types_pass_with_a_reason(type_token):
    key = lifecycle.NAME_FORCES_REPLACEMENT[type_token][0]
    assert not _messages(type_token, {key: "fixed"})
    assert len(lifecycle.EXEMPT[type_token]) > 40


def test_through_the_pack(policy_pack):
    plain = registration(TARGET_GROUP, TG, name="tg")
    guarded = dataclasses.replace(registration(TARGET_GROUP, TG, name="tg2"), delete_before_replace=True)
    policy_pack.configure({})
    hit = [d.urn for r in (plain, guarded) for d in policy_pack.analyze(r) if d.policy == RULE.name]
    assert hit == [plain.urn]
