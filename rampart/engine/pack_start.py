"""Starting a policy pack's process, apart from speaking to it (rampart.engine.analyzer): which carrier a check uses,
the process itself, and why a pack did not start. Light on imports, so that `rampart check` starts the pack right
after the stack programs, before it loads gRPC and the Pulumi SDK, which then load while both start."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rampart.engine import warm
from rampart.errors import UsageError

HOST = Path(__file__).with_name("pack_host.py")
PIPE_READY = "pipe"
"""What the host prints where a gRPC server prints its port (pack_host.PIPE_READY)."""


@dataclass
class Launched:
    """A pack's process, not yet spoken to."""

    process: subprocess.Popen[bytes] | warm.RemoteProcess
    pipe_ends: tuple[int, ...] | None
    """The engine's ends of the pipes to pack_host (requests written, responses read); None: it speaks gRPC."""

    def abandon(self) -> None:
        """Stop it unused (the check failed before speaking to it)."""
        for fd in self.pipe_ends or ():
            os.close(fd)
        self.pipe_ends = None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        if isinstance(self.process, warm.RemoteProcess):
            self.process.close()


def launch(pack_dir: Path, python: str, project: str, stack: str) -> Launched:
    """What the Pulumi CLI's pulumi-analyzer-policy-python shim runs, or pack_host in its place (the pipe transport),
    forked by a warm server when there is one (rampart.engine.warm)."""
    if not (pack_dir / "PulumiPolicy.yaml").is_file():
        raise UsageError(f"--policy-pack {pack_dir}: no PulumiPolicy.yaml; expected a policy pack directory")
    env = {**os.environ, "PULUMI_PROJECT": project, "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true",
           # On a timed-out call, SIGABRT makes the pack print every thread's stack: the hung policy's name.
           "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    # The engine address is unused by packs that do not log through the engine, and nothing listens there.
    # Absolute: the pack runs with its own directory as cwd, where a relative path would not resolve.
    arguments = ["127.0.0.1:1", str(pack_dir.resolve())]
    command = [python, "-u", "-m", "pulumi.policy", *arguments]
    host_fds: tuple[int, ...] = ()
    pipe_ends: tuple[int, ...] | None = None
    try:
        if transport() == "pipe" and HOST.is_file():  # a rampart without its host file speaks gRPC
            requests = os.pipe()
            pipe_ends, host_fds = (requests[1],), (requests[0],)
            responses = os.pipe()
            pipe_ends, host_fds = (requests[1], responses[0]), (requests[0], responses[1])
            command = [python, "-u", str(HOST), *map(str, host_fds), *arguments]
        process = warm.spawn_pack_host(command, env, pack_dir, host_fds) or subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=pack_dir, env=env, pass_fds=host_fds)
    except BaseException:
        for fd in pipe_ends or ():  # no pack to read or write them
            with contextlib.suppress(OSError):
                os.close(fd)
        raise
    finally:
        for fd in host_fds:
            os.close(fd)
    return Launched(process, pipe_ends)


def transport() -> str:
    """How `rampart check` reaches the pack: `pipe` (pack_host, the default) or `grpc` (as the Pulumi CLI does)."""
    chosen = os.environ.get("RAMPART_PACK_TRANSPORT", "pipe")
    if chosen not in ("pipe", "grpc"):
        raise UsageError(f"RAMPART_PACK_TRANSPORT={chosen!r}: expected 'pipe' (the default) or 'grpc'")
    return chosen


_ANY_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')  # <module> included


def start_failure(stderr: str, stdout: str, code: int | None, pack_dir: str) -> str:
    """Why the pack did not start, without its traceback: the exception's last line and the pack's own frame.
    At start-up the pack has been sent nothing of the stack, so its exception cannot quote the stack's secrets."""
    status = "it was still running" if code is None else f"it exited with code {code}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    frames = [m for m in _ANY_FRAME.finditer(stderr) if m["file"].startswith(pack_dir)]
    where = f" at {os.path.relpath(frames[-1]['file'], pack_dir)}:{frames[-1]['line']}" if frames else ""
    if lines and any(line.startswith("Traceback") for line in lines):
        return f"{status}; {lines[-1][:300]}{where}"
    if stdout:
        return f"{status}; it printed {stdout[:80]!r} instead"
    return f"{status}{'; its last error line: ' + lines[-1][:300] if lines else ' without printing anything'}"
