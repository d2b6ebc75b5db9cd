"""Starting `rampart check`'s program runner and pack host from a warm server (rampart.engine.warm_server) instead
of a new interpreter, when that gives the same process: same interpreter, same code, same environment.

A server is found by a key over everything its imports depend on: the interpreter, Rampart's own files (path,
size, mtime), every directory on sys.path (an install or upgrade changes its listing, hence its mtime), and the
environment variables read while importing (RAMPART_*, PYTHON*, HOME, XDG_*, TMPDIR, locale). A change to any of
them names another server; the old one exits after its idle time. The socket lives in a private directory
(`$RAMPART_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/rampart`, else `~/.cache/rampart/run`), and the server also
checks that a connecting process is the same user.

Used unless `RAMPART_WARM=0`, and not under CI (`CI` set) unless `RAMPART_WARM=1`: a CI job runs one check, which
a server cannot speed up, and should not leave a process behind. Whenever the server cannot be used (none could
be started, it refused, a program's directory shadows a module it holds), the caller starts its process as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rampart.engine import local_files
from rampart.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # loaded when used: every check pays for what `rampart`'s stand-in loads (rampart.cli)
    from typing import Any

ENABLE_ENV = "RAMPART_WARM"
IDLE_ENV = "RAMPART_WARM_IDLE_SECONDS"
RUNTIME_ENV = "RAMPART_RUNTIME_DIR"
DEFAULT_IDLE_SECONDS = 600.0
START_TIMEOUT_SECONDS = 30.0
PACKAGE_DIR = Path(__file__).resolve().parents[1]
_MAX_SOCKET_PATH = 100  # sockaddr_un holds 108 bytes on Linux (the server binds a shorter name first)
_KEY_ENV_PREFIXES = ("RAMPART_", "PYTHON", "XDG_", "LC_", "GRPC_", "PROTOCOL_BUFFERS_", "LD_")
_KEY_ENV_NAMES = {"HOME", "TMPDIR", "LANG", "TZ"}
_KEY_LIMITS = ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_MEMLOCK",
               "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_STACK")


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(ENABLE_ENV)
    if value is None or value == "":
        return not environ.get("CI")
    if value not in ("0", "1"):
        raise UsageError(f"{ENABLE_ENV}: expected 0 (start each check's processes afresh) or 1 (use a warm "
                         "server, also under CI)")
    return value == "1"


def idle_seconds(environ: Mapping[str, str] = os.environ) -> float:
    value = environ.get(IDLE_ENV)
    if not value:
        return DEFAULT_IDLE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise UsageError(f"{IDLE_ENV}: expected the seconds a warm server waits for the next check (0 < s <= 86400)")
    return seconds


def runtime_dir(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get(RUNTIME_ENV):
        return Path(environ[RUNTIME_ENV])
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"]) / "rampart"
    return local_files.user_cache_dir(RUNTIME_ENV, "run", environ)


LEADING_PATH_ENTRIES = 0 if sys.flags.safe_path else 1
"""How many entries at the front of sys.path are this process's own (the script's or working directory), not
the interpreter's: a served CLI has the one its stand-in was started with (warm_server sets it)."""


