"""The methods `dataclasses` writes for a program's dataclasses, compiled once per warm worker server, not per check.

For every dataclass a program defines (a frozen `*Args` per component), `dataclasses` writes the source of its
`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`... and compiles it with `exec`: ~230 compiles and ~20 ms
of every check of this project (bench/README). Here `dataclasses`' own `exec` compiles a source it has not seen
exactly as `exec` would (`"<string>"`, no inherited compiler flags: `dataclasses` has none), and a runner reports the
sources it compiled (`report`) to its warm server, which compiles them (`learn`) before it forks the next check: that
check and every later one find them compiled. Only the exact same text gets the same code, so a program sees
what `exec` of that text gives. A server only ever compiles what it learns, never runs it; the report file is in
the server's private runtime directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from types import CodeType
from typing import Any

_COMPILED: dict[str, CodeType] = {}
"""Source text -> its code: a warm server's, inherited by every process it forks."""
_MAX_COMPILED = 20_000
_MAX_REPORT_BYTES = 8 * 1024 * 1024
_compiled_here: list[str] = []
"""Sources this process compiled itself, for `report`."""
REPORT_TO: str | None = None
"""The warm server's report file, which its forked runners append to (set by the server; None: not served)."""


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A002 (exec's own names)
    if type(source) is str:
        code = _COMPILED.get(source)
        if code is None:
            code = _remember(source)
            _compiled_here.append(source)
        source = code
    exec(source, globals, locals)  # noqa: S102 (what dataclasses itself does with the source it wrote)


def _remember(source: str) -> CodeType:
    if len(_COMPILED) >= _MAX_COMPILED:
        _COMPILED.clear()
    code = _COMPILED[source] = compile(source, "<string>", "exec", dont_inherit=True)
    return code


def install() -> None:
    """`dataclasses` calls its module's `exec` by name (3.11 to 3.13): this one, from now on, in this process."""
    dataclasses.exec = _exec  # type: ignore[attr-defined]


def report() -> None:
    """Append what this process compiled to its server's report file (best effort: a miss compiles next time)."""
    if REPORT_TO is None or not _compiled_here:
        return
    lines = "".join(json.dumps(source) + "\n" for source in _compiled_here)
    _compiled_here.clear()
    with contextlib.suppress(OSError):
        descriptor = os.open(REPORT_TO, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, lines.encode())
        finally:
            os.close(descriptor)


def learn() -> int:
    """In the server: compile what its runners reported since the last call. Returns how many were new."""
    if REPORT_TO is None:
        return 0
    _compiled_here.clear()  # the server's own compiles are in _COMPILED already
    taken = f"{REPORT_TO}.taken"
    try:
        os.replace(REPORT_TO, taken)  # runners that report meanwhile start a new file
        with open(taken, "rb") as handle:
            data = handle.read(_MAX_REPORT_BYTES)
        os.unlink(taken)
    except OSError:
        return 0
    learned = 0
    for line in data.splitlines():
        try:
            source = json.loads(line)
            if type(source) is not str or source in _COMPILED:
                continue
            _remember(source)
        except (ValueError, SyntaxError, RecursionError, MemoryError):  # not a source dataclasses wrote: skipped
            continue
        learned += 1
    return learned
