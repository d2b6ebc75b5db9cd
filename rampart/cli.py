"""`rampart`: the command line. Each subcommand lives in rampart/commands/<name>.py and exposes `register`."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from contextvars import ContextVar

# Only what `entrypoint` needs to hand a check to its warm server: everything else loads when this process runs the
# command itself (tests/engine/test_cli_startup.py), as every check pays for what the stand-in loads.
from rampart import bytecode
from rampart.engine import warm
from rampart.errors import RampartError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand, or `only` the one named: `rampart check` then never imports the ops commands' boto3
    (a third of a second of CPU on every check; bench/README)."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="rampart",
        description="Rampart: check a Pulumi stack offline against the policy pack, and run deployments.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        if only is None or module_name == only:
            importlib.import_module(f"rampart.commands.{module_name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rampart import console

    argv = list(sys.argv[1:] if argv is None else argv)
    # Only a known command in first place narrows the parser; anything else (`-h`, a typo) gets every command.
    parser = build_parser(argv[0] if argv and argv[0] in COMMAND_MODULES else None)
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


def run(argv: Sequence[str]) -> int:
    """`rampart <argv>`'s exit code (also what the CLI's warm server runs, rampart.engine.warm_server)."""
    try:
        return main(argv)
    except KeyboardInterrupt:  # SIGINT while the parser or a command module was still loading: no traceback
        from rampart import console

        console.error("interrupted")
        return 130


def entrypoint() -> None:
    prefix = bytecode.use_private_prefix()  # `python -m rampart` has done it already; the installed script has not
    # `rampart check` forked by a warm server that has the CLI, gRPC, the SDK and the reports loaded
    # (rampart.engine.warm), when there is one; else here.
    code = warm.run_cli(sys.argv[1:])
    if code is None:
        code = run(sys.argv[1:])
        # The interpreter's shutdown would walk every object of the loaded modules (the Pulumi SDK, gRPC) in several
        # full collections, ~0.2 s at the end of every `rampart check`; nothing left needs a cycle collected to exit.
        gc.freeze()
    if prefix is not None:
        bytecode.prune_later(prefix)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entrypoint()
