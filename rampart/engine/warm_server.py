"""A warm process for `rampart check`: it keeps the heavy imports of the program runner (rampart.engine.worker: the
pulumi SDK and the provider modules programs name) or of the pack host (pulumi_policy, gRPC, protobuf) done, and
forks a fresh child per request that runs exactly what `python -m rampart.engine.worker ...` or
`python pack_host.py ...` would run, with the requester's arguments, environment, directory and descriptors.

Started by rampart.engine.warm (the client, which also says when it is not used):
`python -u -P -m rampart.engine.warm_server <kind> <socket path> <ready fd> <idle seconds>`.

Why: at one service, a check's wall time is mostly the start-up of these two processes (interpreter, `import
pulumi`, the SDK modules, pulumi_policy: about 1.2 s of the 2.5 s), paid again by every check (bench/README.md).

What a child shares with the server is only what was imported before the fork: the SDK and the libraries the
worker preloads today, never a program's or a pack's own module (the client does not use the server for a
program or pack directory that would shadow one of them). Each child is a new session (killed whole as a group),
gets the requester's environment, umask, working directory and descriptors, and ends with os._exit, so nothing
of the server's cleanup runs in it. The server exits after `idle seconds` without a request and without a running
child, or at once when its socket path no longer names its socket (a newer server took it, or it was removed).
"""

from __future__ import annotations

import contextlib
import faulthandler
import fcntl
import gc
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from rampart.engine import warm, warm_kinds

HEADER = struct.Struct(">I")
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_FDS = 16
HOST = Path(__file__).resolve().with_name("pack_host.py")
PACKAGE_DIR = Path(__file__).resolve().parents[1]


class Server:
    def __init__(self, kind: str, path: Path, idle: float) -> None:
        self.kind, self.path, self.idle = kind, path, idle
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, socket.socket] = {}
        """Each running child's pid, and the connection of the check that asked for it."""
        self.owners: dict[socket.socket, int] = {}
        self.last_activity = time.monotonic()
        self.wakeup_read, self.wakeup_write = os.pipe()
        self.inode = 0

    def listen(self) -> None:
        # Bound beside the final path, then renamed over it: a check never connects to a half-made socket, and of
        # two servers started at once the later one wins the path (the other idles out).
        partial = self.path.with_name(f".{os.getpid() % 10**7:07d}")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        old_umask = os.umask(0o177)
        try:
            self.listener.bind(str(partial))
        finally:
            os.umask(old_umask)
        self.listener.listen(16)
        os.replace(partial, self.path)
        self.inode = self.path.stat().st_ino
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        for fd in (self.wakeup_read, self.wakeup_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, "child")

    def still_ours(self) -> bool:
        try:
            return self.path.stat().st_ino == self.inode
        except OSError:
            return False

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select(timeout=1.0):
                if key.data == "accept":
                    self._accept()
                elif key.data == "child":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wakeup_read, 512)
                    self._reap()
                else:
                    self._from_client(key.fileobj)
            self._reap()
            quiet = not self.children and time.monotonic() - self.last_activity > self.idle
            if (quiet or not self.still_ours()) and not self.children:
                with contextlib.suppress(OSError):
                    if self.still_ours():
                        self.path.unlink()
                        os.unlink(f"{self.path}.served")
                return

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError):
            connection, _ = self.listener.accept()
            self.last_activity = time.monotonic()
            credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _, uid, _ = struct.unpack("3i", credentials)
            if uid != os.getuid():  # the directory is private already; this is the second lock
                connection.close()
                return
            connection.setblocking(True)
            try:
                request, fds = _receive_request(connection, time.monotonic() + 2)
            except (OSError, ValueError) as exc:
                _send(connection, {"error": f"unreadable request: {exc}"})
                connection.close()
                return
            connection.settimeout(None)
            self._start(connection, request, fds)

    def _start(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        try:
            if request.get("package") != str(PACKAGE_DIR):
                raise RuntimeError(f"this server runs the rampart in {PACKAGE_DIR}, not {request.get('package')}")
            shadowed = _shadowed(request.get("path0") or request["cwd"])
            if shadowed:
                raise RuntimeError(f"{request['cwd']} has its own {', '.join(shadowed)}")
            warm_kinds.before_fork(self.kind, request)
            gc.collect()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
        except BaseException as exc:  # noqa: BLE001 (reported to the check, which then starts its own process)
            for fd in fds:
                os.close(fd)
            _send(connection, {"error": f"{type(exc).__name__}: {exc}"})
            connection.close()
            return
        if pid == 0:
            connection.close()  # the check must see the server's end close when the server goes, not the child
            self._become_child(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        warm_kinds.after_fork(self.kind)
        self._note_served(pid)
        self.children[pid] = connection
        self.owners[connection] = pid
        connection.setblocking(False)
        self.selector.register(connection, selectors.EVENT_READ, "client")
        _send(connection, {"pid": pid})

    def _note_served(self, pid: int) -> None:
        """One line per child forked (`<pid> <kind>`), beside the socket: what tests and people can see was served."""
        with contextlib.suppress(OSError), open(f"{self.path}.served", "a", encoding="utf-8") as log:
            log.write(f"{pid} {self.kind}\n")

    def _become_child(self, request: dict[str, Any], fds: list[int]) -> None:
        code = 1
        exit_fd = int(request.get("exit_fd") or -1)
        try:
            signal.set_wakeup_fd(-1)
            # As a new interpreter started by the check would have them: what the check ignores stays ignored.
            ignored = set(request.get("ignored") or ())
            for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                signal.signal(number, signal.SIG_IGN if number in ignored else signal.SIG_DFL)
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN if signal.SIGINT in ignored else signal.default_int_handler)
            self.selector.close()
            self.listener.close()
            for other in self.owners:
                other.close()
            os.close(self.wakeup_read)
            os.close(self.wakeup_write)
            os.setsid()
            _place_descriptors(fds, request["targets"])
            os.environ.clear()
            os.environ.update(request["env"])
            os.umask(int(request["umask"]))
            os.chdir(request["cwd"])
            if self.kind == "pack":  # as `python pack_host.py` starts (pack_host puts the pack's directory there)
                sys.path.insert(0, str(HOST.parent))
            elif request.get("path0"):  # the CLI's, as it was started (`python -m rampart`: its directory)
                sys.path.insert(0, request["path0"])
                warm.LEADING_PATH_ENTRIES = 1
            sys.argv = list(request["argv"])
            if os.environ.get("PYTHONFAULTHANDLER"):
                faulthandler.enable()
            code = _run(self.kind)
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException:  # noqa: BLE001 (as the interpreter would print an uncaught exception)
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            with contextlib.suppress(OSError):  # the check learns the code even if the server is gone by now
                os.write(exit_fd, f"{code}\n".encode())
            os._exit(code)

    def _from_client(self, connection: Any) -> None:
        try:
            data = connection.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        pid = self.owners.get(connection)
        if not data:  # the check is gone: so is what it asked for
            if pid is not None:
                _signal(pid, signal.SIGKILL, group=True)
            self._forget(connection)
            return
        for line in data.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                message = json.loads(line)
                if pid is not None:
                    _signal(pid, int(message["signal"]), group=bool(message.get("group")))

    def _reap(self) -> None:
        for pid in list(self.children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: its status is unknown, never a success
                done, status = pid, 255 << 8
            if done:
                connection = self.children.pop(pid)
                self.last_activity = time.monotonic()
                with contextlib.suppress(OSError):
                    connection.setblocking(True)
                    _send(connection, {"exit": os.waitstatus_to_exitcode(status)})
                self._forget(connection)

    def _forget(self, connection: socket.socket) -> None:
        pid = self.owners.pop(connection, None)
        if pid is not None and pid in self.children:
            return  # reaped later; its connection closes then
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(connection)
        connection.close()


def _run(kind: str) -> int:
    if kind == "worker":
        from rampart.engine import worker

        return worker.main()
    if kind == "cli":
        from rampart import cli

        return cli.run(sys.argv[1:])
    runpy.run_path(str(HOST), run_name="__main__")
    return 0


def _exit_code(code: Any) -> int:
    if code is None or isinstance(code, int):
        return code or 0
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1


def _signal(pid: int, number: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, number)


def _place_descriptors(fds: list[int], targets: list[int]) -> None:
    """Each received descriptor at the number the requester gave it (stdin/stdout/stderr, the status pipe...)."""
    if len(fds) != len(targets):
        raise ValueError("descriptors and their numbers differ in count")
    high = max([*targets, *fds, 2]) + 1
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, high) for fd in fds]
    for fd in fds:
        os.close(fd)
    for fd, target in zip(moved, targets, strict=True):
        os.dup2(fd, target, inheritable=target <= 2)
    for fd in moved:
        os.close(fd)


