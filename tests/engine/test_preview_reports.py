"""End to end through the project's pack: in the first preview a policy naming an ARN unknown until apply is
`undeterminable` in every report format (never a violation, never a pass); remote components and stack
references are listed as not checked inside; the stack and pack config each stack ran with are stated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from rampart.engine.analyzer import PackInfo, PolicyMetadata
from rampart.engine.check import CheckOptions, policy_config_note, resolve_stacks, run_check
from rampart.errors import UsageError
from rampart.reports import json_report, markdown, sarif, text

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "tests" / "fixtures" / "programs"
PACK = ROOT / "policies"
ROLE_POLICY = "urn:pulumi:dev::preview-unknowns::aws:iam/rolePolicy:RolePolicy::fn-read"


def _check(program: str, assume_existing: bool = False):
    return run_check(CheckOptions(program_dir=PROGRAMS / program, pack_dir=PACK, assume_existing=assume_existing))


@pytest.fixture(scope="module")
def first_preview():
    return _check("preview_unknowns")


@pytest.fixture(scope="module")
def opaque():
    return _check("opaque")


def _text(report) -> str:
    buffer = StringIO()
    text.render(report, Console(file=buffer, width=400, color_system=None), verbose=True)
    return buffer.getvalue()


def test_a_policy_naming_an_unknown_arn_is_undeterminable_and_does_not_block(first_preview):
    [result] = first_preview.stacks
    assert result.error is None
    on_policy = [f for f in result.findings if f.urn == ROLE_POLICY]
    assert on_policy and {f.state for f in on_policy} == {"undeterminable"}
    assert "iam-no-admin" in {f.policy for f in on_policy}
    assert all(f.enforcement == "mandatory" and not f.blocking for f in on_policy if f.policy == "iam-no-admin")
    assert first_preview.exit_code == 0


def test_assume_existing_judges_that_policy():
    report = _check("preview_unknowns", assume_existing=True)
    [result] = report.stacks
    assert result.mode == "assume-existing"
    assert [f for f in result.findings if f.urn == ROLE_POLICY and f.state == "undeterminable"] == []


def test_every_format_shows_undeterminable_and_the_preview_mode(first_preview):
    rendered_text = _text(first_preview)
    assert "undeterminable until apply" in rendered_text
    assert "Preview: first preview of a new stack" in rendered_text
    document = json.loads(json_report.render(first_preview))
    stack = document["stacks"][0]
    assert stack["mode"] == "first-preview" and stack["summary"]["undeterminable"] > 0
    assert {"state": "undeterminable", "blocking": False}.items() <= next(
        v for v in stack["violations"] if v["urn"] == ROLE_POLICY).items()
    assert next(r for r in stack["resources"] if r["urn"] == ROLE_POLICY)["inputs"]["policy"] == "[unknown]"
    results = json.loads(sarif.render(first_preview))["runs"][0]["results"]
    undeterminable = [r for r in results if r["properties"]["state"] == "undeterminable"]
    assert undeterminable and all(r["level"] != "error" for r in undeterminable)
    assert "❔ undeterminable" in markdown.render(first_preview)


def test_components_it_cannot_see_into_are_listed_with_a_count(opaque):
    [result] = opaque.stacks
    assert result.error is None
    assert [(o.kind, o.type, o.name) for o in result.not_checked_inside] == [
        ("remote component", "awsx:ec2:Vpc", "main"),
        ("stack reference", "pulumi:pulumi:StackReference", "example-org/network/prod"),
    ]
    assert "Not checked inside: 2 (remote component awsx:ec2:Vpc 'main'" in _text(opaque)
    document = json.loads(json_report.render(opaque))
    assert document["stacks"][0]["summary"]["notCheckedInside"] == 2
    assert len(json.loads(sarif.render(opaque))["runs"][0]["properties"]["stacks"]["dev"]["notCheckedInside"]) == 2
    assert "Not checked inside: 2" in markdown.render(opaque)


def test_their_outputs_reach_the_pack_as_unknown_never_as_none_or_echoed_inputs(opaque):
    [result] = opaque.stacks
    group = next(r for r in result.resources if r.type == "aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs == {"vpcId": "[unknown]", "description": "[unknown]", "tags": {"peer": "[unknown]"}}


def test_a_program_without_a_stack_file_runs_with_empty_config_and_says_so(tmp_path):
    # The pack ships config/dev.json for the dev stack; an empty config dir keeps the "no pack config" note in view.
    report = run_check(CheckOptions(program_dir=PROGRAMS / "no_stack_file", pack_dir=PACK, policy_config_dir=tmp_path))
    [result] = report.stacks
    assert (result.stack, result.error, result.stack_file) == ("dev", None, "")
    assert result.stack_config_note == ("Stack config: none (no Pulumi.dev.yaml in the project): ran with empty "
                                        "config, only Pulumi.yaml's defaults")
    [log_group] = result.resources
    assert log_group.name == "app-logs" and log_group.inputs == {"retentionInDays": 14.0}
    assert result.policy_config_note.startswith(f"Pack config: none (no {tmp_path / 'dev.json'}): every "
                                                "policy at the level the pack declares (")
    assert result.policy_config_note in _text(report)


def test_a_named_stack_without_a_stack_file_runs_only_where_the_project_has_none():
    assert resolve_stacks(CheckOptions(program_dir=PROGRAMS / "no_stack_file", pack_dir=PACK,
                                       stacks=("ci",))) == ["ci"]
    with pytest.raises(UsageError, match="Pulumi.ci.yaml not found; stacks in this project: dev"):
        resolve_stacks(CheckOptions(program_dir=PROGRAMS / "opaque", pack_dir=PACK, stacks=("ci",)))


def _meta(name: str, enforcement: str) -> PolicyMetadata:
    return PolicyMetadata(name=name, description="", enforcement=enforcement, severity="low", framework_name="",
                          framework_reference="", remediation="", url="", tags=(), config_schema={})


def test_the_pack_config_note_names_the_file_or_the_default_and_why(tmp_path):
    info = PackInfo("p", "1", {"a": _meta("a", "mandatory"), "b": _meta("b", "mandatory"), "c": _meta("c", "advisory")})
    options = CheckOptions(program_dir=tmp_path, pack_dir=tmp_path / "pack", policy_config_dir=tmp_path / "cfg")
    assert policy_config_note(options, "qa", "/x/qa.json", info) == "Pack config: /x/qa.json"
    assert policy_config_note(options, "qa", "", info) == (
        f"Pack config: none (no {tmp_path / 'cfg' / 'qa.json'}): every policy at the level the pack declares "
        "(2 mandatory, 1 advisory)")


def test_the_cli_flag_selects_assume_existing(tmp_path):
    # An empty config dir: the pack's own config/dev.json relaxes the ECR rules for this fixture's dev stack.
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(PROGRAMS / "dry_run_guard"), "--policy-pack",
         str(PACK), "--policy-config-dir", str(tmp_path), "--assume-existing", "--format", "json"],
        capture_output=True, text=True, env=dict(os.environ), check=False,
    )
    assert completed.returncode == 1, completed.stderr  # the pack's defaults block a bare ECR repository
    stack = json.loads(completed.stdout)["stacks"][0]
    assert stack["mode"] == "assume-existing" and stack["error"] is None
    assert stack["outputs"]["image"].endswith(".amazonaws.com/app:latest")
