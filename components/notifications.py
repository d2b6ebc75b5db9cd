"""Notifications: the encrypted SNS topic that deployment events and alarms publish to, and who hears them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# The AWS services that publish here: CodeDeploy (deployment and rollback events) and CloudWatch (alarms).
PUBLISHERS = ("codedeploy.amazonaws.com", "cloudwatch.amazonaws.com")
# And, for ECS-native blue/green services, EventBridge (their "ECS Deployment State Change" events).
EVENTBRIDGE = "events.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class NotificationsArgs:
    kms_key_arn: pulumi.Input[str]
    """Key that encrypts messages at rest. Its key policy must let the publishing services use it
    (kms:GenerateDataKey*, kms:Decrypt), or CloudWatch and CodeDeploy cannot publish."""
    emails: Sequence[str] = ()
    """Addresses subscribed by email (each must confirm the subscription)."""
    eventbridge_publishes: bool = False
    """EventBridge rules deliver here too (ECS-native blue/green deployment events)."""


class Notifications(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    """Topic ARN (alarm actions, CodeDeploy triggers)."""
    topic_name: pulumi.Output[str]
    """Topic name."""

    def __init__(self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.kms_key_arn is None or (isinstance(args.kms_key_arn, str) and not args.kms_key_arn.startswith("arn:")):
            raise ValueError(f"NotificationsArgs.kms_key_arn: expected a KMS key ARN, got {args.kms_key_arn!r}")
        emails = args.emails
        if isinstance(emails, str) or not all(isinstance(e, str) and _EMAIL.match(e) for e in emails):
            raise ValueError(f"NotificationsArgs.emails: expected a list of email addresses, got {emails!r}")
        if len({e.lower() for e in emails}) != len(emails):
            raise ValueError(f"NotificationsArgs.emails: expected distinct addresses, got {list(emails)!r}")
        super().__init__("rampart:index:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        topic = aws.sns.Topic(
            f"{name}-topic",
            kms_master_key_id=args.kms_key_arn,
            tags={"Name": f"{name}-topic"},
            opts=child,
        )
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account_id).apply(
                lambda v: json.dumps(_topic_policy(*v, eventbridge=args.eventbridge_publishes))
            ),
            opts=child,
        )
        for email in emails:
            # Keyed by a hash of the address: removing one address leaves the others' subscriptions (and
            # their confirmations) alone, and the address itself stays out of the resource URN.
            digest = hashlib.sha256(email.lower().encode()).hexdigest()[:10]
            aws.sns.TopicSubscription(
                f"{name}-email-{digest}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )

        self.topic_arn = topic.arn
        self.topic_name = topic.name
        self.register_outputs({"topicArn": self.topic_arn, "topicName": self.topic_name})


def _topic_policy(topic_arn: str, account_id: str, eventbridge: bool = False) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AwsServicesPublish",
                "Effect": "Allow",
                "Principal": {"Service": [*PUBLISHERS, *([EVENTBRIDGE] if eventbridge else [])]},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                # Only on behalf of this account: another account's alarm cannot page us (confused deputy).
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
