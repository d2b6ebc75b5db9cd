"""The engine's own ways with the local file system, shared by the stack cache, the SDK code cache and the worker."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path


def user_cache_dir(override_env: str, leaf: str, environ: Mapping[str, str] = os.environ) -> Path:
    """`$<override_env>`, else `$XDG_CACHE_HOME/rampart/<leaf>`, else `~/.cache/rampart/<leaf>`."""
    if environ.get(override_env):
        return Path(environ[override_env])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rampart" / leaf


def is_private(directory: Path) -> bool:
    """A directory of our own that nobody else can write to: what is loaded from it (pickles, marshalled code) runs."""
    try:
        info = directory.stat()
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    return (getuid is None or info.st_uid == getuid()) and not info.st_mode & 0o022


def walk(root: Path, skipped: frozenset[str] | set[str]) -> Iterator[Path]:
    """Every file below `root` in a stable order, never entering a directory named in `skipped`."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        for name in sorted(files):
            yield Path(directory, name)
