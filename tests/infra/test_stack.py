"""The whole program for both project stacks, as `pulumi up` runs it: what differs by stack, what every stack
holds, and that secret values never leave their wrapping."""

from __future__ import annotations

import json

import pytest

from infra import outputs
from rampart.engine.recorder import contains_secret
from tests.support.stacks import STACKS, record_stack

SENTINELS = {"sessionKey": "sentinel-session-key-7f3a9c", "paymentsApiKey": "sentinel-payments-key-21be44"}


@pytest.fixture(scope="module")
def recordings():
    return {stack: record_stack(stack, secret_values=SENTINELS) for stack in STACKS}


def test_every_resource_belongs_to_a_component(recordings):
    for recording in recordings.values():
        for registration in recording.registrations:
            if registration.type.startswith("pulumi:providers:"):
                continue
            assert registration.parent, f"{registration.urn} is not under a component"


def test_production_and_staging_differ_where_their_config_says(recordings):
    production, staging, dev = recordings["production"], recordings["staging"], recordings["dev"]
    subnets = {s: len([r for r in rec.by_type("aws:ec2/subnet:Subnet")]) for s, rec in recordings.items()}
    # public + private per AZ: 3 AZs vs 2 (dev is sized like staging: Pulumi.dev.yaml azCount 2)
    assert subnets == {"production": 6, "staging": 4, "dev": 4}
    nats = {s: len(rec.by_type("aws:ec2/natGateway:NatGateway")) for s, rec in recordings.items()}
    assert nats == {"production": 3, "staging": 1, "dev": 1}
    configs = {s: {g.plain_inputs()["deploymentConfigName"] for g in rec.by_type(
        "aws:codedeploy/deploymentGroup:DeploymentGroup")} for s, rec in recordings.items()}
    assert configs["staging"] == configs["dev"] == {"CodeDeployDefault.ECSAllAtOnce"}
    assert all("AllAtOnce" not in name for name in configs["production"])
    desired = {s: sorted(r.plain_inputs()["desiredCount"] for r in rec.by_type("aws:ecs/service:Service"))
               for s, rec in recordings.items()}
    assert desired == {"production": [2, 3], "staging": [1, 1], "dev": [1, 1]}
    [database] = production.by_type("aws:rds/instance:Instance")
    assert database.protect and database.plain_inputs()["multiAz"] is True
    for other in (staging, dev):
        [other_database] = other.by_type("aws:rds/instance:Instance")
        assert not other_database.protect and other_database.plain_inputs()["multiAz"] is False


def test_one_rotated_key_per_stack_and_region(recordings):
    for stack, recording in recordings.items():
        keys = recording.by_type("aws:kms/key:Key")
        assert all(k.plain_inputs()["enableKeyRotation"] is True for k in keys)
        # The stack key, plus the backup copy region's own key in production (KMS keys never leave a region).
        assert len(keys) == (2 if stack == "production" else 1)
        assert len({k.provider for k in keys}) == len(keys)


def test_no_iam_user_or_access_key_anywhere(recordings):
    forbidden = {"aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/userPolicy:UserPolicy",
                 "aws:iam/userPolicyAttachment:UserPolicyAttachment", "aws:iam/userLoginProfile:UserLoginProfile"}
    for recording in recordings.values():
        assert forbidden.isdisjoint({r.type for r in recording.registrations})
        for registration in recording.registrations:
            text = json.dumps(registration.plain_inputs(), default=str)
            assert "AKIA" not in text and "aws_secret_access_key" not in text.lower()


def test_only_production_manages_repository_wide_settings(recordings):
    ruleset = "github:index/repositoryRuleset:RepositoryRuleset"
    rulesets = {s: len(rec.by_type(ruleset)) for s, rec in recordings.items()}
    assert rulesets == {"production": 1, "staging": 0, "dev": 0}


def test_exports_follow_the_published_contract(recordings):
    for stack, recording in recordings.items():
        exported = recording.outputs
        assert {outputs.ENVIRONMENT, outputs.SERVICES, outputs.DATABASE, outputs.RECOVERY, outputs.GITHUB} <= set(
            exported)
        for service in exported[outputs.SERVICES].values():
            assert set(service) == set(outputs.SERVICE_KEYS)
        assert set(exported[outputs.DATABASE]) == set(outputs.DATABASE_KEYS)
        recovery = exported[outputs.RECOVERY]
        assert recovery["worstCaseDetectionSeconds"] <= recovery["rtoMinutes"] * 60
        assert recovery["worstCaseRpoMinutes"] <= recovery["rpoMinutes"], stack


def test_secret_sentinels_never_appear_unwrapped(recordings):
    for recording in recordings.values():
        carriers = 0
        for registration in recording.registrations:
            plain = json.dumps(registration.plain_inputs(), default=str)
            if not any(sentinel in plain for sentinel in SENTINELS.values()):
                continue
            carriers += 1
            # The value is present only inside a secret wrapper, never as a plain input.
            assert contains_secret(registration.inputs), registration.urn
            assert not any(s in json.dumps(registration.redacted_inputs(), default=str) for s in SENTINELS.values())
        assert carriers >= 2  # one secret version per application secret
        exported = json.dumps(recording.outputs, default=str)
        logged = "\n".join(log.message for log in recording.logs)
        assert not any(s in exported or s in logged for s in SENTINELS.values())


def test_every_aws_resource_goes_through_a_tagging_provider(recordings):
    for stack, recording in recordings.items():
        providers = {r.urn: r for r in recording.by_type("pulumi:providers:aws")}
        for provider in providers.values():
            default_tags = provider.plain_inputs()["defaultTags"]
            # Provider inputs reach the engine JSON-encoded, as the real engine receives them.
            tags = (json.loads(default_tags) if isinstance(default_tags, str) else default_tags)["tags"]
            assert tags["rampart:stack"] == stack and tags["managed-by"] == "pulumi"
        for registration in recording.registrations:
            if registration.custom and registration.type.startswith("aws:"):
                urn = registration.provider.rsplit("::", 1)[0]
                assert urn in providers, f"{registration.urn} uses the default provider (no stack tags)"
