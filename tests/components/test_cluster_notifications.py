"""Cluster and Notifications: shape, parents, names, hardening defaults, validation."""

from __future__ import annotations

import json

import pytest

from components.cluster import Cluster, ClusterArgs
from components.notifications import Notifications, NotificationsArgs
from tests.support.stacks import record_program

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555"
EMAILS = ("oncall@example.com", "platform@example.org")
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def children(rec, component_type: str):
    component = rec.one(component_type)
    return component, rec.children_of(component.urn)


# Cluster ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_rec():
    return record_program(lambda: Cluster("ecs", ClusterArgs()))


def test_cluster_children_are_parented_and_named(cluster_rec):
    component, kids = children(cluster_rec, "rampart:index:Cluster")
    assert sorted(k.name for k in kids) == ["ecs-capacity-providers", "ecs-cluster"]
    assert all(k.parent == component.urn for k in kids)


def test_container_insights_is_enhanced_by_default(cluster_rec):
    settings = cluster_rec.one("aws:ecs/cluster:Cluster").plain_inputs()["settings"]
    assert settings == [{"name": "containerInsights", "value": "enhanced"}]


def test_container_insights_enabled_is_kept():
    rec = record_program(lambda: Cluster("ecs", ClusterArgs(container_insights="enabled")))
    settings = rec.one("aws:ecs/cluster:Cluster").plain_inputs()["settings"]
    assert settings == [{"name": "containerInsights", "value": "enabled"}]


def test_capacity_providers_are_fargate_and_default_to_on_demand(cluster_rec):
    providers = cluster_rec.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders").plain_inputs()
    assert providers["clusterName"] == "ecs-cluster"
    assert sorted(providers["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert [s["capacityProvider"] for s in providers["defaultCapacityProviderStrategies"]] == ["FARGATE"]


@pytest.mark.parametrize("value", ["disabled", "", "ENHANCED"])
def test_container_insights_cannot_be_switched_off(value):
    with pytest.raises(ValueError, match=r"^ClusterArgs\.container_insights: expected"):
        Cluster("ecs", ClusterArgs(container_insights=value))


# Notifications ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notifications_rec():
    return record_program(lambda: Notifications("alerts", NotificationsArgs(kms_key_arn=KEY, emails=EMAILS)))


def test_notifications_children_are_parented_and_named(notifications_rec):
    component, kids = children(notifications_rec, "rampart:index:Notifications")
    assert len(kids) == 4
    assert all(k.parent == component.urn and k.name.startswith("alerts-") for k in kids)


def test_topic_is_encrypted_with_the_given_key(notifications_rec):
    assert notifications_rec.one(TOPIC).plain_inputs()["kmsMasterKeyId"] == KEY


def test_one_email_subscription_per_address(notifications_rec):
    topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts-topic"
    subscriptions = [s.plain_inputs() for s in notifications_rec.by_type(SUBSCRIPTION)]
    assert sorted(s["endpoint"] for s in subscriptions) == sorted(EMAILS)
    assert all(s["protocol"] == "email" and s["topic"] == topic_arn for s in subscriptions)


def test_subscription_names_do_not_expose_addresses_and_survive_reordering(notifications_rec):
    names = sorted(s.name for s in notifications_rec.by_type(SUBSCRIPTION))
    assert not any("@" in n or "example" in n for n in names)
    reordered = record_program(lambda: Notifications("alerts", NotificationsArgs(kms_key_arn=KEY, emails=EMAILS[::-1])))
    assert sorted(s.name for s in reordered.by_type(SUBSCRIPTION)) == names


def test_no_emails_means_no_subscriptions():
    rec = record_program(lambda: Notifications("alerts", NotificationsArgs(kms_key_arn=KEY)))
    assert rec.by_type(SUBSCRIPTION) == []
    assert len(rec.by_type(TOPIC)) == 1


def test_topic_policy_admits_only_codedeploy_and_cloudwatch_for_this_account(notifications_rec):
    topic_policy = notifications_rec.one("aws:sns/topicPolicy:TopicPolicy").plain_inputs()
    topic_arn = notifications_rec.one(TOPIC)
    policy = json.loads(topic_policy["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert sorted(allow["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "codedeploy.amazonaws.com"]
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert allow["Resource"] == topic_policy["arn"]
    assert topic_policy["arn"].endswith(topic_arn.name)


def test_topic_policy_denies_publishing_without_tls(notifications_rec):
    policy = json.loads(notifications_rec.one("aws:sns/topicPolicy:TopicPolicy").plain_inputs()["policy"])
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Action"] == "sns:Publish"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kms_key_arn": None}, "kms_key_arn"),
        ({"kms_key_arn": ""}, "kms_key_arn"),
        ({"kms_key_arn": KEY, "emails": "oncall@example.com"}, "emails"),
        ({"kms_key_arn": KEY, "emails": ("not-an-address",)}, "emails"),
        ({"kms_key_arn": KEY, "emails": ("a@example.com", "A@example.com")}, "emails"),
    ],
)
def test_invalid_notifications_args_are_rejected(kwargs, field):
    with pytest.raises(ValueError, match=rf"^NotificationsArgs\.{field}: expected"):
        Notifications("alerts", NotificationsArgs(**kwargs))
