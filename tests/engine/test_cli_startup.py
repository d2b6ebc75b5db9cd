"""`rampart check` loads only its own command: the ops commands' AWS SDK is no part of an offline check's start-up
(bench/README); `rampart --help` still lists every command."""

from __future__ import annotations

import subprocess
import sys

from rampart.cli import COMMAND_MODULES


def _probe(argv: list[str]) -> tuple[str, bool]:
    code = (
        "import sys, contextlib, io; from rampart import cli; out = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit): cli.main({argv!r})\n"
        "print(repr(out.getvalue())); print('boto3' in sys.modules)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    help_text, boto3 = completed.stdout.strip().splitlines()
    return eval(help_text), boto3 == "True"  # noqa: S307 (our own repr)


def test_check_does_not_load_the_aws_sdk_and_help_lists_every_command():
    check_help, boto3 = _probe(["check", "--help"])
    assert "--no-cache" in check_help and not boto3
    top_help, _ = _probe(["--help"])
    assert all(name in top_help for name in COMMAND_MODULES)
