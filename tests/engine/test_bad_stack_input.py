"""Broken stack files and an unwritable --output: one message naming the file/flag and what is expected, exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rampart.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = FIXTURES / "programs" / "tiny"
TINY_PACK = FIXTURES / "packs" / "tiny"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "tiny"
    shutil.copytree(TINY, copy)
    return copy


def run_check(project: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["check", "--program", str(project), "--policy-pack", str(TINY_PACK), "--stack", "staging",
                 *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_stack_file_that_is_not_utf8_names_the_file_and_the_encoding(project, capsys):
    (project / "Pulumi.staging.yaml").write_bytes("config:\n  tiny:name: caf\xe9\n".encode("latin-1"))
    code, output = run_check(project, capsys)
    assert code == 2
    assert "Pulumi.staging.yaml" in output
    assert "UTF-8" in output
    assert "Traceback" not in output


def test_a_pulumi_yaml_that_is_not_utf8_names_the_file(project, capsys):
    (project / "Pulumi.yaml").write_bytes(b"name: tiny\nruntime: python\ndescription: \xff\xfe\n")
    code, output = run_check(project, capsys)
    assert code == 2
    assert "Pulumi.yaml" in output and "UTF-8" in output


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        ("config:\n  tiny:size: small\n  tiny:size: large\n", "tiny:size", (2, 3)),
        ("config:\n  tiny:x: 1\nconfig:\n  tiny:y: 2\n", "config", (1, 3)),
        ("config:\n  tiny:tags:\n    team: a\n    owner: b\n    team: c\n", "team", (3, 5)),
    ],
)
def test_duplicate_keys_in_a_stack_file_are_rejected_naming_key_and_both_lines(project, capsys, text, key, lines):
    (project / "Pulumi.staging.yaml").write_text(text, encoding="utf-8")
    code, output = run_check(project, capsys)
    assert code == 2
    assert "Pulumi.staging.yaml" in output
    assert f"duplicate key {key!r}" in output
    assert f"lines {lines[0]} and {lines[1]}" in output
    assert "Traceback" not in output


def test_duplicate_keys_in_pulumi_yaml_are_rejected(project, capsys):
    (project / "Pulumi.yaml").write_text("name: tiny\nruntime: python\nname: other\n", encoding="utf-8")
    code, output = run_check(project, capsys)
    assert code == 2
    assert "Pulumi.yaml" in output and "duplicate key 'name'" in output and "lines 1 and 3" in output


def test_the_same_key_in_different_mappings_is_not_a_duplicate(project, capsys):
    from rampart.engine.stackfile import load_project, load_stack

    (project / "Pulumi.staging.yaml").write_text(
        "config:\n  tiny:a:\n    name: x\n  tiny:b:\n    name: y\n", encoding="utf-8")
    settings = load_stack(load_project(project), "staging")
    assert settings.config["tiny:a"] == '{"name": "x"}'
    assert settings.config["tiny:b"] == '{"name": "y"}'


@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_an_unwritable_output_names_the_flag_and_path(project, tmp_path, capsys, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    target = blocker / "report.json" if where == "under-a-file" else tmp_path
    code, output = run_check(project, capsys, "--format", "json", "--output", str(target))
    assert code == 2
    assert f"--output {target}" in output
    assert "Traceback" not in output


def test_an_output_that_fails_only_at_write_time_is_still_one_message(project, tmp_path, capsys, monkeypatch):
    import rampart.commands.check as check_command

    monkeypatch.setattr(check_command, "_check_output", lambda output: None)  # as if the disk changed mid-run
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    code, output = run_check(project, capsys, "--format", "json", "--output", str(blocker / "report.json"))
    assert code == 2
    assert f"--output {blocker / 'report.json'}: cannot write" in output
    assert "Traceback" not in output