def _receive_request(connection: socket.socket, deadline: float) -> tuple[dict[str, Any], list[int]]:
    """The request, whole within the deadline: the server serves one request at a time, so a client that connects
    and sends nothing holds up the others for two seconds at most."""
    connection.settimeout(max(0.01, deadline - time.monotonic()))
    data, fds, _, _ = socket.recv_fds(connection, 65536, MAX_FDS)
    if len(data) < HEADER.size:
        raise ValueError("no request")
    (size,) = HEADER.unpack_from(data)
    if size > MAX_REQUEST_BYTES:
        raise ValueError("request too large")
    body = bytearray(data[HEADER.size:])
    while len(body) < size:
        connection.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = connection.recv(min(65536, size - len(body)))
        if not chunk:
            raise ValueError("request cut short")
        body += chunk
    return json.loads(bytes(body)), list(fds)


def _send(connection: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        connection.sendall(json.dumps(message).encode() + b"\n")


def _shadowed(directory: str) -> list[str]:
    """Modules this server holds that the directory's own files would stand in for, were it first on the path
    (a module the server loaded from that very directory stands in for nothing)."""
    try:
        entries = {_module_name(directory, entry) for entry in os.listdir(directory)} - {None}
    except OSError:
        return []
    inside = os.path.realpath(directory) + os.sep
    shadowed = set()
    for name in entries.intersection(n.partition(".")[0] for n in sys.modules) - {"__main__"}:
        origin = getattr(sys.modules.get(name), "__file__", None) or ""
        if not os.path.realpath(origin).startswith(inside):
            shadowed.add(name)
    return sorted(shadowed)


def _module_name(directory: str, entry: str) -> str | None:
    """The module `entry` would be imported as, first on the path: a package (with __init__) or a module file."""
    name, _, suffix = entry.partition(".")
    if not suffix:
        package = os.path.join(directory, entry)
        return name if any(os.path.isfile(os.path.join(package, f"__init__.{s}")) for s in ("py", "pyc")) else None
    return name if suffix.rpartition(".")[2] in ("py", "pyc", "so", "pyd") else None


def main() -> int:
    kind, path, ready_fd, idle = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if os.fork() != 0:  # the starter leaves at once: the server is nobody's child but init's
        os._exit(0)
    gc.disable()
    try:
        warm_kinds.prepare(kind)
    finally:
        gc.freeze()
        gc.enable()
    server = Server(kind, path, idle)
    warm_kinds.serving(kind, path)
    server.listen()
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
