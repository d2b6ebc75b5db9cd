"""Compiled bytecode kept in Rampart's private cache when the environment forbids writing it beside the source.

Containers and CI images often set PYTHONDONTWRITEBYTECODE=1 to keep `__pycache__` out of their trees. Python then
compiles every module it imports from source, on every run: Rampart's own modules, the policy pack and the
program, in each of `rampart check`'s processes (about half a second of CPU per check, bench/README). Python's own
answer is a pycache prefix, a separate tree that mirrors the sources' paths, so that is what Rampart uses: under
PYTHONDONTWRITEBYTECODE, and unless the user chose a prefix (PYTHONPYCACHEPREFIX) or turned this off
(RAMPART_BYTECODE_CACHE=0), its processes read and write bytecode under `$XDG_CACHE_HOME/rampart/bytecode` (else
`~/.cache/rampart/bytecode`), a directory nobody else may write to, and never beside a source file. Python checks
each entry against its source's size and modification time, as it does in `__pycache__`. Entries whose source is
gone (a deleted checkout, a temporary directory) are removed at most once a day, in a detached low-priority process.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path

from rampart.engine import local_files

TYPE_CHECKING = False
if TYPE_CHECKING:  # loaded when used: `rampart`'s stand-in for a served check loads this module (rampart.cli)
    import subprocess

DISABLE_ENV = "RAMPART_BYTECODE_CACHE"
CACHE_ENV = "RAMPART_BYTECODE_DIR"
PRUNE_EVERY_SECONDS = 24 * 3600
_PRUNE_STAMP = ".pruned"
MARKER = ".rampart-bytecode"
"""In a prefix directory Rampart created itself. RAMPART_BYTECODE_DIR may name one that holds other tools' files
(`~/.cache`), which is used but never pruned."""
_ENTRY = r"(?P<stem>.+?)\.[A-Za-z]+-?\d+(?:\.opt-\d+)?\.pyc"
"""`<name>.<cache tag>[.opt-N].pyc`; the name may hold dots (`settings.local.py`)."""


def private_prefix(environ: MutableMapping[str, str]) -> Path | None:
    """The prefix to use, or None to leave Python's own behaviour alone."""
    directory = local_files.user_cache_dir(CACHE_ENV, "bytecode", environ)
    if environ.get("PYTHONPYCACHEPREFIX") == str(directory) and environ.get(DISABLE_ENV) != "0":
        return directory  # set by this process already (`python -m rampart`, then the CLI's entry point)
    if not environ.get("PYTHONDONTWRITEBYTECODE") or environ.get("PYTHONPYCACHEPREFIX"):
        return None
    if environ.get(DISABLE_ENV) == "0":
        return None
    with contextlib.suppress(OSError):
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.mkdir(mode=0o700)
        (directory / MARKER).touch()  # created here, so only Rampart's own entries are in it: `prune` may run
    return directory if local_files.is_private(directory) else None


def use_private_prefix(environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """In this process and every process it starts (they inherit `environ`): bytecode under the private prefix."""
    directory = private_prefix(environ)
    if directory is None:
        return None
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    environ["PYTHONPYCACHEPREFIX"] = str(directory)
    sys.pycache_prefix = str(directory)
    sys.dont_write_bytecode = False
    return directory


def prune_later(directory: Path) -> subprocess.Popen[bytes] | None:
    """At most once a day, a detached `nice 19` process removes the entries whose source no longer exists."""
    stamp = directory / _PRUNE_STAMP
    try:
        if time.time() - stamp.stat().st_mtime < PRUNE_EVERY_SECONDS:
            return None
    except OSError:
        pass
    with contextlib.suppress(OSError):
        stamp.touch()
    command = [sys.executable, "-c", "import sys; from rampart.bytecode import prune; prune(sys.argv[1])",
               str(directory)]
    import subprocess

    try:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603
                                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError:
        return None


def source_of(entry: Path, directory: Path) -> Path | None:
    """The source a prefix entry was compiled from: `<prefix>/<source dir>/<name>.<tag>[.opt-N].pyc`."""
    import re

    relative = entry.relative_to(directory)
    match = re.fullmatch(_ENTRY, entry.name)  # (re caches the compiled pattern)
    if match is None or len(relative.parts) < 2 or "__pycache__" in relative.parts:
        return None
    return Path(os.sep, *relative.parts[:-1], match["stem"] + ".py")


def prune(directory: str | Path) -> int:
    """Remove every entry whose source file is gone, then the directories left empty. Returns entries removed."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)
    directory = Path(directory)
    if not (directory / MARKER).is_file():
        return 0
    removed = 0
    for root, _, files in os.walk(directory, topdown=False):
        for name in files:
            entry = Path(root, name)
            source = source_of(entry, directory)
            if source is not None and not source.exists():
                with contextlib.suppress(OSError):
                    entry.unlink()
                    removed += 1
        if Path(root) != directory:
            with contextlib.suppress(OSError):
                os.rmdir(root)  # only succeeds when empty
    return removed
