"""`rampart`: the command line. Each subcommand lives in rampart/commands/<name>.py and exposes `register`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from contextvars import ContextVar

from rampart import console
from rampart.errors import RampartError

# Module names under rampart.commands; each defines `register(subparsers)` which adds one parser and sets
# `handler=<callable(args) -> int>` as its default. Listed explicitly so a typo fails loudly, not silently.
COMMAND_MODULES: tuple[str, ...] = (
    "check",
    "snapshot",
    "migrate",
    "deploy",
    "smoke",
    "verify",
    "rollback",
    "bootstrap",
    "restore",
    "notify",
    "metrics",
)


RUNNING_COMMAND: ContextVar[str] = ContextVar("rampart_command", default="ops")
"""The subcommand this process runs: AWS role sessions are named after it, so CloudTrail shows which one called."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rampart",
        description="Rampart: check a Pulumi stack offline against the policy pack, and run deployments.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(f"rampart.commands.{module_name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    RUNNING_COMMAND.set(args.command)
    try:
        return int(args.handler(args))
    except RampartError as exc:
        console.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130


def entrypoint() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # SIGINT while the parser or a command module was still loading: no traceback
        console.error("interrupted")
        code = 130
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entrypoint()