def server_key(kind: str, environ: Mapping[str, str]) -> str:
    """What the server's imports depend on; another value, another server."""
    digest = hashlib.sha256(f"{kind}\0{sys.executable}\0{sys.version}\0".encode())
    for name, value in sorted(server_environment(environ).items()):
        digest.update(f"{name}={value}\0".encode(errors="surrogateescape"))
    # What a process inherits and the server's children would have from it: niceness and limits.
    import resource

    digest.update(f"nice={os.getpriority(os.PRIO_PROCESS, 0)}\0".encode())
    for name in _KEY_LIMITS:
        if hasattr(resource, name):
            digest.update(f"{name}={resource.getrlimit(getattr(resource, name))}\0".encode())
    for directory, _, files in sorted(os.walk(PACKAGE_DIR)):
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(directory, name))
                digest.update(f"{directory}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    # Not this process's sys.path[0] (the script's or working directory): the server runs without one (-P).
    for entry in sys.path[LEADING_PATH_ENTRIES:]:
        with contextlib.suppress(OSError):
            digest.update(f"{entry}\0{os.stat(entry or '.').st_mtime_ns}\0".encode())
    return digest.hexdigest()[:24]


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What a server is started with: the variables read while importing (its key) and PATH, nothing else, so no
    check's secrets stay in a server (each child gets its own check's whole environment)."""
    return {name: value for name, value in environ.items()
            if name.startswith(_KEY_ENV_PREFIXES) or name in _KEY_ENV_NAMES or name == "PATH"}


class RemoteProcess:
    """A child of the warm server, driven like the subprocess.Popen it stands in for (poll, wait, signals,
    stdout/stderr pipes). Its exit code comes over a pipe of its own, written just before it exits, so it survives
    the server; a death by signal comes from the server, which reaps the child. Signals go through the server
    (never to a reused pid), or straight to the child while its pipe shows it alive and the server is gone."""

    def __init__(self, connection: socket.socket, pid: int, args: Sequence[str], exit_read: int,
                 pending: bytes = b"") -> None:
        self.pid, self.args = pid, list(args)
        self.stdout: Any = None
        self.stderr: Any = None
        self.returncode: int | None = None
        self._connection: socket.socket | None = connection
        self._exit_read: int | None = exit_read
        self._pending, self._exit_pending = b"", b""
        self._take_messages(pending)

    def _take_messages(self, chunk: bytes) -> None:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.returncode = int(json.loads(line)["exit"])

    def _read(self, timeout: float) -> None:
        sources = [s for s in (self._connection, self._exit_read) if s is not None]
        if self.returncode is not None or not sources:
            return
        ready, _, _ = select.select(sources, [], [], max(0.0, timeout))
        if self._exit_read is not None and self._exit_read in ready:
            chunk = os.read(self._exit_read, 64)
            self._exit_pending += chunk
            if self._exit_pending.endswith(b"\n"):
                self.returncode = int(self._exit_pending)
            elif not chunk:  # ended without saying how (a signal): the server's word decides
                os.close(self._exit_read)
                self._exit_read = None
        if self.returncode is None and self._connection is not None and self._connection in ready:
            try:
                chunk = self._connection.recv(4096)
            except OSError:
                chunk = b""
            if chunk:
                self._take_messages(chunk)
            else:  # the server is gone; the child's own pipe still tells whether it runs
                self._connection.close()
                self._connection = None
        if self.returncode is None and self._connection is None and self._exit_read is None:
            self.returncode = 255  # the child and its server both ended without a word: never a success

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            remaining = 3600.0 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                import subprocess

                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self._read(min(remaining, 3600.0))
        return self.returncode

    def _signal(self, number: int, group: bool) -> None:
        if self.returncode is not None:
            return
        if self._connection is None:  # no server to reap it: while its pipe is open, the pid is still the child's
            with contextlib.suppress(ProcessLookupError, PermissionError):
                (os.killpg if group else os.kill)(self.pid, number)
            return
        with contextlib.suppress(OSError):
            self._connection.sendall(json.dumps({"signal": int(number), "group": group}).encode() + b"\n")

    def send_signal(self, number: int) -> None:
        self._signal(number, group=False)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def kill_group(self) -> None:
        self._signal(signal.SIGKILL, group=True)

    def close(self) -> None:
        """Let go of the server's connection (the server kills the child's group if it still runs)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._exit_read is not None:
            os.close(self._exit_read)
            self._exit_read = None


def spawn(kind: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, descriptors: Mapping[int, int],
          program: Path | None = None, path0: str | None = None) -> RemoteProcess | None:
    """The process `argv` describes, forked by the warm server of `kind` ("worker" or "pack") with `descriptors`
    (number in the child -> descriptor here) in place; None when no server can give it (the caller starts it)."""
    # Linux only: the server checks each peer's user with SO_PEERCRED.
    if not enabled(env) or not hasattr(socket, "SO_PEERCRED") or not hasattr(os, "fork"):
        return None
    # A relative PYTHONPATH entry means another directory for each check (the server starts in `/`).
    if any(not entry or not os.path.isabs(entry) for entry in env.get("PYTHONPATH", "/").split(os.pathsep)):
        return None
    idle = idle_seconds(env)
    directory = runtime_dir(env)
    path = directory / f"{kind}-{server_key(kind, env)}.sock"
    if len(str(path)) > _MAX_SOCKET_PATH or not _private_directory(directory):
        return None
    connection = _connect(path)
    if connection is None and _start_server(kind, path, env, idle):
        connection = _connect(path)
    if connection is None:
        return None
    exit_read, exit_write = os.pipe()
    exit_fd = max([*descriptors, 2]) + 1
    request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "umask": _current_umask(),
               "targets": [*descriptors, exit_fd], "program": str(program) if program else None,
               "package": str(PACKAGE_DIR), "path0": path0, "exit_fd": exit_fd,
               "ignored": [n for n in _KEPT_IGNORED if signal.getsignal(n) == signal.SIG_IGN]}
    body = json.dumps(request).encode()
    try:
        socket.send_fds(connection, [len(body).to_bytes(4, "big") + body], [*descriptors.values(), exit_write])
        answer, rest = _first_line(connection, START_TIMEOUT_SECONDS)
    except OSError:
        answer, rest = {}, b""
    finally:
        os.close(exit_write)
    if "pid" not in answer:
        connection.close()
        os.close(exit_read)
        return None
    return RemoteProcess(connection, int(answer["pid"]), argv, exit_read, rest)


_FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
_KEPT_IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
"""Signals a new process would start with ignored when the check ignores them (`nohup`, a shell's `&`)."""


def run_cli(argv: Sequence[str]) -> int | None:
    """`rampart check <argv>` run by the CLI's warm server, this process only its stand-in: the same descriptors
    (terminal included), environment and directory, signals passed on (Ctrl-C interrupts the check), its exit code
    returned. None: not run there (another command, help, no server); run it here."""
    if not argv or argv[0] != "check" or "-h" in argv or "--help" in argv or _unusual_interpreter():
        return None
    for fd in (0, 1, 2):  # a closed one would be taken by the server's socket and handed over as the terminal
        try:
            os.fstat(fd)
        except OSError:
            return None
    try:
        process = spawn("cli", ["rampart", *argv], os.environ, Path.cwd(), {0: 0, 1: 1, 2: 2},
                        path0=sys.path[0] if not sys.flags.safe_path and sys.path else None)
    except (UsageError, OSError):  # a bad setting is reported by the check run here
        return None
    if process is None:
        return None
    previous = {}
    for name in _FORWARDED_SIGNALS:
        number = getattr(signal, name)
        if signal.getsignal(number) != signal.SIG_IGN:  # ignored here (nohup): ignored by the child as well
            previous[number] = signal.signal(number, lambda received, _frame: process.send_signal(received))
    try:
        code = process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        process.close()
    if code < 0:  # the check died of a signal: so does its stand-in, as the caller would see it die
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code if code >= 0 else 128 - code


def _unusual_interpreter() -> bool:
    """Started with options the CLI server's interpreter was not (-O, -I, -E, -s, -X, -W, dev mode)."""
    flags = sys.flags
    return bool(flags.optimize or flags.isolated or flags.ignore_environment or flags.no_user_site
                or flags.dev_mode or sys.warnoptions or getattr(sys, "_xoptions", None))


def spawn_pack_host(command: Sequence[str], env: Mapping[str, str], pack_dir: Path,
                    host_fds: tuple[int, ...]) -> RemoteProcess | None:
    """`python -u pack_host.py <fds> <engine> <pack>` (`command`) from the pack server, with stdout and stderr pipes
    as subprocess.PIPE gives them; None when it cannot (only the pipe transport's host is forked)."""
    if not host_fds or command[0] != sys.executable:
        return None
    out, err = os.pipe(), os.pipe()
    try:
        with open(os.devnull, "rb") as devnull:
            process = spawn("pack", command[2:], env, pack_dir, descriptors={
                0: stdin_or(devnull), 1: out[1], 2: err[1], **{fd: fd for fd in host_fds}})
    finally:
        os.close(out[1])
        os.close(err[1])
    if process is None:
        os.close(out[0])
        os.close(err[0])
        return None
    process.stdout, process.stderr = os.fdopen(out[0], "rb"), os.fdopen(err[0], "rb")
    return process


def stdin_or(devnull: Any) -> int:
    """This process's stdin, which a process it started would inherit; `devnull`'s when it has none."""
    try:
        os.fstat(0)
    except OSError:
        return int(devnull.fileno())
    return 0


def _private_directory(directory: Path) -> bool:
    with contextlib.suppress(OSError):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return local_files.is_private(directory)


def _connect(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def _first_line(connection: socket.socket, timeout: float) -> tuple[dict[str, Any], bytes]:
    """The server's first answer, and what came after it in the same read (the child's exit may have)."""
    connection.settimeout(timeout)
    data = b""
    while b"\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            return {}, b""
        data += chunk
    connection.settimeout(None)
    line, _, rest = data.partition(b"\n")
    with contextlib.suppress(ValueError):
        answer = json.loads(line)
        return (answer if isinstance(answer, dict) else {}), rest
    return {}, b""


def _start_server(kind: str, path: Path, env: Mapping[str, str], idle: float) -> bool:
    """A new server for `path`, started detached (its own session, no descriptor of ours but the ready pipe);
    True once it listens."""
    import subprocess

    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-u", "-P", "-m", "rampart.engine.warm_server", kind, str(path), str(write_fd),
               str(idle)]
    try:
        starter = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603
                                   stderr=subprocess.DEVNULL, env=server_environment(env), cwd="/",
                                   pass_fds=(write_fd,),
                                   start_new_session=True)
    except OSError:
        os.close(read_fd)
        return False
    finally:
        os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], START_TIMEOUT_SECONDS)
        started = bool(ready) and os.read(read_fd, 16).startswith(b"ready")
    finally:
        os.close(read_fd)
    starter.wait()  # the starter forked the server and left: nothing of it is this process's child
    return started


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
