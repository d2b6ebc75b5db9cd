"""Warm servers (rampart.engine.warm) for one test: a private runtime directory of their own, stopped after it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def server_pids(directory: Path) -> dict[str, int]:
    """The running servers whose socket is in `directory`: kind ("worker", "pack") -> pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            if b"rampart.engine.warm_server" in argv and any(str(directory).encode() in a for a in argv):
                status = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if status[0] != "Z":
                    found[argv[argv.index(b"rampart.engine.warm_server") + 1].decode()] = int(entry)
    return found


def stop_servers(directory: Path) -> None:
    for pid in server_pids(directory).values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server_pids(directory) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def warm_servers(monkeypatch: pytest.MonkeyPatch, idle_seconds: str = "120") -> Iterator[Path]:
    # Short: a socket's path must fit in 100 bytes, which a pytest tmp_path may not.
    directory = Path(tempfile.mkdtemp(prefix="rw-", dir="/tmp"))
    monkeypatch.setenv("RAMPART_WARM", "1")
    monkeypatch.setenv("RAMPART_RUNTIME_DIR", str(directory))
    monkeypatch.setenv("RAMPART_WARM_IDLE_SECONDS", idle_seconds)
    try:
        yield directory
    finally:
        stop_servers(directory)
        shutil.rmtree(directory, ignore_errors=True)


def served(directory: Path, kind: str) -> int:
    """How many children the servers of `kind` in `directory` have forked (each server's `.served` log)."""
    return sum(len(log.read_text().splitlines()) for log in directory.glob(f"{kind}-*.sock.served"))
