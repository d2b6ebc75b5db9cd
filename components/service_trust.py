"""The trust policy of a role an AWS service assumes on this account's behalf.

Every such role carries the confused-deputy guard: the service may assume it only for requests made for this
account (`aws:SourceAccount`), and, where the caller's resource is known, only for that service's resources in this
region (`aws:SourceArn`). One builder, so a role cannot drop the guard by copying an older document.
"""

from __future__ import annotations

import json
from typing import Any


def service_trust(principal: str, account_id: str, *, source_arn: str | None = None) -> str:
    """The trust document, as JSON, for `principal` (e.g. `monitoring.rds.amazonaws.com`) acting for
    `account_id`; `source_arn` (a pattern, ArnLike) narrows it to the calling resources."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": condition,
                }
            ],
        }
    )
