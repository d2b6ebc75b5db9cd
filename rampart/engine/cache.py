"""A content-addressed cache of checked stacks: an unchanged stack is not run or analysed again.

The key is a digest of everything a stack's result rests on:
- every file of the program directory (its code, `Pulumi.yaml`, the stack file, data files it reads), by content;
- every file of the policy pack, and the stack's pack config file when it lives elsewhere;
- the nearest `uv.lock` above the program, and the environments that run the program and the pack: their Python
  and every installed distribution's name and version (the pulumi SDK, providers, pydantic...);
- rampart's own source, the stack name, the preview mode (`--assume-existing`) and the `PULUMI_*` variables.
What is left out, a program that reads files outside its directory or other environment variables, is why
`--no-cache` exists. Only results without an error are kept: a failure is always run again.

Entries are pickles in a directory only the current user can write (`$RAMPART_CACHE_DIR`, else
`$XDG_CACHE_HOME/rampart/check`, else `~/.cache/rampart/check`); a directory anyone else could write to is not
used at all, since loading a pickle runs code. The newest `MAX_ENTRIES` entries are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rampart.engine import local_files

FORMAT = "rampart-check-cache/1"
MAX_ENTRIES = 64
SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".bootstrap", ".pytest_cache",
                          ".ruff_cache", ".mypy_cache", ".rampart-cache"})
_RAMPART_DIR = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    return local_files.user_cache_dir("RAMPART_CACHE_DIR", "check")


def _files(root: Path) -> Iterator[Path]:
    return local_files.walk(root, SKIPPED_DIRS)


def tree_digest(root: Path, suffixes: tuple[str, ...] = ()) -> str:
    """Every file under `root` (but SKIPPED_DIRS), by relative path and content."""
    digest = hashlib.sha256()
    for path in _files(root):
        if suffixes and path.suffix not in suffixes:
            continue
        with contextlib.suppress(OSError):  # a dangling link or a file that vanished is no input
            content = path.read_bytes()
            digest.update(f"{path.relative_to(root).as_posix()}\0{len(content)}\0".encode())
            digest.update(content)
    return digest.hexdigest()


def environment_digest(prefix: Path) -> str:
    """An environment's Python and installed distributions (their dist-info names carry the versions)."""
    digest = hashlib.sha256()
    with contextlib.suppress(OSError):
        digest.update((prefix / "pyvenv.cfg").read_bytes())
    for pattern in ("lib/python*/site-packages/*.dist-info", "Lib/site-packages/*.dist-info"):
        for info in sorted(prefix.glob(pattern)):
            digest.update(info.name.encode() + b"\0")
    return digest.hexdigest()


def _nearest(start: Path, name: str) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / name).is_file():
            return directory / name
    return None


def _file_digest(path: Path | None) -> str:
    if path is None or not path.is_file():
        return "absent"
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class RunInputs:
    """What every stack of one run shares, digested once."""

    program: str
    pack: str
    environments: str
    rampart: str
    lock: str
    variables: str
    where: str

    @classmethod
    def of(cls, program_dir: Path, pack_dir: Path, program_prefix: Path | None) -> RunInputs:
        variables = sorted((k, v) for k, v in os.environ.items() if k.startswith("PULUMI_"))
        own = Path(sys.prefix)
        return cls(
            program=tree_digest(program_dir),
            pack=tree_digest(pack_dir),
            environments=f"{sys.version}|{environment_digest(own)}|{environment_digest(program_prefix or own)}",
            rampart=tree_digest(_RAMPART_DIR, (".py",)),
            lock=_file_digest(_nearest(program_dir, "uv.lock")),
            variables=hashlib.sha256(repr(variables).encode()).hexdigest(),
            where=f"{program_dir.resolve()}|{pack_dir.resolve()}",
        )

    def key(self, stack: str, mode: str, pack_config: Path | None) -> str:
        parts = [FORMAT, self.program, self.pack, self.environments, self.rampart, self.lock, self.variables,
                 self.where, stack, mode, str(pack_config or ""), _file_digest(pack_config)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    pack: Any
    """The pack's PackInfo, so a run whose every stack hits never starts the pack."""
    result: Any
    """The stack's StackResult."""
    stored_at: float


class StackCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or cache_dir()

    def _private(self) -> bool:
        return local_files.is_private(self.directory)

    def load(self, key: str) -> Entry | None:
        if not self._private():
            return None
        path = self.directory / f"{key}.pickle"
        try:
            with path.open("rb") as handle:
                entry = pickle.load(handle)  # noqa: S301 (our own private directory, see _private)
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
            return None  # absent, or written by another rampart: a miss
        if not isinstance(entry, Entry):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return entry

    def store(self, key: str, pack: Any, result: Any) -> None:
        """Best effort: a cache that cannot be written only makes the next run slower."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self._private():
                return
            data = pickle.dumps(Entry(pack=pack, result=result, stored_at=time.time()),
                                protocol=pickle.HIGHEST_PROTOCOL)
            if local_files.write_atomically(self.directory / f"{key}.pickle", data):
                self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        entries = sorted(self.directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[MAX_ENTRIES:]:
            with contextlib.suppress(OSError):
                stale.unlink()


def hit_note(entry: Entry) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(entry.stored_at))
    return (f"Cache: result reused from the run of {when}; the program, stack file, pack, pack config, lock file "
            "and versions are unchanged (--no-cache runs it again)")

