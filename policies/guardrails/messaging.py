"""Messaging rules: SNS topics, SQS queues and Kinesis streams are encrypted at rest.

SNS and Kinesis store messages unencrypted unless a KMS key is named. SQS has encrypted new queues with
SQS-owned keys (SSE-SQS) by default since 2022, so a queue fails only when `sqs_managed_sse_enabled` is
explicitly false and no KMS key is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import CHECKOV, FSBP, anchor_tags, anchored, is_false, is_set, sh_url
from guardrails.rule import Context, Framework, Resource, Rule

TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
STREAM = "aws:kinesis/stream:Stream"


def check_topic_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if not is_set(resource.props, "kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set, so messages are stored unencrypted; expected a KMS key (the stack key)"


def check_queue_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if not is_set(resource.props, "kmsMasterKeyId") and is_false(resource.get("sqsManagedSseEnabled")):
        yield ("sqsManagedSseEnabled is false and no kmsMasterKeyId is set, so messages are stored unencrypted; "
               "expected SSE-SQS or a KMS key")


def check_stream_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if str(resource.get("encryptionType", "NONE")).upper() != "KMS":
        yield "encryptionType is not KMS, so records are stored unencrypted; expected \"KMS\" with kmsKeyId"
    elif not is_set(resource.props, "kmsKeyId"):
        yield "encryptionType is KMS but kmsKeyId is not set; expected a KMS key (alias/aws/kinesis or the stack key)"


def _rule(name: str, description: str, framework: Framework, url: str, checkov: Sequence[str],
          nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement="MP", severity="medium",
                framework=framework, remediation=remediation, url=url, tags=anchor_tags(checkov, nag), **kwargs)


POLICIES: list[Rule] = [
    _rule("sns-topic-encrypted", "SNS topics are encrypted at rest with a KMS key.",
          Framework(CHECKOV, "CKV_AWS_26"), "https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html",
          ("CKV_AWS_26",), ("NIST.800.53.R5-SNSEncryptedKMS",),
          "Set `kms_master_key_id` on the aws.sns.Topic to the stack key's ARN (or alias/aws/sns).",
          resource_types=(TOPIC,), check=check_topic_encrypted),
    _rule("sqs-queue-encrypted", "SQS queues are encrypted at rest (SSE-SQS or a KMS key).",
          Framework(FSBP, "SQS.1"), sh_url("sqs", "SQS.1"), ("CKV_AWS_27",), ("AwsSolutions-SQS2",),
          "Set `kms_master_key_id` on the aws.sqs.Queue, or leave `sqs_managed_sse_enabled` at its default (true).",
          resource_types=(QUEUE,), check=check_queue_encrypted),
    _rule("kinesis-stream-encrypted", "Kinesis data streams are encrypted at rest with KMS.",
          Framework(FSBP, "Kinesis.1"), sh_url("kinesis", "Kinesis.1"), ("CKV_AWS_43",), ("AwsSolutions-KDS1",),
          "Set `encryption_type=\"KMS\"` and `kms_key_id` (the stack key, or alias/aws/kinesis) on the "
          "aws.kinesis.Stream.",
          resource_types=(STREAM,), check=check_stream_encrypted),
]
