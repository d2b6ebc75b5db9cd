"""Under PYTHONDONTWRITEBYTECODE, Rampart's processes keep compiled bytecode in its private cache, never beside a
source file, and leave every other setup as Python would (rampart.bytecode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rampart import bytecode

ROOT = Path(__file__).resolve().parents[1]


def _environ(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg"), **values}


def test_under_dont_write_bytecode_the_prefix_is_a_private_directory_of_rampart_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    environ = _environ(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    directory = bytecode.use_private_prefix(environ)
    assert directory == tmp_path / "xdg" / "rampart" / "bytecode"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert environ == {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPYCACHEPREFIX": str(directory)}
    assert (sys.pycache_prefix, sys.dont_write_bytecode) == (str(directory), False)


@pytest.mark.parametrize("values", [
    pytest.param({}, id="python-writes-pycache-itself"),
    pytest.param({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/somewhere"}, id="the-users-own-prefix"),
    pytest.param({"PYTHONDONTWRITEBYTECODE": "1", bytecode.DISABLE_ENV: "0"}, id="turned-off"),
])
def test_any_other_setup_is_left_as_python_has_it(tmp_path, monkeypatch, values):
    monkeypatch.setattr(sys, "pycache_prefix", None)
    environ = _environ(tmp_path, **values)
    assert bytecode.use_private_prefix(environ) is None
    assert environ == _environ(tmp_path, **values)
    assert sys.pycache_prefix is None


def test_a_cache_directory_others_can_write_to_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "pycache_prefix", None)
    shared = tmp_path / "xdg" / "rampart" / "bytecode"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    environ = _environ(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert bytecode.use_private_prefix(environ) is None
    assert environ["PYTHONDONTWRITEBYTECODE"] == "1" and sys.pycache_prefix is None


def test_rampart_check_under_dont_write_bytecode_writes_nothing_beside_any_source(tmp_path):
    program = tmp_path / "program"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: bytecode\nruntime: python\n")
    (program / "__main__.py").write_text("import resources\n")
    (program / "resources.py").write_text("import pulumi_aws as aws\naws.sqs.Queue('jobs')\n")
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    environment.pop("PYTHONPYCACHEPREFIX", None)
    environment.pop(bytecode.DISABLE_ENV, None)
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(program), "--stack", "dev", "--format", "json",
         "--no-cache"], capture_output=True, text=True, cwd=ROOT, env=environment, check=False)
    assert completed.returncode in (0, 1), completed.stderr
    prefix = tmp_path / "xdg" / "rampart" / "bytecode"
    compiled = {path.relative_to(prefix).as_posix() for path in prefix.rglob("*.pyc")}
    tag = sys.implementation.cache_tag
    expected = [
        f"{(program / 'resources').as_posix().lstrip('/')}.{tag}.pyc",  # the program, in its worker
        f"{(ROOT / 'rampart' / 'cli').as_posix().lstrip('/')}.{tag}.pyc",  # the CLI
        f"{(ROOT / 'rampart' / 'engine' / 'worker').as_posix().lstrip('/')}.{tag}.pyc",  # the worker's own
        f"{(ROOT / 'policies' / '__main__').as_posix().lstrip('/')}.{tag}.pyc",  # the pack, in its process
    ]
    assert [entry for entry in expected if entry not in compiled] == []
    assert not list(program.rglob("__pycache__"))
    assert (prefix / ".pruned").is_file()  # the day's pruning was started on the way out


def test_pruning_removes_the_entries_whose_source_is_gone_and_keeps_the_rest(tmp_path):
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    (prefix / bytecode.MARKER).touch()
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "kept.py").write_text("")
    (sources / "settings.local.py").write_text("")
    tag = sys.implementation.cache_tag
    mirror = prefix / sources.as_posix().lstrip("/")
    mirror.mkdir(parents=True)
    (mirror / f"kept.{tag}.pyc").write_bytes(b"x")
    (mirror / f"kept.{tag}.opt-1.pyc").write_bytes(b"x")
    (mirror / f"gone.{tag}.pyc").write_bytes(b"x")
    (mirror / f"settings.local.{tag}.pyc").write_bytes(b"x")  # a dotted name: its source is settings.local.py
    (mirror / "__pycache__").mkdir()
    (mirror / "__pycache__" / f"other.{tag}.pyc").write_bytes(b"x")  # not a prefix entry: never touched
    gone_dir = prefix / (tmp_path / "deleted-checkout").as_posix().lstrip("/")
    gone_dir.mkdir(parents=True)
    (gone_dir / f"module.{tag}.pyc").write_bytes(b"x")
    assert bytecode.prune(prefix) == 2
    assert sorted(p.name for p in prefix.rglob("*.pyc")) == [
        f"kept.{tag}.opt-1.pyc", f"kept.{tag}.pyc", f"other.{tag}.pyc", f"settings.local.{tag}.pyc"]
    assert not gone_dir.exists()


def test_pruning_runs_at_most_once_a_day(tmp_path):
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    first = bytecode.prune_later(prefix)
    assert first is not None
    first.wait(timeout=60)
    assert bytecode.prune_later(prefix) is None
    os.utime(prefix / ".pruned", (0, 0))
    again = bytecode.prune_later(prefix)
    assert again is not None
    again.wait(timeout=60)


def test_a_directory_rampart_did_not_create_is_never_pruned(tmp_path):
    """RAMPART_BYTECODE_DIR may name a directory that holds other tools' files (~/.cache): only a prefix Rampart
    created itself, and marked, is ever pruned."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    (shared / "other-tool").mkdir()
    (shared / "other-tool" / f"module.{sys.implementation.cache_tag}.pyc").write_bytes(b"x")
    (shared / "empty").mkdir()
    environ = {bytecode.CACHE_ENV: str(shared), "PYTHONDONTWRITEBYTECODE": "1"}
    assert bytecode.private_prefix(environ) == shared
    assert bytecode.prune(shared) == 0
    assert (shared / "other-tool").exists() and (shared / "empty").exists()
    created = tmp_path / "created"
    assert bytecode.private_prefix({bytecode.CACHE_ENV: str(created), "PYTHONDONTWRITEBYTECODE": "1"}) == created
    assert (created / bytecode.MARKER).is_file()
