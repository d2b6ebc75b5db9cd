"""The stack cache (rampart.engine.cache): a byte changed in any input of the key makes a new key, so the stack
runs again; an unchanged stack's result is reused, and the report says it was."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from rampart.engine import cache
from rampart.engine.check import CheckOptions, run_check
from rampart.reports import json_report

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "programs" / "tiny"


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A program under a uv.lock, a pack, a pack config outside the pack, rampart's source, an environment."""
    tree = {
        "work/uv.lock": "version = 1\n",
        "work/program/Pulumi.yaml": "name: p\nruntime: python\n",
        "work/program/Pulumi.dev.yaml": "config:\n  p:size: 1\n",
        "work/program/__main__.py": "import pulumi\n",
        "work/program/data/names.json": "[]\n",
        "pack/PulumiPolicy.yaml": "runtime: python\n",
        "pack/guardrails/iam.py": "POLICIES = []\n",
        "config/dev.json": "{}\n",
        "rampart/engine/worker.py": "pass\n",
        "env/pyvenv.cfg": "version = 3.11.7\n",
    }
    for name, text in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "env/lib/python3.11/site-packages/pulumi-3.150.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(cache, "_RAMPART_DIR", tmp_path / "rampart")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    return tmp_path


def _key(root: Path, mode: str = "first-preview") -> str:
    run = cache.RunInputs.of(root / "work/program", root / "pack", root / "env")
    return run.key("dev", mode, root / "config/dev.json")


@pytest.mark.parametrize("changed", [
    "work/program/__main__.py", "work/program/Pulumi.dev.yaml", "work/program/Pulumi.yaml",
    "work/program/data/names.json", "pack/guardrails/iam.py", "config/dev.json", "work/uv.lock",
    "rampart/engine/worker.py", "env/pyvenv.cfg",
])
def test_one_byte_changed_in_any_input_makes_a_new_key(inputs, changed):
    before = _key(inputs)
    assert _key(inputs) == before  # the same inputs, the same key
    path = inputs / changed
    content = path.read_bytes()
    path.write_bytes(content[:-1] + (b"#" if content[-1:] != b"#" else b"!"))
    assert _key(inputs) != before


def test_versions_flags_and_pulumi_variables_are_in_the_key(inputs, monkeypatch):
    before = _key(inputs)
    assert _key(inputs, mode="assume-existing") != before
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    with_variable = _key(inputs)
    assert with_variable != before
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert _key(inputs) != with_variable
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    (inputs / "env/lib/python3.11/site-packages/pulumi-3.150.0.dist-info").rename(
        inputs / "env/lib/python3.11/site-packages/pulumi-3.151.0.dist-info")
    monkeypatch.setattr(sys, "version", sys.version.removesuffix(" (another build)"))
    assert _key(inputs) != before  # another pulumi SDK version installed


def test_a_cache_directory_others_can_write_to_is_not_read(tmp_path):
    store = cache.StackCache(tmp_path / "cache")
    store.store("k", pack="info", result="result")
    assert store.load("k").result == "result"
    os.chmod(tmp_path / "cache", 0o777)  # noqa: S103 (the unsafe mode under test)
    assert store.load("k") is None


def test_an_unchanged_stack_is_reused_and_says_so_and_a_changed_one_runs_again(tmp_path, monkeypatch):
    monkeypatch.setenv("RAMPART_CACHE_DIR", str(tmp_path / "cache"))
    program = tmp_path / "tiny"
    shutil.copytree(TINY, program)
    options = CheckOptions(program_dir=program, pack_dir=ROOT / "policies", stacks=("staging",), cache=True)
    first = run_check(options).stacks[0]
    assert first.error is None and not first.cache_note
    second = run_check(options).stacks[0]
    assert second.cache_note.startswith("Cache: result reused from the run of")
    assert json.loads(json_report.render(run_check(options)))["stacks"][0]["cacheNote"] == second.cache_note
    same = {"cache_note": "", "seconds": 0.0}
    assert dataclasses.replace(second, **same) == dataclasses.replace(first, **same)
    assert not run_check(dataclasses.replace(options, cache=False)).stacks[0].cache_note  # --no-cache

    main = program / "__main__.py"
    main.write_text(main.read_text().replace('"app"', '"app2"'))  # a changed program runs again
    rerun = run_check(options).stacks[0]
    assert not rerun.cache_note
    assert "app2" in {r.name for r in rerun.resources}


def test_rampart_no_cache_keeps_the_cli_off_the_cache_as_the_test_suite_relies_on(tmp_path, monkeypatch, capsys):
    # tests/conftest.py sets RAMPART_NO_CACHE=1 so no test reads a result an earlier run (or `make check`) left.
    from rampart.cli import main

    directory = tmp_path / "cache"
    monkeypatch.setenv("RAMPART_CACHE_DIR", str(directory))
    argv = ["check", "--program", str(TINY), "--policy-pack", str(ROOT / "tests" / "fixtures" / "packs" / "tiny"),
            "--stack", "staging", "--format", "json"]
    monkeypatch.setenv("RAMPART_NO_CACHE", "1")
    main(argv)
    assert not directory.exists()
    monkeypatch.delenv("RAMPART_NO_CACHE")
    main(argv)
    assert list(directory.glob("*.pickle"))  # the CLI caches by default: the switch above is what kept it off
    capsys.readouterr()
