"""Terminal output shared by every command: rich on a terminal, plain lines elsewhere, errors on stderr."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

# Progress and diagnostics go to stderr so that `--format json` on stdout stays machine-readable.
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
# CI logs are wide; rich's 80-column default for non-terminals folds every table cell.
stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def is_interactive() -> bool:
    """True when a person is watching: only then are progress displays drawn."""
    return stderr.is_terminal and sys.stderr.isatty()


def error(message: str) -> None:
    # The message is data (paths, AWS errors): never let it be read as markup.
    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True)
