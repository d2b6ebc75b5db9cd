"""Rules for alb (filled per catalogue)."""

from __future__ import annotations

from guardrails.rule import Rule

POLICIES: list[Rule] = []
