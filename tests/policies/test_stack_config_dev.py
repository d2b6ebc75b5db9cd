"""Dev is staging plus its stated difference: only critical and high M rules stay mandatory.

Pins the relationship between the two rendered configs, so that building dev's thresholds from staging's
(rather than a copy of them) cannot drift a threshold or an enforcement level unnoticed.
"""

from __future__ import annotations

from guardrails import all_rules
from guardrails.stack_config import render


def test_dev_renders_as_staging_with_only_critical_and_high_m_rules_kept_mandatory():
    rules = {rule.name: rule for rule in all_rules()}
    staging, dev = render(list(rules.values()), "staging"), render(list(rules.values()), "dev")
    assert dev.keys() == staging.keys()
    downgraded = set()
    for name, entry in dev.items():
        assert {k: v for k, v in entry.items() if k != "enforcementLevel"} == {
            k: v for k, v in staging[name].items() if k != "enforcementLevel"
        }, name
        if entry["enforcementLevel"] != staging[name]["enforcementLevel"]:
            rule = rules[name]
            assert (staging[name]["enforcementLevel"], entry["enforcementLevel"]) == ("mandatory", "advisory"), name
            assert rule.enforcement == "M" and rule.severity not in ("critical", "high"), name
            downgraded.add(name)
    # The difference is real: some M rules of lower severity advise in dev and block in staging.
    assert downgraded
