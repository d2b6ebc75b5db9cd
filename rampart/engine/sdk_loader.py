"""Provider SDK modules imported from rewritten, cached code (sdk_rewrite), in the worker process only.

The rewrite halves what importing the SDK modules a program names costs, but rewriting and compiling them (40 MB
of source for this project) costs several times what it saves, so it is never done during a check: the
rewritten code is cached (marshal, in a private user directory, one entry per source file and interpreter,
valid for the source's exact size and mtime and the interpreter's bytecode magic), and a module without a valid
entry is imported normally and its entry written afterwards by a detached, low-priority process (`warm`). The
first check after an SDK install or upgrade therefore runs at the normal speed, later ones at the cached one.
A stale, foreign or corrupt entry is a miss, never an error; anything unexpected (no generated header, a
`__future__` import, a loader other than the standard source loader) means the normal import of that module.
The program's own modules are never handled: only `pulumi_*` packages outside the program's directory (a
`site-packages` inside it excepted).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import re
import subprocess
import sys
from pathlib import Path
from types import CodeType

from rampart.engine import local_files
from rampart.engine.sdk_rewrite import rewrite

FORMAT = b"rampart-sdk-code/2\n"
"""Bumped whenever the rewrite changes: entries of another format are misses."""
DISABLE_ENV = "RAMPART_SDK_LOADER"
"""`0` imports SDKs normally (to compare, or to rule this loader out)."""
CACHE_ENV = "RAMPART_SDK_CACHE_DIR"
MAX_BYTES = 1 << 30
"""About 45 MB per environment holding pulumi_aws and pulumi_github at this project's use."""
_PACKAGE = re.compile(r"pulumi_[A-Za-z0-9_]+")
_NOT_GENERATED = frozenset({"pulumi_policy"})
"""Hand-written `pulumi_*` packages: never rewritten (their header check would refuse them anyway)."""


def cache_dir() -> Path:
    return local_files.user_cache_dir(CACHE_ENV, "sdk-code")


# --- the cache -----------------------------------------------------------------------------------------------


def _private(directory: Path) -> bool:
    return local_files.is_private(directory)


def _entry_path(directory: Path, source_path: str) -> Path:
    # One entry per source file and interpreter: a new SDK version overwrites its predecessor's entries.
    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + os.fsencode(source_path)).hexdigest()
    return directory / f"{digest[:40]}.code"


def source_stamp(source_path: str) -> tuple[int, int]:
    """The source's size and modification time; for a package's `__init__`, whose rewritten code holds the names
    its sibling modules export (sdk_lazy), the time also moves when a file of the package is added, removed or
    replaced (an SDK upgrade), as the package directory's own modification time does."""
    info = os.stat(source_path)
    if os.path.basename(source_path) != "__init__.py":
        return info.st_size, info.st_mtime_ns
    return info.st_size, info.st_mtime_ns ^ (os.stat(os.path.dirname(source_path)).st_mtime_ns << 1)


def _header(source_path: str, size: int, mtime_ns: int) -> bytes:
    stamp = f"{importlib.util.MAGIC_NUMBER.hex()}|{size}|{mtime_ns}|{source_path}\n".encode()
    return FORMAT + stamp


