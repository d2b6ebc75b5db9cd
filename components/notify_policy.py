"""What `rampart notify` needs in the roles that run it (deploy and rollback jobs): publish to the stack's topic,
and nothing else. Pure functions of plain values, shared by components/github_oidc.py's documents."""

from __future__ import annotations

from typing import Any


def notify_statements(*, topic_arn: str, key_arn: str | None, region: str) -> list[dict[str, Any]]:
    """sns:Publish on exactly the stack's topic; when the topic is encrypted, SNS asks KMS for a data key (and
    decrypts a cached one) with the publisher's permissions: that key, only through SNS."""
    statements: list[dict[str, Any]] = [
        {"Sid": "PublishPipelineEvents", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
    ]
    if key_arn:
        statements.append({
            "Sid": "EncryptPipelineEvents", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn, "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
        })
    return statements
