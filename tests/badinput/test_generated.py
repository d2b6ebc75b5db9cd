"""Generated stack files (hypothesis): random bytes and random YAML structures under `rampart:` keys, some holding
the planted secret as a `secure:` value or a plain one. Never a traceback: exit 2 with one message naming the file.

A file the stack-file reader refuses goes through the real `rampart check` entry point (refused before any program
runs, a few milliseconds); one it reads goes through the engine's config-loading path in this process
(tests/badinput/config_path.py, shown equal to `rampart check` by test_stack_files.py), so that bounded example
counts stay fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.config import TOP_LEVEL_KEYS
from rampart.cli import main
from rampart.engine.stackfile import load_project, load_stack
from rampart.errors import UsageError
from tests.badinput.cases import ROOT, SENTINEL
from tests.badinput.config_path import stack_error
from tests.badinput.harness import judge

TINY_PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tiny"
STACK = "generated"
# Derandomized: the same examples every run, so the counts the README quotes are reproducible.
FAST = settings(max_examples=60, deadline=10_000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    if not project.is_dir():
        project.mkdir()
        shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
        (project / "__main__.py").symlink_to(ROOT / "__main__.py")
    return project


def _judge_stack_file(capsys, project: Path, content: bytes) -> None:
    (project / f"Pulumi.{STACK}.yaml").write_bytes(content)
    try:
        load_stack(load_project(project), STACK)
    except UsageError:
        code = main(["check", "--program", str(project), "--policy-pack", str(TINY_PACK), "--stack", STACK])
        message, via = capsys.readouterr().err, "the CLI"
    else:
        message, via = stack_error(project, STACK), "the config path"
        code = 2 if message else 0
    judge(code, message, expected_code=2, must_name=(f"Pulumi.{STACK}.yaml",), via=via)
    assert message.count("Pulumi.") >= 1 and not message.startswith("\n")


@FAST
@given(content=st.binary(max_size=300))
def test_random_bytes(tmp_path, capsys, content):
    _judge_stack_file(capsys, _project(tmp_path), content)


@FAST
@given(content=st.binary(max_size=120))
def test_random_bytes_after_a_valid_head(tmp_path, capsys, content):
    _judge_stack_file(capsys, _project(tmp_path), b"config:\n  rampart:environment: staging\n  " + content)


SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
           | st.text(max_size=12) | st.just(SENTINEL) | st.just({"secure": SENTINEL}))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=4), max_leaves=12)
KEYS = st.sampled_from(TOP_LEVEL_KEYS) | st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9]{0,11}\Z")


@FAST
@given(config=st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_structures_under_rampart_keys(tmp_path, capsys, config):
    document = {"config": {f"rampart:{key}": value for key, value in config.items()}}
    _judge_stack_file(capsys, _project(tmp_path), yaml.safe_dump(document).encode())
