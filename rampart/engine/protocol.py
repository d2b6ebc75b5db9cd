"""What `rampart check` and its program worker agree on, kept free of the Pulumi SDK so that `rampart check` can
start the worker before it loads anything heavy (the worker's start-up is the long pole of a check)."""

from __future__ import annotations

import signal

STREAM_SUFFIX = ".registrations.jsonl"
"""`<stack>.registrations.jsonl`: one registration per line, written as the program declares it, so the pack can
judge each resource while the program still runs; the result file then leaves them out."""


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
