"""Markdown tells a blocking row from an advisory one and both from rows that do not count, by icon; the text
report never hides a mandatory finding or a high/critical advisory one (a hard-coded secret), and counts the rest
with the flag that lists them."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from rampart.reports import markdown, text
from rampart.reports.markdown import ENFORCEMENT_ICONS, STATE_ICONS
from tests.support.report_samples import HOSTILE_NAME, sample_report


def _rows(rendered: str, rule: str, stack_section: str = "production") -> list[str]:
    section = rendered.split(f"### Stack `{stack_section}`", 1)[1].split("### Stack", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|") and f"`{rule}`" in line]


def test_markdown_icons_differ_per_enforcement_and_state():
    assert len(set(STATE_ICONS.values())) == len(STATE_ICONS) == 4
    assert len(set(ENFORCEMENT_ICONS.values()) | set(STATE_ICONS.values())) == 6
    rendered = markdown.render(sample_report())
    [mandatory] = _rows(rendered, "rds-not-public")
    [advisory] = _rows(rendered, "rds-not-public", "staging")
    [undeterminable] = _rows(rendered, "iam-no-admin")
    [waived] = _rows(rendered, "rds-multi-az")
    assert mandatory.startswith("| 🛑 violation |") and "| 🔒 mandatory |" in mandatory
    assert advisory.startswith("| ⚠️ violation |") and "| 💬 advisory |" in advisory
    assert undeterminable.startswith("| ❔ undeterminable |") and "| 🔒 mandatory |" in undeterminable
    assert waived.startswith("| ⏸️ waived |") and "expires 2099-12-31" in waived
    assert markdown.LEGEND in rendered


def test_markdown_lists_every_failing_property_in_one_row_and_escapes_html():
    rendered = markdown.render(sample_report())
    [hygiene] = _rows(rendered, "rds-snapshot-hygiene")
    assert hygiene.count("<br>• ") == 2 and "copyTagsToSnapshot" in hygiene
    assert HOSTILE_NAME not in rendered and "<script>" not in rendered and "<img" not in rendered
    assert "&lt;img src=x" in rendered and "&lt;until&gt;" in rendered


def _text(verbose: bool = False) -> str:
    buffer = StringIO()
    text.render(sample_report(), Console(file=buffer, width=400, color_system=None), verbose=verbose)
    return buffer.getvalue()


def test_text_always_shows_mandatory_and_high_advisory_findings():
    rendered = _text()
    for rule in ("rds-not-public", "rds-snapshot-hygiene", "recovery-objectives", "iam-no-admin", "rds-multi-az",
                 "secrets-in-environment"):
        assert rule in rendered, rule
    assert "environment DB_PASSWORD looks like a credential [bold]<b>" in rendered  # markup printed as text
    # staging's rds-not-public is advisory but critical: shown
    assert rendered.split("shop / staging", 1)[1].count("rds-not-public") == 1


def test_text_counts_the_rest_and_names_the_flag():
    rendered = _text()
    production, staging = rendered.split("shop / staging", 1)
    assert "rds-iam-auth" not in rendered and "rds-logging" not in rendered
    assert ("(2 more advisory findings of medium or low severity not shown: 2 violations; --verbose lists them)"
            in production)
    assert "(1 more advisory finding of medium or low severity not shown: 1 violation; --verbose" in staging
    verbose = _text(verbose=True)
    assert "rds-iam-auth" in verbose and "rds-logging" in verbose and "not shown" not in verbose


def test_text_lists_every_failing_property():
    rendered = _text()
    for failure in ("skipFinalSnapshot is true", "finalSnapshotIdentifier is not set", "copyTagsToSnapshot is not set"):
        assert f"• {failure}" in rendered
