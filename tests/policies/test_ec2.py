"""EC2 rules: a hardened instance and launch template draw nothing through the real pack; flipping one field
draws exactly its rule (production mandatory, staging per grade). Pure cases: string booleans of launch
templates, IMDS turned off, EBS encryption by default, unknown values."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import ec2
from guardrails.rule import Resource

from rampart.engine.recorder import UNKNOWN
from rampart.reports.model import classify
from tests.support.pack import registration
from tests.support.rules import resource_messages, stack_findings, urn
from tests.support.service_pack import flip, hits, run

RULES = {rule.name: rule for rule in ec2.POLICIES}

INSTANCE: dict[str, Any] = {
    "ami": "ami-0abc", "instanceType": "t3.micro", "subnetId": "subnet-private-a",
    "associatePublicIpAddress": False,
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1.0, "httpEndpoint": "enabled"},
    "rootBlockDevice": {"encrypted": True, "volumeSize": 20.0},
    "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True, "volumeSize": 50.0}],
}
TEMPLATE: dict[str, Any] = {
    "imageId": "ami-0abc", "instanceType": "t3.micro",
    "metadataOptions": {"httpTokens": "required"},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 20.0}}],
    "networkInterfaces": [{"associatePublicIpAddress": "false", "subnetId": "subnet-private-a"}],
}
BASELINE = [registration(ec2.INSTANCE, INSTANCE, name="app"), registration(ec2.LAUNCH_TEMPLATE, TEMPLATE, name="lt")]

CASES = [
    ("ec2-imdsv2-required", "app", {"metadataOptions": {"httpTokens": "optional"}},
     "metadataOptions.httpTokens is 'optional'"),
    ("ec2-imdsv2-required", "lt", {"metadataOptions": None}, "metadataOptions.httpTokens is not set"),
    ("ec2-ebs-encrypted", "app", {"rootBlockDevice": {"volumeSize": 20.0}}, "rootBlockDevice.encrypted is not set"),
    ("ec2-ebs-encrypted", "lt", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
     "blockDeviceMappings[0].ebs.encrypted is false"),
    ("ec2-no-public-ip", "app", {"associatePublicIpAddress": True}, "associatePublicIpAddress is true"),
    ("ec2-no-public-ip", "lt", {"networkInterfaces": [{"associatePublicIpAddress": "true"}]},
     "networkInterfaces[0].associatePublicIpAddress is true"),
]


def test_hardened_instance_and_template_draw_no_ec2_finding(policy_pack):
    assert hits(run(policy_pack, BASELINE), list(RULES)) == []


@pytest.mark.parametrize(("rule", "name", "change", "fragment"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_one_flipped_field_draws_its_rule(policy_pack, rule, name, change, fragment):
    changed = flip(BASELINE, name, change)
    [production] = hits(run(policy_pack, changed, "production"), list(RULES))
    assert production.policy == rule and fragment in production.message and production.urn.endswith(f"::{name}")
    assert production.enforcement == "mandatory"
    [staging] = hits(run(policy_pack, changed, "staging"), rule)
    assert staging.enforcement == ("mandatory" if RULES[rule].enforcement == "M" else "advisory")


def test_unknown_metadata_options_are_undeterminable(policy_pack):
    changed = flip(BASELINE, "app", {"metadataOptions": UNKNOWN})
    findings = [f for f in classify(run(policy_pack, changed), policy_pack.info()) if f.policy == "ec2-imdsv2-required"]
    assert [f.state for f in findings] == ["undeterminable"]


def test_metadata_service_turned_off_passes():
    assert resource_messages(RULES["ec2-imdsv2-required"], ec2.INSTANCE,
                             {"metadataOptions": {"httpEndpoint": "disabled"}}) == []


def res(type_token: str, name: str, props: dict[str, Any]) -> Resource:
    return Resource(type=type_token, props=props, urn=urn(type_token, name), name=name)


def test_ebs_encryption_by_default_covers_every_volume():
    rule = RULES["ec2-ebs-encrypted"]
    bare = [res(ec2.INSTANCE, "app", {"ami": "ami-0abc"}), res(ec2.VOLUME, "data", {"size": 10.0})]
    assert [f.message for f in stack_findings(rule, bare)] == [
        "app: rootBlockDevice.encrypted is not set; expected true (or the account's EBS encryption by default)",
        "data: encrypted is not set; expected true (or the account's EBS encryption by default)",
    ]
    assert stack_findings(rule, [*bare, res(ec2.ENCRYPTION_BY_DEFAULT, "ebs", {"enabled": True})]) == []
    assert len(stack_findings(rule, [*bare, res(ec2.ENCRYPTION_BY_DEFAULT, "ebs", {"enabled": False})])) == 2


def test_instance_store_mappings_are_not_ebs():
    rule = RULES["ec2-ebs-encrypted"]
    template = res(ec2.LAUNCH_TEMPLATE, "lt", {"blockDeviceMappings": [{"deviceName": "/dev/sdb",
                                                                          "virtualName": "ephemeral0"}]})
    assert stack_findings(rule, [template]) == []
