"""Stack files are parsed by libyaml when PyYAML has it (a 23 KB stack file: ~55 ms -> ~7 ms, before the worker
starts), with exactly the pure-Python loader's results and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rampart.engine import stackfile
from rampart.errors import UsageError
from tests.badinput.cases import render, stack_cases

ROOT = Path(__file__).resolve().parents[2]
needs_libyaml = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")

# Each broken in a different way: scanner, parser, composer, constructor and reader errors, duplicate keys.
BROKEN = [
    "config:\n  a: [1, 2\n",
    "config:\n  a: b: c\n",
    "config:\n  a: *nowhere\n",
    "config:\n  a: !!python/object:os.system x\n",
    "config:\n  a: '\x07'\n",
    "config:\n\ta: 1\n",
    "config:\n  a: 1\n  a: 2\n",
    "config: {a: 1, a: 2}\n",
    "- a\nb: c\n",
    "config:\n  a: &x 1\n  b: &x 2\n  c: *x\n",
    "%YAML 2.0\n---\nconfig: {}\n",
    "config:\n  a: 'unterminated\n",
    "config:\n  a: \"\\q\"\n",
    "---\na: 1\n---\nb: 2\n",
    "config:\n  <<: [1]\n",
    "config:\n  ? [a, b]\n  : c\n",
    # libyaml accepts these where PyYAML's scanner does not: they stay refused.
    "config:\n  a\tb: 1\n",
    "config:\n  a: |#c\n    x\n",
    "config:\n  a: [b?c]\n",
]
VALID = [
    "config:\n  base: &base {a: 1, b: [x, y]}\n  merged:\n    <<: *base\n    b: z\n",
    "config:\n  n: 0x1F\n  o: 0o17\n  f: 1.5e3\n  t: yes\n  d: 2024-01-02\n  nul: ~\n  s: 'it''s'\n",
    "config:\n  multi: |\n    line one\n    line two\n  folded: >-\n    a\n    b\n",
    "config:\n  unicode: \"caf\u00e9 \\u263a \U0001f600\"\n  empty: {}\n  list: []\n",
    "",
    "# only a comment\n",
    "config:\n  a: !\n  b: ! x\n",  # an empty non-specific tag: '' to libyaml, None to PyYAML (and before)
]


def _python_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(stackfile, "_FAST_LOADER", None)
        return _outcome(path)


def _outcome(path: Path) -> object:
    try:
        return ("value", stackfile.read_yaml(path))
    except UsageError as exc:
        return ("error", str(exc))


def _files(tmp_path: Path) -> list[Path]:
    files = sorted(ROOT.glob("Pulumi*.yaml")) + sorted((ROOT / "tests" / "fixtures").rglob("Pulumi*.yaml"))
    for index, case in enumerate(stack_cases()):
        files.append(tmp_path / f"case{index}.yaml")
        files[-1].write_bytes(render(case))
    for index, text in enumerate(BROKEN + VALID):
        files.append(tmp_path / f"text{index}.yaml")
        files[-1].write_text(text, encoding="utf-8")
    return files


@needs_libyaml
def test_stack_files_are_parsed_by_libyaml(tmp_path, monkeypatch):
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the pure-Python YAML loader parsed a valid stack file")

    monkeypatch.setattr(stackfile._UniqueKeyLoader, "__init__", refuse)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  app:name: demo\n  app:tags: {team: a}\n", encoding="utf-8")
    assert stackfile.read_yaml(stack_file) == {"config": {"app:name": "demo", "app:tags": {"team": "a"}}}


@needs_libyaml
def test_every_stack_file_reads_as_the_pure_python_loader_reads_it(tmp_path, monkeypatch):
    """The project's and fixtures' stack files, every bad-input case and the broken texts above: the same value,
    or the same message (file, line and column, problem)."""
    files = _files(tmp_path)
    assert len(files) > 150
    differences = [(path.name, fast, slow) for path in files
                   if (fast := _outcome(path)) != (slow := _python_only(path, monkeypatch))]
    assert differences == []
    assert sum(_outcome(path)[0] == "error" for path in files) >= len(BROKEN)


@needs_libyaml
def test_a_duplicate_key_is_refused_naming_key_and_both_lines(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  app:a: 1\n  app:b:\n    x: 1\n    x: 2\n", encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        stackfile.read_yaml(stack_file)
    assert str(raised.value) == (f"{stack_file}:5:5: not valid YAML (duplicate key 'x' on lines 4 and 5; "
                                 "expected each key once per mapping)")


@needs_libyaml
def test_python_tags_are_refused_by_both_loaders(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  a: !!python/object/apply:os.getcwd []\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"Pulumi\.dev\.yaml:2:6: not valid YAML"):
        stackfile.read_yaml(stack_file)
