"""docs/policies.md is the catalogue auditors read: it must be current, complete, and list every waiver in force."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from guardrails import all_rules
from guardrails.catalogue_doc import DOC_PATH, cell, load_configs, load_groups, main, render
from guardrails.stack_config import CONFIG_DIR, STACKS

from tests.policies.test_inventory import INVENTORY

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "policies" / "guardrails" / "catalogue_doc.py"


def _doc() -> str:
    return DOC_PATH.read_text()


def _waivers() -> list[tuple[str, str, dict]]:
    found = []
    for stack in STACKS:
        config = json.loads((CONFIG_DIR / f"{stack}.json").read_text())
        for rule, entry in config.items():
            for waiver in entry.get("waivers") or []:
                found.append((stack, rule, waiver))
    return found


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading + "\n")
    rest = doc[start + len(heading) + 1:]
    level = heading.split(" ")[0]
    end = re.search(rf"^{level} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_doc_is_up_to_date_via_the_cli():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_doc_is_up_to_date():
    assert main(["--check"]) == 0


def test_doc_names_every_pinned_rule_in_a_table_row():
    doc = _doc()
    rules = all_rules()
    assert [r.name for r in rules] == [name for name, _, _ in INVENTORY]
    for rule in rules:
        assert re.search(rf"^\| `{re.escape(rule.name)}`", doc, flags=re.MULTILINE), rule.name


def test_every_rule_row_sits_under_its_group_heading():
    doc = _doc()
    for group, _, rules in load_groups():
        section = _section(doc, f"### {group} ({len(rules)} rules)")
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert [re.match(r"\| `([^`]+)`", row)[1] for row in rows] == [r.name for r in rules]
        for rule, row in zip(rules, rows, strict=True):
            assert f" | {rule.enforcement} | {rule.severity} | " in row
            assert cell(rule.framework.reference) in row
            assert cell(rule.remediation) in row
            assert rule.url in row


def test_doc_lists_every_waiver_from_the_config_files():
    waivers = _waivers()
    # Both stacks carry at least the read-only role's waiver; an empty list would make this test vacuous.
    assert {stack for stack, _, _ in waivers} == set(STACKS)
    doc = _doc()
    for stack, rule, waiver in waivers:
        section = _section(doc, f"### {stack}")
        # One reason may justify waivers under several rules (one role, two findings): match the whole row.
        row = next((line for line in section.splitlines()
                    if cell(waiver["reason"]) in line and line.startswith(f"| `{rule}` | ")
                    and waiver["resource"] in line), None)
        assert row is not None, f"{stack}/{rule}: waiver for {waiver['resource']} not listed"
        assert waiver["resource"] in row and waiver["approvedBy"] in row and waiver["expires"] in row


def test_doc_lists_unwaivable_rules_and_thresholds_per_stack():
    doc = _doc()
    waiver_section = _section(doc, "## Waivers")
    unwaivable = [r.name for r in all_rules() if not r.waivable]
    assert unwaivable
    for name in unwaivable:
        assert f"| `{name}` |" in waiver_section
    thresholds = _section(doc, "## Thresholds per stack")
    assert "| `rds-backup-retention` | `minRetentionDays` | `14` | `7` |" in thresholds
    assert "| `log-group-retention` | `minRetentionDays` | `365` | `30` |" in thresholds


def test_stale_doc_is_detected(tmp_path):
    stale = tmp_path / "policies.md"
    stale.write_text(_doc().replace("`rds-multi-az`", "`rds-single-az`"))
    assert main(["--check", "--output", str(stale)]) == 1
    missing = tmp_path / "missing.md"
    assert main(["--check", "--output", str(missing)]) == 1
    assert main(["--output", str(missing)]) == 0
    assert main(["--check", "--output", str(missing)]) == 0


def test_removing_a_rule_makes_the_committed_doc_stale(monkeypatch):
    import guardrails.kms as kms

    monkeypatch.setattr(kms, "POLICIES", kms.POLICIES[1:])
    assert main(["--check"]) == 1


def test_a_changed_rule_or_waiver_changes_the_rendering():
    groups = load_groups()
    configs = load_configs()
    current = render(groups, configs)
    assert current == _doc()

    group, doc, rules = groups[0]
    regraded = [dataclasses.replace(rules[0], enforcement="A" if rules[0].enforcement != "A" else "M"), *rules[1:]]
    assert render([(group, doc, regraded), *groups[1:]], configs) != current
    assert render([(group, doc, rules[1:]), *groups[1:]], configs) != current

    new_waiver = {"resource": "rampart-staging-x", "reason": "a reason long enough to pass", "approvedBy": "me",
                  "expires": "2030-01-01"}
    changed = json.loads(json.dumps(configs))
    changed["staging"]["rds-multi-az"]["waivers"] = [new_waiver]
    assert render(groups, changed) != current


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a|b", "a\\|b"), ("line one\nline two", "line one line two")],
)
def test_cells_escape_pipes_and_stay_on_one_line(raw, expected):
    assert cell(raw) == expected
