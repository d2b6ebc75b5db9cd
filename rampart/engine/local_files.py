"""The engine's own ways with the local file system, shared by the stack cache, the SDK code cache and the worker."""

from __future__ import annotations

import contextlib
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


def write_atomically(path: Path, data: bytes) -> bool:
    """`data` as `path`, all or nothing (written beside it, then renamed): a reader never sees half an entry, and two
    writers of the same entry leave one whole. Best effort for the caches: False when it could not be written."""
    import tempfile  # here: `rampart`'s stand-in for a served check loads this module, and never writes

    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".partial", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError:
        with contextlib.suppress(OSError, NameError):
            os.unlink(handle.name)
        return False
    return True
