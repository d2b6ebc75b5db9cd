"""The stack programs of one `rampart check`, run by rampart.engine.worker in a process of their own, and what they
report back: each stack's registrations as its program declares them, then its result."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rampart.engine import warm
from rampart.engine.environment import ProgramEnvironment, activated
from rampart.engine.protocol import STREAM_SUFFIX
from rampart.engine.protocol import signal_name as _signal_name

STREAM_POLL_SECONDS = 0.004
"""How long the reader of a running stack's registrations waits for news before looking at its file again. At 20 ms
(with bursts of 64) what the program declared in its last ~40 ms reached the pack only once it had ended: 20-40 ms
of judging left after the program at 10 and 50 services, 7-12 ms now (bench/README); a wake-up costs ~10 us."""
STREAM_BURST = 16
"""Registrations of a running stack sent to the pack together (all that are left once it is done)."""


class StackRuns:
    """Every stack's program, run by one worker process that forks a child per stack (rampart.engine.worker).

    Results arrive as `<stack>.json` files in a private directory; the worker announces each on a pipe, so the
    pack can start on one stack while another is still running.
    """

    def __init__(self, program_dir: Path, stacks: Sequence[str], parallel: int,
                 environment: ProgramEnvironment | None = None, assume_existing: bool = False,
                 timeout: float = 600.0) -> None:
        environment = environment or ProgramEnvironment(python=None, origin="rampart's own interpreter")
        self._tmp = tempfile.TemporaryDirectory(prefix="rampart-")
        self._dir = Path(self._tmp.name)
        self._stderr = (self._dir / "worker.stderr").open("wb")
        read_fd, write_fd = os.pipe()
        env = activated({**os.environ, "PYTHONUNBUFFERED": "1"}, environment)
        env.pop("PULUMI_CONFIG", None)
        # In the program's own interpreter when its Pulumi.yaml names one (rampart.engine.environment).
        command = [*environment.worker_command(), "--program", str(program_dir),
                   "--result-dir", str(self._dir), "--status-fd", str(write_fd), "--parallel", str(max(1, parallel))]
        for stack in stacks:
            command += ["--stack", stack]
        if assume_existing:
            command.append("--assume-existing")
        command += ["--timeout", str(timeout)]
        # The worker's children interrupt their own program at `timeout`; this is the backstop for a program that
        # ignores that (catches BaseException, blocks in C): every wave of `parallel` stacks, plus start-up.
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout * -(-len(stacks) // max(1, parallel)) + 60
        try:
            self._process = self._start(command, env, program_dir, write_fd, environment)
        finally:
            os.close(write_fd)
        self._status = os.fdopen(read_fd, "rb", buffering=0)  # unbuffered: select() sees every pending line
        self._partial_line = b""
        self._timed_out = False
        self._ended = False
        self._done: set[str] = set()

    def _start(self, command: list[str], env: dict[str, str], program_dir: Path, write_fd: int,
               environment: ProgramEnvironment) -> subprocess.Popen[bytes] | warm.RemoteProcess:
        if environment.is_own():  # forked by a warm server that has the SDK imported, when there is one
            with open(os.devnull, "rb") as devnull:
                process = warm.spawn("worker", command[3:], env, program_dir, program=program_dir, descriptors={
                    0: warm.stdin_or(devnull), 1: devnull.fileno(), 2: self._stderr.fileno(), write_fd: write_fd})
            if process is not None:
                return process
        return subprocess.Popen(  # noqa: S603 (our own module, by path of this interpreter)
            command, stdout=subprocess.DEVNULL, stderr=self._stderr, env=env, cwd=program_dir,
            pass_fds=(write_fd,), start_new_session=True,  # one process group: killed whole on a hang
        )

    def _pump(self, until: float) -> bool:
        """Read the status pipe until a line arrives or `until` passes; False once nothing more can arrive (the
        worker ended, or its time is up and it was killed)."""
        if self._timed_out or self._ended:
            return False
        if not _readable_before(self._status, min(until, self._deadline)):
            if time.monotonic() >= self._deadline:
                self._timed_out = True
                self._kill()
                return False
            return True
        chunk = self._status.read(4096)
        if not chunk:
            self._ended = True
            return False
        *lines, self._partial_line = (self._partial_line + chunk).split(b"\n")
        self._done.update(line[5:].decode().strip() for line in lines if line.startswith(b"done "))
        return True

    def registrations(self, stack: str) -> Iterator[dict[str, Any]]:
        """The stack's registrations as its program declares them (protocol.STREAM_SUFFIX), until it is done. What
        the program declared before failing comes too: `result` says whether it finished."""
        path = self._dir / f"{stack}{STREAM_SUFFIX}"
        stream = None
        pending, ready = b"", []
        try:
            while True:
                finished = stack in self._done
                if stream is None and path.is_file():
                    stream = path.open("rb")
                chunk = stream.read() if stream is not None else b""
                if chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    ready.extend(lines)
                # In bursts, or when the program pauses: a lone Analyze call wakes the gRPC threads of the pack and
                # of this process for one resource, which costs both more CPU than judging it (bench/README).
                if ready and (len(ready) >= STREAM_BURST or not chunk or finished):
                    yield from (json.loads(line) for line in ready)
                    ready = []
                if finished and not chunk:
                    return
                if not finished and not self._pump(time.monotonic() + STREAM_POLL_SECONDS):
                    self._done.add(stack)  # the worker is gone: read what it left, then `result` says why
        finally:
            if stream is not None:
                stream.close()

    def result(self, stack: str) -> dict[str, Any]:
        while stack not in self._done and self._pump(self._deadline):
            pass
        result_file = self._dir / f"{stack}.json"
        if not result_file.is_file() and self._timed_out:
            return {"error": {"kind": "timeout", "message": f"stack {stack}: the program did not finish within "
                              f"{self._timeout:g}s (--program-timeout) and ignored the interruption; "
                              "expected it to return"}}
        if not result_file.is_file():
            try:  # its stderr is complete once the worker ends; other stacks may still be running
                self._process.wait(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill()
            return {"error": {"kind": "program", "message": _worker_died(stack, self._process.returncode)}}
        return json.loads(result_file.read_text(encoding="utf-8"))

    def _kill(self) -> None:
        if self._process.poll() is None:
            _kill_group(self._process)  # the worker and the stack children it forked
        self._process.wait()

    def close(self) -> None:
        self._kill()
        if isinstance(self._process, warm.RemoteProcess):
            self._process.close()
        self._status.close()
        self._stderr.close()
        self._tmp.cleanup()


def _worker_died(stack: str, code: int | None) -> str:
    """The worker itself ended without this stack's result (a stack's own crash is reported by the worker). Its
    stderr is not shown: it holds the programs' own output, which may hold anything they read."""
    if code is None:
        how = "did not end"
    elif code < 0:
        how = f"was killed by signal {_signal_name(-code)}"
    else:
        how = f"exited with code {code}"
    return (f"stack {stack}: the program runner (rampart.engine.worker) {how} without a result for it; its output "
            "is not shown (it holds the programs' own output, which may hold secrets); expected every stack's "
            "program to return or raise (run it with `pulumi preview` to see its output)")


def _readable_before(stream: Any, deadline: float) -> bool:
    ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
    return bool(ready)


def _kill_group(process: subprocess.Popen[bytes] | warm.RemoteProcess) -> None:
    """SIGKILL to the process and everything in its session (both are started as a session of their own)."""
    if isinstance(process, warm.RemoteProcess):
        process.kill_group()
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
