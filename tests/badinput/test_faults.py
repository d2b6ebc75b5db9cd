"""A policy that hangs or raises, a program that never returns: one message naming what ran, exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rampart.cli import main
from tests.badinput.harness import judge
from tests.support.warm_servers import warm_servers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PACKS = Path(__file__).resolve().parent / "packs"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    copy = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "programs" / "tiny", copy)
    return copy


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(params=["pipe", "grpc", "pipe from a warm server"])
def transport(request, monkeypatch):
    """How the pack is reached: pipes (pack_host), gRPC, or pipes to a pack_host forked by a warm server."""
    monkeypatch.setenv("RAMPART_PACK_TRANSPORT", request.param.split()[0])
    if "warm" not in request.param:
        yield request.param
        return
    with warm_servers(monkeypatch):
        yield request.param


@pytest.mark.parametrize(("pack", "names"), [
    ("hang", ("--policy-timeout", "Analyze", "aws:rds/instance:Instance", "policy function never_returns")),
    # A pack built with Rampart's adapter names the rule that raised, its exception type and line.
    ("named_crash", ("Analyze", "aws:rds/instance:Instance", "policy rds-raises (ValueError at __main__.py:13)")),
    # Any other pulumi_policy pack: grpc logs no traceback, so only the call and the resource are named.
    ("crash", ("Analyze", "aws:rds/instance:Instance", "without raising")),
    # A pack whose process ends in the middle of a call. Any call in flight is named: over gRPC the pack's server
    # runs several at once, and every one in flight fails when the process ends.
    ("exits", ("Analyze", "ended with exit code 3")),
    ("start_crash", ("start_crash did not start", "exited with code 1",
                     "ModuleNotFoundError: No module named 'no_such_guardrails' at __main__.py:3")),
])
def test_a_policy_that_hangs_or_raises_is_named(tiny, capsys, monkeypatch, pack, names, transport):
    code, output = run(capsys, "--program", str(tiny), "--stack", "staging", "--policy-pack", str(PACKS / pack),
                       "--policy-timeout", "3")
    judge(code, output, expected_code=2, must_name=names)


def test_a_pack_that_writes_a_lot_to_stderr_is_not_blocked(tiny, capsys, monkeypatch, transport):
    # Each Analyze writes ~0.5 MiB to stderr; unread, the pipe fills at 64 KiB and the pack blocks mid-policy.
    code, output = run(capsys, "--program", str(tiny), "--stack", "staging", "--policy-pack", str(PACKS / "chatty"),
                       "--policy-timeout", "20", "--format", "json")
    assert code == 0, output
    assert "did not answer" not in output


@pytest.fixture(params=["new processes", "warm servers"])
def runner(request, monkeypatch):
    if request.param == "new processes":
        yield request.param
        return
    with warm_servers(monkeypatch):
        yield request.param


def test_a_program_that_never_returns_is_interrupted_at_its_line(tiny, capsys, runner):
    (tiny / "__main__.py").write_text((tiny / "__main__.py").read_text() + "\nwhile True:\n    pass\n")
    code, output = run(capsys, "--program", str(tiny), "--stack", "staging", "--policy-pack",
                       str(FIXTURES / "packs" / "tiny"), "--program-timeout", "3")
    judge(code, output, expected_code=2, must_name=("stack staging", "--program-timeout", "__main__.py:3"))


def test_a_program_that_exhausts_memory_fails_alone(tiny, capsys, monkeypatch, runner):
    monkeypatch.setenv("RAMPART_PROGRAM_MEMORY_MB", "2048")
    (tiny / "__main__.py").write_text((tiny / "__main__.py").read_text() + "\nhoard = bytearray(64 * 2**30)\n")
    code, output = run(capsys, "--program", str(tiny), "--stack", "staging", "--policy-pack",
                       str(FIXTURES / "packs" / "tiny"))
    judge(code, output, expected_code=2, must_name=("stack staging", "out of memory", "RAMPART_PROGRAM_MEMORY_MB"))


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_a_bad_timeout_flag_is_refused(capsys, value):
    with pytest.raises(SystemExit) as exited:
        main(["check", "--program-timeout", value])
    judge(exited.value.code, capsys.readouterr().err, expected_code=2, must_name=("--program-timeout", "seconds"))


def test_an_unknown_pack_transport_is_refused(tiny, capsys, monkeypatch):
    monkeypatch.setenv("RAMPART_PACK_TRANSPORT", "carrier-pigeon")
    code, output = run(capsys, "--program", str(tiny), "--stack", "staging", "--policy-pack",
                       str(FIXTURES / "packs" / "tiny"))
    judge(code, output, expected_code=2, must_name=("RAMPART_PACK_TRANSPORT", "'pipe'", "'grpc'"))


def test_a_pack_that_ends_leaving_a_child_is_seen_to_end_not_to_hang(tiny, capsys):
    # Over pipes, a child that inherited the answers pipe would hide the pack's end until the call's deadline.
    code, output = run(capsys, "--program", str(tiny), "--stack", "staging", "--policy-pack",
                       str(PACKS / "exits_leaving_child"), "--policy-timeout", "5")
    judge(code, output, expected_code=2, must_name=("Analyze", "ended with exit code 3"))
