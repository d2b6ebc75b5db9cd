"""How the CloudWatch, CloudWatch Logs and SNS calls (alarm states, task logs, notifications) are authorised, for
the recorder in tests/support/aws_calls.py, including the data key SNS asks KMS for, with the publisher's
permissions, on an encrypted topic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.support.aws_calls_account import Account, Translator, _stack_key_policy
from tests.support.iam import Request

# --- CloudWatch and Logs --------------------------------------------------------------------------------------


def _describe_alarms(account: Account, p: Mapping[str, Any]) -> list[Request]:
    names = p.get("AlarmNames") or []
    if not names:
        raise KeyError("cloudwatch.DescribeAlarms without AlarmNames: add the listing form to the table")
    return [Request("cloudwatch:DescribeAlarms", account.arn("cloudwatch", f"alarm:{n}")) for n in names]


def _log_group(action: str) -> Translator:
    return lambda account, p: [Request(action, account.arn("logs", f"log-group:{p['logGroupName']}"))]


def _get_log_events(account: Account, p: Mapping[str, Any]) -> list[Request]:
    group, stream = p["logGroupName"], p["logStreamName"]
    return [Request("logs:GetLogEvents", account.arn("logs", f"log-group:{group}:log-stream:{stream}"))]


# --- SNS -------------------------------------------------------------------------------------------------------


def _publish(account: Account, p: Mapping[str, Any]) -> list[Request]:
    """Publish on the topic; to an encrypted topic SNS also asks KMS, with the publisher's permissions, for a data
    key (GenerateDataKey, and Decrypt of a cached one), through SNS."""
    topic = p["TopicArn"]
    found = [Request("sns:Publish", topic)]
    key = account.lookup("sns").get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId")
    if key:
        via_sns = {"kms:CallerAccount": account.account_id, "kms:ViaService": f"sns.{account.region}.amazonaws.com"}
        found += [Request(action, key, via_sns, origin="SNS as the caller for sns.Publish",
                          resource_policy=_stack_key_policy(account))
                  for action in ("kms:GenerateDataKey", "kms:Decrypt")]
    return found


# Each entry checked against the Service Authorization Reference (the data iam-simulate validates with).
TABLE: dict[tuple[str, str], Translator] = {
    ("cloudwatch", "DescribeAlarms"): _describe_alarms,
    ("logs", "GetLogEvents"): _get_log_events,
    ("logs", "DescribeLogStreams"): _log_group("logs:DescribeLogStreams"),
    ("logs", "FilterLogEvents"): _log_group("logs:FilterLogEvents"),
    ("sns", "Publish"): _publish,
}
