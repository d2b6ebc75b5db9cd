"""Bad `rampart check` invocations through the real entry point: flags, paths, projects and policy configs that
are refused before any program runs (each a few milliseconds), one message naming the flag or file, exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rampart.cli import main
from tests.badinput.harness import judge

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = FIXTURES / "programs" / "tiny"
TINY_PACK = FIXTURES / "packs" / "tiny"


def invoke(capsys, *argv: str) -> tuple[int, str]:
    """Exit code and everything printed, as a shell sees them (argparse exits through SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = exited.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def check(capsys, *argv: str, program: Path = TINY, pack: Path = TINY_PACK) -> tuple[int, str]:
    return invoke(capsys, "check", "--program", str(program), "--policy-pack", str(pack), *argv)


@pytest.mark.parametrize(("argv", "names"), [
    (("--format", "yaml"), ("--format", "invalid choice: 'yaml'")),
    (("--format", ""), ("--format", "invalid choice")),
    (("--nope",), ("unrecognized arguments: --nope",)),
    (("--stack",), ("--stack", "expected one argument")),
    (("--verbose=yes",), ("--verbose", "ignored explicit argument")),
    (("--parallel", "0"), ("--parallel", "between 1 and 64")),
    (("--parallel", "-1"), ("--parallel", "between 1 and 64")),
    (("--parallel", "two"), ("--parallel", "between 1 and 64")),
    (("--parallel", "1.5"), ("--parallel", "between 1 and 64")),
    (("--parallel", "65"), ("--parallel", "between 1 and 64")),
    (("--program-timeout", "inf"), ("--program-timeout", "seconds")),
    (("--policy-timeout", "0"), ("--policy-timeout", "seconds")),
    (("--policy-timeout", "1e9"), ("--policy-timeout", "seconds")),
    (("--policy-timeout", "-5"), ("--policy-timeout", "seconds")),
    (("--stack", "nope"), ("--stack nope", "stacks in this project: production, staging")),
    (("--stack", "staging", "--stack", "nope"), ("--stack nope", "not found")),
    (("--stack", "../staging"), ("--stack ../staging", "not found")),
    (("--policy-config-dir", "/nonexistent/config"), ("--policy-config-dir /nonexistent/config", "not a directory")),
    (("--output", "/dev/null/report.json"), ("--output /dev/null/report.json", "cannot be written")),
    (("--output", "/"), ("--output /", "is a directory")),
])
def test_a_bad_flag_is_refused_naming_it(capsys, argv, names):
    code, output = check(capsys, *argv)
    judge(code, output, expected_code=2, must_name=names)


@pytest.mark.parametrize(("argv", "names"), [
    (("chek",), ("invalid choice: 'chek'",)),
    (("check", "--program", "/nonexistent"), ("--program /nonexistent", "not a directory")),
    (("check", "--program", str(TINY), "--policy-pack", "/nonexistent/pack"),
     ("--policy-pack /nonexistent/pack", "no PulumiPolicy.yaml")),
    (("check", "--program", str(TINY), "--policy-pack", str(TINY)), ("--policy-pack", "no PulumiPolicy.yaml")),
])
def test_a_missing_path_is_refused_naming_it(capsys, argv, names):
    code, output = invoke(capsys, *argv)
    judge(code, output, expected_code=2, must_name=names)


@pytest.mark.parametrize(("variable", "value"), [
    ("RAMPART_PROGRAM_TIMEOUT", "soon"), ("RAMPART_PROGRAM_TIMEOUT", "-3"), ("RAMPART_POLICY_TIMEOUT", "nan"),
])
def test_a_bad_timeout_variable_is_refused_naming_it(capsys, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    code, output = check(capsys)
    judge(code, output, expected_code=2, must_name=(variable, "seconds"))


PROJECT_FILES = [
    ("no-project-file", None, "no Pulumi.yaml found"),
    ("nodejs", b"name: p\nruntime: nodejs\n", "rampart check runs python programs only"),
    ("no-name", b"runtime: python\n", "expected a mapping with a string `name`"),
    ("list", b"- name\n", "expected a mapping with a string `name`"),
    ("bad-yaml", b"name: [p\nruntime: python\n", "not valid YAML"),
    ("dup-name", b"name: p\nname: q\nruntime: python\n", "duplicate key 'name'"),
    ("latin1", "name: caf\xe9\nruntime: python\n".encode("latin-1"), "not UTF-8"),
    ("missing-main", b"name: p\nruntime: python\nmain: src/\n", "program entry"),
]


@pytest.mark.parametrize(("name", "content", "names"), PROJECT_FILES, ids=[p[0] for p in PROJECT_FILES])
def test_a_broken_project_file_is_one_message_naming_it(capsys, tmp_path, name, content, names):
    project = tmp_path / name
    project.mkdir()
    (project / "__main__.py").write_text("import pulumi\n")
    if content is not None:
        (project / "Pulumi.yaml").write_bytes(content)
    code, output = check(capsys, program=project)
    judge(code, output, expected_code=2, must_name=(names,) if content is None else ("Pulumi.yaml", names))


POLICY_CONFIGS = [
    ("not-json", "{", "staging.json:1:2: not valid JSON"),
    ("array", "[]", "staging.json: expected an object"),
    ("string", '"mandatory"', "staging.json: expected an object"),
]


@pytest.mark.parametrize(("name", "content", "names"), POLICY_CONFIGS, ids=[p[0] for p in POLICY_CONFIGS])
def test_an_unreadable_policy_config_is_refused_before_any_run(capsys, tmp_path, name, content, names):
    (tmp_path / "staging.json").write_text(content)
    code, output = check(capsys, "--stack", "staging", "--policy-config-dir", str(tmp_path))
    judge(code, output, expected_code=2, must_name=(names,))


def test_one_unreadable_stack_file_asked_for_stops_before_any_run(capsys, tmp_path):
    project = tmp_path / "tiny"
    shutil.copytree(TINY, project)
    for stack_file in project.glob("Pulumi.*.yaml"):
        stack_file.unlink()
    (project / "Pulumi.staging.yaml").write_bytes(b"\xff\xfe")
    code, output = check(capsys, "--stack", "staging", program=project)
    judge(code, output, expected_code=2, must_name=("Pulumi.staging.yaml", "not UTF-8"))
