"""Terminal output shared by every command: rich on a terminal, plain lines elsewhere, errors on stderr.

`stdout` and `stderr` are rich Consoles made on first use: importing rich takes ~70 ms, and `rampart check`
must start its stack programs before that (tests/engine/test_cli_startup.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    stderr: Console
    stdout: Console


def _make(name: str) -> Console:
    from rich.console import Console

    if name == "stderr":
        # Progress and diagnostics go to stderr so that `--format json` on stdout stays machine-readable.
        return Console(stderr=True, highlight=False, soft_wrap=True)
    # CI logs are wide; rich's 80-column default for non-terminals folds every table cell.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def __getattr__(name: str) -> Any:
    if name not in ("stdout", "stderr"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    made = globals().get(name)
    if made is None:
        made = globals()[name] = _make(name)
    return made


def is_interactive() -> bool:
    """True when a person is watching: only then are progress displays drawn."""
    # isatty first: a check in CI or a pipe then never loads rich before its stack programs start.
    return sys.stderr.isatty() and _console("stderr").is_terminal


def error(message: str) -> None:
    from rich.markup import escape

    # The message is data (paths, AWS errors): never let it be read as markup.
    _console("stderr").print(f"[bold red]error:[/] {escape(message)}", markup=True)
