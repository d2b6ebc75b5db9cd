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
    }
