"""The account the recorded calls land in (tests/support/aws_calls.py), and what the per-service translations
share: the tag context of a create, KMS keys and their policy as the stack declares them, and actions AWS
authorises on `*` only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.iam import Request


@dataclass
class Account:
    """Where the calls land: ARNs are built as AWS builds them for this account and region."""

    account_id: str
    region: str
    lookup: Callable[[str], Any] = field(repr=False, default=None)  # type: ignore[assignment]
    """An unrecorded client (moto) for facts AWS knows at authorisation time: tags, a deployment's group."""

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id}:{resource}"

    def cluster_arn(self, cluster: str | None) -> str:
        cluster = cluster or "default"
        return cluster if cluster.startswith("arn:") else self.arn("ecs", f"cluster/{cluster}")


Translator = Callable[[Account, Mapping[str, Any]], list[Request]]

STACK_ARN_TAG = "world:stack-arn"
"""moto names KMS keys itself; a world key tagged with this carries the ARN the stack declares for it."""


def _key_as_declared(account: Account, key: str) -> str:
    """The ARN the stack's policies name for a world key (its `STACK_ARN_TAG`), else the key as AWS names it."""
    tags = account.lookup("kms").list_resource_tags(KeyId=key).get("Tags", [])
    return next((t["TagValue"] for t in tags if t["TagKey"] == STACK_ARN_TAG), key)


def _tag_context(tags: list[Mapping[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, Any]:
    if not tags:
        return {}
    context: dict[str, Any] = {f"aws:RequestTag/{t[key]}": t[value] for t in tags}
    context["aws:TagKeys"] = [t[key] for t in tags]
    return context


def _wildcard(action: str) -> Translator:
    """An action with no resource-level permissions: AWS authorises it on `*` only."""
    return lambda account, p: [Request(action, "*")]


def _stack_key_policy(account: Account) -> dict[str, Any]:
    """KMS decides with the key's own policy too: the stack key's, as components/keys.py writes it."""
    import json

    from components.keys import key_policy

    return json.loads(key_policy(account.account_id, account.region))
