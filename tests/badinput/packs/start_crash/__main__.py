"""A pack whose requirements are not installed: it fails before it prints its port."""

from no_such_guardrails import POLICIES  # noqa: F401
