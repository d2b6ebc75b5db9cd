"""Names and tags: one place decides how every physical name and tag set is spelled."""

from __future__ import annotations

from collections.abc import Mapping

from infra.config import StackConfig


def prefix(cfg: StackConfig) -> str:
    """`<project>-<stack>`: the prefix of every logical and physical name in the stack."""
    return f"{cfg.project}-{cfg.stack}"


def resource_name(cfg: StackConfig, *parts: str) -> str:
    return "-".join((prefix(cfg), *parts))


def default_tags(cfg: StackConfig) -> Mapping[str, str]:
    """Tags every AWS resource carries (via the provider's default_tags): who owns it, which stack."""
    return {
        **cfg.tags,
        "rampart:project": cfg.project,
        "rampart:stack": cfg.stack,
        "rampart:environment": cfg.environment,
        "managed-by": "pulumi",
        **recovery_tags(cfg),
    }


def recovery_tags(cfg: StackConfig) -> Mapping[str, str]:
    """The stack's recovery targets, where the policy pack can see them (it never sees stack outputs)."""
    recovery = cfg.recovery
    values = {
        "rampart:rto-minutes": recovery.rto_minutes,
        "rampart:rpo-minutes": recovery.rpo_minutes,
        "rampart:restore-rto-minutes": recovery.restore_rto_minutes,
        "rampart:region-rto-minutes": recovery.region_rto_minutes,
        "rampart:region-rpo-minutes": recovery.region_rpo_minutes,
    }
    return {key: str(value) for key, value in values.items() if value is not None}
