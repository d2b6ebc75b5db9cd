"""A program that fails in every way a program can: raises in its own code or inside the SDK, has a syntax error,
exits or dies from a signal without a result, or takes the program runner down with it. Each stack is one
message naming the stack and where to look, exit 2, no traceback, and never what the program printed (the
sentinel every variant prints: a program's output may hold anything it read)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rampart.cli import main
from tests.badinput.cases import SENTINEL
from tests.badinput.harness import judge

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY_PACK = FIXTURES / "packs" / "tiny"
PRINTS = f"import sys\nprint({SENTINEL!r})\nprint({SENTINEL!r}, file=sys.stderr)\nsys.stdout.flush()\n"
# stack -> (the program module it runs first, what its one message must name)
VARIANTS = {
    "raise_outside": (PRINTS + "raise ValueError('plain failure')\n",
                      ("variants/raise_outside.py:5", "ValueError: plain failure")),
    "raise_in_apply": (PRINTS + "import pulumi\npulumi.Output.from_input('abc').apply(lambda v: int(v))\n",
                       ("variants/raise_in_apply.py:6", "ValueError: invalid literal for int()")),
    "sdk_rejects": (PRINTS + "import pulumi_aws as aws\naws.s3.Bucket('b', opts='not options')\n",
                    ("variants/sdk_rejects.py:6", "TypeError")),
    "syntax_error": (PRINTS + "def broken(:\n", ("SyntaxError", "syntax_error.py, line 5")),
    "exits": (PRINTS + "import os\nos._exit(3)\n", ("stack exits", "exited with code 3", "not shown")),
    "segfaults": (PRINTS + "import ctypes\nctypes.string_at(0)\n",
                  ("stack segfaults", "killed by signal SIGSEGV", "variants/segfaults.py:6")),
}
DISPATCH = ("import importlib\n\nimport pulumi\n\nif pulumi.get_stack() != 'staging':\n"
            "    importlib.import_module('variants.' + pulumi.get_stack())\n")


def tiny_with(tmp_path: Path, main_prefix: str, variants: dict[str, str]) -> Path:
    project = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "programs" / "tiny", project)
    (project / "__main__.py").write_text(main_prefix + (project / "__main__.py").read_text())
    (project / "variants").mkdir()
    (project / "variants" / "__init__.py").write_text("")
    for stack, source in variants.items():
        (project / "variants" / f"{stack}.py").write_text(source)
        shutil.copy(project / "Pulumi.staging.yaml", project / f"Pulumi.{stack}.yaml")
    return project


def check(capsys, project: Path, *argv: str) -> tuple[int, dict[str, str], str]:
    report = project.parent / "report.json"
    code = main(["check", "--program", str(project), "--policy-pack", str(TINY_PACK), "--format", "json",
                 "--output", str(report), "--program-timeout", "60", *argv])
    captured = capsys.readouterr()
    stacks = {s["stack"]: s["error"] or "" for s in json.loads(report.read_text())["stacks"]}
    return code, stacks, captured.out + captured.err


def test_a_failing_program_is_one_message_naming_where(tmp_path):
    """One multi-stack run over every variant (one stack's crash must not hide another's report); one test, so
    that `make test`'s xdist workers do not each run it."""
    project = tiny_with(tmp_path, DISPATCH, {s: v[0] for s, v in VARIANTS.items()})
    report = tmp_path / "report.json"
    code = main(["check", "--program", str(project), "--policy-pack", str(TINY_PACK), "--format", "json",
                 "--output", str(report), "--program-timeout", "60",
                 *[arg for stack in VARIANTS for arg in ("--stack", stack)]])
    errors = {s["stack"]: s["error"] or "" for s in json.loads(report.read_text())["stacks"]}
    assert code == 2
    failed = []
    for stack, (_, names) in VARIANTS.items():
        try:
            judge(2 if errors[stack] else 0, errors[stack], expected_code=2, must_name=names)
        except AssertionError as exc:
            failed.append(f"{stack}: {exc}")
    assert not failed, "\n".join(failed)


def test_a_syntax_error_in_the_entry_file_names_its_line(tmp_path, capsys):
    project = tiny_with(tmp_path, "def broken(:\n", {})
    code, errors, printed = check(capsys, project, "--stack", "staging")
    judge(code, errors["staging"], expected_code=2, must_name=("SyntaxError", "__main__.py, line 1"))
    assert SENTINEL not in printed


def test_a_program_that_takes_the_runner_down_shows_none_of_its_output(tmp_path, capsys):
    kill = PRINTS + "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(1)\n"
    project = tiny_with(tmp_path, DISPATCH, {"kills_runner": kill})
    code, errors, printed = check(capsys, project, "--stack", "kills_runner")
    judge(code, errors["kills_runner"], expected_code=2,
          must_name=("stack kills_runner", "program runner", "killed by signal SIGKILL", "not shown"))
    assert SENTINEL not in printed
