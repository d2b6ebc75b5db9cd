"""Chat notifications: the stack's SNS topic routed to a Slack and/or Microsoft Teams channel through AWS Chatbot.

CloudWatch alarms and CodeDeploy events already publish to the topic; the workflows publish their own pipeline
events to it in Chatbot's custom notification format (`rampart notify`), so one channel hears every step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

CHATBOT_PRINCIPAL = "chatbot.amazonaws.com"
GUARDRAIL_POLICY = "policy/CloudWatchReadOnlyAccess"
"""The channel guardrail (an AWS-managed policy, so the infrastructure role needs no right to write IAM policies):
whatever role a channel member brings, actions from the channel stay CloudWatch reads. Without one, Chatbot
applies AdministratorAccess."""
LOGGING_LEVEL = "ERROR"
CHATBOT_API_REGIONS = ("us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1")
"""Where the Chatbot API answers (its configurations are global): the stack's region when it is one of these."""
_SLACK_ID = re.compile(r"^[A-Za-z0-9]{1,255}$")
_UUID = re.compile(r"^[0-9A-Fa-f-]{36}$")
_PREFIX = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,50}$")


@dataclass(frozen=True, kw_only=True)
class SlackChannel:
    team_id: str
    """The Slack workspace id authorised in the AWS Chatbot console (T…)."""
    channel_id: str


@dataclass(frozen=True, kw_only=True)
class TeamsChannel:
    tenant_id: str
    team_id: str
    """The team authorised in the AWS Chatbot console."""
    channel_id: str


@dataclass(frozen=True, kw_only=True)
class ChatNotificationsArgs:
    name_prefix: str
    """Prefix of the role and configuration names; also the prefix of the stack's alarm names."""
    topic_arn: pulumi.Input[str]
    """The stack's notifications topic (components/notifications.py)."""
    partition: str = "aws"
    region: str
    account_id: pulumi.Input[str]
    slack: SlackChannel | None = None
    teams: TeamsChannel | None = None


def _validate(args: ChatNotificationsArgs) -> None:
    if not _PREFIX.match(args.name_prefix):
        raise ValueError(f"ChatNotificationsArgs.name_prefix: expected IAM name characters, got {args.name_prefix!r}")
    if args.slack is None and args.teams is None:
        raise ValueError("ChatNotificationsArgs: expected a slack or a teams channel (build nothing when neither)")
    if args.slack is not None and not (_SLACK_ID.match(args.slack.team_id) and _SLACK_ID.match(args.slack.channel_id)):
        raise ValueError("ChatNotificationsArgs.slack: expected Slack ids (letters and digits), not channel names")
    if args.teams is not None:
        if not (_UUID.match(args.teams.tenant_id) and _UUID.match(args.teams.team_id)):
            raise ValueError("ChatNotificationsArgs.teams: expected tenant_id and team_id as UUIDs")
        if not args.teams.channel_id.strip():
            raise ValueError("ChatNotificationsArgs.teams.channel_id: expected the channel id")


def trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AwsChatbot", "Effect": "Allow", "Principal": {"Service": CHATBOT_PRINCIPAL},
                       "Action": "sts:AssumeRole"}],
    }


def channel_role_policy(partition: str, region: str, account_id: str, name_prefix: str) -> dict[str, Any]:
    """What Chatbot itself needs to render the topic's notifications: the stack's alarms."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # No metric reads on `*` for graphs (the pack's iam-no-wildcards rule): the alarm itself says enough.
            {"Sid": "ReadTheStacksAlarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
             "Resource": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{name_prefix}-*"},
        ],
    }


class ChatNotifications(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """The role AWS Chatbot assumes for the channels."""
    configuration_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ChatNotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("rampart:index:ChatNotifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            name=f"{args.name_prefix}-chatbot",
            description="AWS Chatbot: the stack's notifications in chat (reads its alarms, nothing else)",
            assume_role_policy=json.dumps(trust_policy()),
            force_detach_policies=True,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.name,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(channel_role_policy(args.partition, args.region, account, args.name_prefix))
            ),
            opts=child,
        )
        shared: dict[str, Any] = {
            "iam_role_arn": role.arn,
            "sns_topic_arns": [args.topic_arn],
            "guardrail_policy_arns": [f"arn:{args.partition}:iam::aws:{GUARDRAIL_POLICY}"],
            # Members act with their own roles (capped by the guardrail), never with the channel's.
            "user_authorization_required": True,
            "logging_level": LOGGING_LEVEL,
            "region": args.region if args.region in CHATBOT_API_REGIONS else CHATBOT_API_REGIONS[0],
        }
        arns: list[pulumi.Output[str]] = []
        if args.slack is not None:
            arns.append(aws.chatbot.SlackChannelConfiguration(
                f"{name}-slack", configuration_name=f"{args.name_prefix}-slack",
                slack_team_id=args.slack.team_id, slack_channel_id=args.slack.channel_id, **shared, opts=child,
            ).chat_configuration_arn)
        if args.teams is not None:
            arns.append(aws.chatbot.TeamsChannelConfiguration(
                f"{name}-teams", configuration_name=f"{args.name_prefix}-teams", tenant_id=args.teams.tenant_id,
                team_id=args.teams.team_id, channel_id=args.teams.channel_id, **shared, opts=child,
            ).chat_configuration_arn)
        self.role_arn = role.arn
        self.configuration_arns = pulumi.Output.all(*arns)
        self.register_outputs({"roleArn": self.role_arn, "configurationArns": self.configuration_arns})
