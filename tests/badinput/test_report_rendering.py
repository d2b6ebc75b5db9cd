"""Reports print what they are given: brackets are text, not markup; a stack that failed still appears."""

from __future__ import annotations

import io
import json

from rich.console import Console

from rampart.engine.analyzer import PackInfo
from rampart.reports import sarif, text
from rampart.reports.model import CheckReport, Finding, StackResult

PATTERN = "expected a name matching '^[a-z][a-z0-9-]{0,30}[a-z0-9]$' [bold]not markup[/bold]"


def _report(*stacks: StackResult) -> CheckReport:
    return CheckReport(pack=PackInfo(name="p", version="1.0.0", policies={}), stacks=list(stacks), source_root="",
                       program_path="")


def _text(report: CheckReport) -> str:
    buffer = io.StringIO()
    text.render(report, Console(file=buffer, width=400, color_system=None), verbose=True)
    return buffer.getvalue()


def test_square_brackets_in_a_finding_print_as_text():
    finding = Finding(policy="names[0]", urn="urn:pulumi:s::p::aws:s3/bucket:Bucket::b[1]", message=PATTERN,
                      enforcement="mandatory", severity="high", state="violation")
    output = _text(_report(StackResult(stack="staging", project="p", findings=[finding])))
    assert PATTERN in output
    assert "names[0]" in output


def test_square_brackets_in_a_stack_error_print_as_text():
    output = _text(_report(StackResult(stack="staging", project="p", error=f"Pulumi.staging.yaml: {PATTERN}")))
    assert PATTERN in output


def test_sarif_includes_a_stack_that_failed_validation():
    failed = StackResult(stack="production", project="p", stack_file="Pulumi.production.yaml",
                         error="Pulumi.production.yaml: invalid stack configuration\n  rampart:tags: holds a secure")
    document = json.loads(sarif.render(_report(StackResult(stack="staging", project="p"), failed)))
    results = document["runs"][0]["results"]
    [error] = [r for r in results if r["properties"].get("stack") == "production"]
    assert error["level"] == "error"
    assert "rampart:tags" in error["message"]["text"]
    assert error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("Pulumi.production.yaml")
