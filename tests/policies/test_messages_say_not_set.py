"""A field a program left out reads "is not set" in every rule's message, never Python's "is None" (found by a
new-user trial on public programs: the ALB access-log and GitHub secret-scanning messages said "... is None"
where the other rules say "is not set"; others said "is unset" or quoted 'not set'). Each resource rule meets a
resource of each type it judges with no inputs at all, the shape that reaches most "field missing" branches; the
rules' own test files pin the exact wording."""

from __future__ import annotations

import pytest
from guardrails import all_rules
from guardrails.rule import Undeterminable

from tests.support.rules import resource_messages

CASES = [(rule, type_token) for rule in all_rules() if rule.check is not None for type_token in rule.resource_types]


@pytest.mark.parametrize(("rule", "type_token"), CASES, ids=[f"{r.name}:{t.rsplit(':', 1)[-1]}" for r, t in CASES])
def test_a_missing_field_is_not_set_not_none(rule, type_token):
    try:
        messages = resource_messages(rule, type_token, {})
    except Undeterminable:  # nothing said: nothing to word
        return
    assert [m for m in messages if "None" in m or " is unset" in m or "is 'not set'" in m] == []
