"""Errors the command line turns into exit codes, so no user ever sees a traceback for their own mistake."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class RampartError(Exception):
    """Base of every error the CLI reports as a message rather than a traceback."""

    exit_code = EXIT_USAGE


class UsageError(RampartError):
    """Bad flags, bad config, a missing file: the user must change the input (exit 2)."""

    exit_code = EXIT_USAGE


class OperationFailed(RampartError):
    """The operation ran but failed or found a problem (exit 1)."""

    exit_code = EXIT_FAILED
