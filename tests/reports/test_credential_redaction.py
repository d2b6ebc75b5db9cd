"""No report format carries a credential written in plain text in the program (issue 16): inputs a rule would
call a credential (by name, word by word, or by shape) and known password-bearing properties are redacted, stack
exports the same way, and a finding message never quotes a secret-marked or credential value (pulumi_policy
unwraps secrets before a rule sees them, so a rule that quotes a value can quote a secret)."""

from __future__ import annotations

import ast
import json
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from rampart.engine.check import CheckOptions, run_check
from rampart.reports import html_report, json_report, markdown, sarif, text
from rampart.reports.redaction import CREDENTIAL_MARKER

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "fixtures" / "programs" / "plain_credentials"


def _sentinels() -> tuple[str, ...]:
    """The program's SENTINELS tuple, read from its source (the program is not importable: it registers)."""
    tree = ast.parse((PROGRAM / "__main__.py").read_text())
    [value] = [node.value for node in tree.body
               if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SENTINELS"]
    return ast.literal_eval(value)


@pytest.fixture(scope="module")
def report():
    return run_check(CheckOptions(program_dir=PROGRAM, pack_dir=ROOT / "policies", stacks=("production",)))


def _text(report) -> str:
    buffer = StringIO()
    text.render(report, Console(file=buffer, width=400, color_system=None), verbose=True)
    return buffer.getvalue()


def _rendered(report) -> dict[str, str]:
    return {"json": json_report.render(report), "sarif": sarif.render(report), "markdown": markdown.render(report),
            "html": html_report.render(report), "text": _text(report)}


def test_no_report_format_contains_a_planted_credential(report):
    [result] = report.stacks
    assert result.error is None
    sentinels = _sentinels()
    leaked = {name: [s for s in sentinels if s in body] for name, body in _rendered(report).items()}
    assert leaked == {name: [] for name in leaked}


def test_the_planted_credentials_are_marked_redacted_where_they_were(report):
    """Not vacuous: each resource is in the report, with the marker where its credential was."""
    [result] = report.stacks
    inputs = {r.name: r.inputs for r in result.resources}
    [worker] = json.loads(inputs["worker"]["containerDefinitions"])
    assert [v["value"] for v in worker["environment"]] == [CREDENTIAL_MARKER] * 2
    assert inputs["exporter"]["environment"]["variables"] == {"API_TOKEN": CREDENTIAL_MARKER,
                                                             "CACHE_URL": CREDENTIAL_MARKER}
    assert inputs["build"]["environment"]["environmentVariables"][0]["value"] == CREDENTIAL_MARKER
    assert inputs["events"]["users"][0]["password"] == CREDENTIAL_MARKER
    assert inputs["ledger"]["masterPassword"] == CREDENTIAL_MARKER
    assert inputs["ledger"]["connection"] == {"privateKey": CREDENTIAL_MARKER, "host": "ledger.internal"}
    assert inputs["helper"]["value"] == inputs["registry"]["value"] == CREDENTIAL_MARKER
    assert inputs["helper"]["variableName"] == "DEPLOY_HELPER"
    assert result.outputs["adminPassword"] == CREDENTIAL_MARKER
    assert result.outputs["database"] == {"url": CREDENTIAL_MARKER, "port": 5432}


def test_a_rule_quoting_a_secret_marked_value_has_it_withheld(report):
    """The `web` task's image is read as a secret: the image rules quote images, so their messages must not."""
    [result] = report.stacks
    [on_web] = [f for f in result.findings
                if f.resource_name == "web" and f.policy == "ecs-taskdef-image-pinned-digest"]
    assert on_web.message.startswith("container 'web' image '[secret]' uses :latest")
