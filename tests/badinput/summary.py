"""`python -m tests.badinput.summary`: run the bad-input harness and print its counts (cases, exit codes,
tracebacks, hangs, secrets echoed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if __name__ == "__main__":
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", str(Path(__file__).resolve().parent)]))
