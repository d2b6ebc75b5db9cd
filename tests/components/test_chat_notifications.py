"""ChatNotifications: the stack's topic in Slack and Teams through AWS Chatbot, with a narrow role and a guardrail."""

from __future__ import annotations

import json

import pytest

from components.chat_notifications import (
    ChatNotifications,
    ChatNotificationsArgs,
    SlackChannel,
    TeamsChannel,
    channel_role_policy,
)
from components.ci_policies import REFRESH_READS, ROLE_SERVICES
from tests.support.stacks import record_config, record_program, stack_config

TOPIC = "arn:aws:sns:eu-west-1:123456789012:shop-production-notifications"
SLACK = SlackChannel(team_id="T07EA123LEP", channel_id="C07EZ1ABC23")
TEAMS = TeamsChannel(tenant_id="11111111-2222-3333-4444-555555555555",
                     team_id="66666666-7777-8888-9999-000000000000", channel_id="19:abc@thread.tacv2")


def _args(**changes) -> ChatNotificationsArgs:
    values = {"name_prefix": "shop-production", "topic_arn": TOPIC, "region": "eu-west-1",
              "account_id": "123456789012", "slack": SLACK, "teams": TEAMS, **changes}
    return ChatNotificationsArgs(**values)


def test_both_channels_hear_the_topic_under_a_guardrail_with_members_own_roles():
    recording = record_program(lambda: ChatNotifications("chat", _args()))
    (slack,) = [r.plain_inputs() for r in recording.by_type("aws:chatbot/slackChannelConfiguration:"
                                                                 "SlackChannelConfiguration")]
    (teams,) = [r.plain_inputs() for r in recording.by_type("aws:chatbot/teamsChannelConfiguration:"
                                                                 "TeamsChannelConfiguration")]
    assert (slack["slackTeamId"], slack["slackChannelId"]) == (SLACK.team_id, SLACK.channel_id)
    assert (teams["tenantId"], teams["teamId"], teams["channelId"]) == (TEAMS.tenant_id, TEAMS.team_id,
                                                                         TEAMS.channel_id)
    for configuration in (slack, teams):
        assert configuration["snsTopicArns"] == [TOPIC]
        assert configuration["guardrailPolicyArns"] == ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"]
        assert configuration["userAuthorizationRequired"] is True
        assert configuration["region"] == "eu-west-1"  # the Chatbot API answers there
    (role,) = [r.plain_inputs() for r in recording.by_type("aws:iam/role:Role")]
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "chatbot.amazonaws.com"}]
    (policy,) = [json.loads(r.plain_inputs()["policy"]) for r in recording.by_type("aws:iam/rolePolicy:RolePolicy")]
    assert policy == channel_role_policy("aws", "eu-west-1", "123456789012", "shop-production")


def test_the_role_reads_only_the_stacks_alarms_and_writes_nothing():
    statements = channel_role_policy("aws", "eu-west-1", "123456789012", "shop-production")["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in actions)
    assert [s["Resource"] for s in statements] == ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:shop-production-*"]


def test_a_region_without_the_chatbot_api_uses_one_that_has_it():
    recording = record_program(lambda: ChatNotifications("chat", _args(region="eu-central-1", teams=None)))
    (slack,) = [r.plain_inputs() for r in recording.by_type("aws:chatbot/slackChannelConfiguration:"
                                                                 "SlackChannelConfiguration")]
    assert slack["region"] == "us-east-2"


@pytest.mark.parametrize("changes, named", [
    ({"slack": None, "teams": None}, "expected a slack or a teams channel"),
    ({"slack": SlackChannel(team_id="#ops", channel_id="C1")}, "ChatNotificationsArgs.slack"),
    ({"teams": TeamsChannel(tenant_id="x", team_id="y", channel_id="z")}, "ChatNotificationsArgs.teams"),
    ({"name_prefix": "bad prefix"}, "ChatNotificationsArgs.name_prefix"),
])
def test_bad_args_name_the_field(changes, named):
    with pytest.raises(ValueError, match=named):
        ChatNotifications("chat", _args(**changes))


def test_the_stack_routes_its_topic_to_chat_only_when_a_channel_is_configured():
    plain = record_config(stack_config("production"))
    assert not plain.by_type("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration")
    notifications = {"emails": ["platform-oncall@example.com"],
                     "slack": {"teamId": SLACK.team_id, "channelId": SLACK.channel_id}}
    chat = record_config(stack_config("production", notifications=notifications))
    (slack,) = [r.plain_inputs() for r in chat.by_type("aws:chatbot/slackChannelConfiguration:"
                                                            "SlackChannelConfiguration")]
    assert slack["snsTopicArns"] == [chat.outputs["notificationTopicArn"]]
    # The infrastructure role can manage what it declares: refresh reads listed, the role passable to Chatbot.
    declared = {r.type for r in chat.registrations if r.type.startswith("aws:")}
    assert declared - set(REFRESH_READS) == set()
    assert "chatbot.amazonaws.com" in ROLE_SERVICES


def test_a_channel_name_instead_of_an_id_is_a_config_error():
    with pytest.raises(Exception, match="notifications.slack.channelId|channel_id"):
        stack_config("production", notifications={"slack": {"teamId": "T07EA123LEP", "channelId": "#deploys"}})