def load_cached(directory: Path, source_path: str, size: int, mtime_ns: int) -> CodeType | None:
    if not _private(directory):
        return None
    try:
        data = _entry_path(directory, source_path).read_bytes()
    except OSError:
        return None
    header = _header(source_path, size, mtime_ns)
    if not data.startswith(header):
        return None  # another source version, interpreter or format
    try:
        code = marshal.loads(data[len(header):])  # noqa: S302 (our own private directory, see _private)
    except (ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def store(directory: Path, source_path: str, size: int, mtime_ns: int, code: CodeType) -> None:
    """Best effort: a cache that cannot be written only makes the next import slower."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(directory):
            return
        data = _header(source_path, size, mtime_ns) + marshal.dumps(code)
    except (OSError, ValueError):
        return
    local_files.write_atomically(_entry_path(directory, source_path), data)


# --- the import hook -----------------------------------------------------------------------------------------


class SdkLoader(importlib.machinery.SourceFileLoader):
    """A SourceFileLoader (resources, `__file__`, `__cached__` as usual) whose code comes from the cache."""

    def __init__(self, fullname: str, path: str, finder: SdkFinder) -> None:
        super().__init__(fullname, path)
        self.finder = finder

    def get_code(self, fullname: str) -> CodeType | None:
        try:
            size, stamp = source_stamp(self.path)
            code = load_cached(self.finder.directory, self.path, size, stamp)
        except Exception:  # noqa: BLE001 (anything unexpected: the normal import below)
            code = None
        if code is not None:
            return code
        self.finder.missed.append(self.path)
        return super().get_code(fullname)


def is_generated_module(module_name: str, program_dir: Path | None) -> bool:
    """A loaded module of a generated `pulumi_*` SDK, outside the program's own files (a `site-packages` inside
    them excepted): what this loader rewrites and sdk_hints remembers."""
    top = module_name.partition(".")[0]
    if not _PACKAGE.fullmatch(top) or top in _NOT_GENERATED:
        return False
    path = getattr(sys.modules.get(module_name), "__file__", None)
    return isinstance(path, str) and not _in_program(path, program_dir)


def _in_program(origin: str, program_dir: Path | None) -> bool:
    if program_dir is None:
        return False
    path = Path(origin)
    return path.is_relative_to(program_dir) and "site-packages" not in path.parts


class SdkFinder:
    """Finds `pulumi_*` SDK modules as the path finder does and loads their `.py` files with SdkLoader."""

    def __init__(self, directory: Path, program_dir: Path | None = None) -> None:
        self.directory = directory
        self.program_dir = program_dir
        self.missed: list[str] = []
        """Source files imported normally for want of a cache entry: what `warm_later` rewrites."""

    def _programs(self, origin: str) -> bool:
        return _in_program(origin, self.program_dir)

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001, ANN201 (the MetaPathFinder protocol)
        top = fullname.partition(".")[0]
        if not _PACKAGE.fullmatch(top) or top in _NOT_GENERATED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if (spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader
                or not spec.origin or not spec.origin.endswith(".py") or self._programs(spec.origin)):
            return None  # the finders after this one resolve it exactly as without it
        spec.loader = SdkLoader(fullname, spec.origin, self)
        return spec

    def invalidate_caches(self) -> None:
        importlib.machinery.PathFinder.invalidate_caches()

    def warm_later(self) -> subprocess.Popen[bytes] | None:
        """Rewrite what missed, in a detached process at the lowest priority: it outlives this one, shares none
        of its descriptors (the check waits on those) and never delays it."""
        if not self.missed:
            return None
        package_dir = Path(__file__).resolve().parents[1]
        command = [sys.executable, "-c", _WARM, str(package_dir), str(self.directory), *dict.fromkeys(self.missed)]
        self.missed = []
        try:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603
                                    stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        except OSError:
            return None


# Run as `python -c _WARM <rampart package dir> <cache dir> <source>...`: loads `rampart` from its directory, as
# bootstrap.py does under a program's own interpreter, where Rampart's site-packages are not importable.
_WARM = """import importlib.util, sys
spec = importlib.util.spec_from_file_location("rampart", sys.argv[1] + "/__init__.py",
                                              submodule_search_locations=[sys.argv[1]])
module = importlib.util.module_from_spec(spec)
sys.modules["rampart"] = module
spec.loader.exec_module(module)
from rampart.engine import sdk_loader
sdk_loader.warm(sdk_loader.Path(sys.argv[2]), sys.argv[3:])
"""


def warm(directory: Path, sources: list[str]) -> int:
    """Write the cache entries of `sources` (those without a valid one), one process at a time per directory.
    Returns how many were written."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)
    with _exclusive(directory) as mine:
        if not mine:
            return 0
        written = 0
        for source in sources:
            try:
                size, stamp = source_stamp(source)
                if load_cached(directory, source, size, stamp) is not None:
                    continue
                code = rewrite(Path(source).read_bytes(), source)
            except Exception:  # noqa: BLE001, S112 (a module the rewrite cannot take keeps its normal import)
                continue
            if code is not None:
                store(directory, source, size, stamp, code)
                written += 1
        _prune(directory)
        return written


def _prune(directory: Path, limit: int = MAX_BYTES) -> None:
    """Entries of environments since deleted or upgraded are never read again: beyond `limit` bytes, the oldest
    written go (one still in use is only written again by a later warming)."""
    entries = []
    for path in [*directory.glob("*.code"), *directory.glob("*.hints")]:  # sdk_hints' entries share the budget
        with contextlib.suppress(OSError):
            info = path.stat()
            entries.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            total -= size


@contextlib.contextmanager
def _exclusive(directory: Path):  # noqa: ANN202
    """Held by one warming process at a time (two checks started together would rewrite the same modules)."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: concurrent writers still replace entries atomically
        yield True
        return
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = (directory / "warming.lock").open("a")
    except OSError:
        yield False
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


def install(program_dir: Path | None = None, directory: Path | None = None) -> SdkFinder | None:
    """Put the finder on sys.meta_path (once). Not on Python >= 3.14, whose annotations are lazy already,
    nor when RAMPART_SDK_LOADER=0."""
    if sys.version_info >= (3, 14) or os.environ.get(DISABLE_ENV) == "0":
        return None
    for finder in sys.meta_path:
        if isinstance(finder, SdkFinder):
            if program_dir is not None:  # a warm server's child runs another program than the one before
                finder.program_dir = program_dir.resolve()
            return finder
    finder = SdkFinder(directory or cache_dir(), program_dir.resolve() if program_dir else None)
    # Just before the path finder, whose lookup it repeats: finders ahead of it (editable installs) keep precedence.
    position = next((i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder), 0)
    sys.meta_path.insert(position, finder)
    return finder


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, SdkFinder)]
