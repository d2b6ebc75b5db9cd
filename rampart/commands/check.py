"""`rampart check`: run a stack's program offline and gate it on the policy pack."""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rampart import console
from rampart.engine.check import CheckOptions, run_check
from rampart.engine.default_pack import PACK_FILE, default_pack
from rampart.engine.pack_info import DEFAULT_POLICY_TIMEOUT_SECONDS
from rampart.errors import UsageError

if TYPE_CHECKING:
    from rampart.reports.model import CheckReport

DEFAULT_PROGRAM = Path(".")
# format -> its module under rampart.reports, imported only once the report exists: rich and the renderers take
# ~0.1 s to load, which would otherwise delay the start of the stack programs (tests/engine/test_cli_startup.py).
RENDERERS = {"text": "text", "json": "json_report", "sarif": "sarif", "markdown": "markdown", "html": "html_report"}
FORMATS = tuple(RENDERERS)
DEFAULT_PROGRAM_TIMEOUT_SECONDS = 600.0
NO_CACHE_ENV = "RAMPART_NO_CACHE"
# flag -> (environment variable, default): the flag wins, then the variable, then the default.
TIMEOUTS = {
    "--program-timeout": ("RAMPART_PROGRAM_TIMEOUT", DEFAULT_PROGRAM_TIMEOUT_SECONDS),
    "--policy-timeout": ("RAMPART_POLICY_TIMEOUT", DEFAULT_POLICY_TIMEOUT_SECONDS),
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("expected a number of seconds between 0 and 86400")
    return value


def _parallel(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError("expected a whole number of stacks between 1 and 64")
    return int(text)


def _timeout(args: argparse.Namespace, flag: str) -> float:
    value = getattr(args, flag.lstrip("-").replace("-", "_"))
    if value is not None:
        return value
    variable, default = TIMEOUTS[flag]
    if not os.environ.get(variable):
        return default
    try:
        return _seconds(os.environ[variable])
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{variable} (the default of {flag}): {exc}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run stack programs offline and gate them on the policy pack",
        description="Run a Pulumi Python program for each stack under Pulumi's mock runtime (no cloud, no "
        "credentials, no Pulumi CLI), send every resource through the policy pack over the analyzer protocol, "
        "and report. Exit 0: no mandatory violation; 1: at least one; 2: usage, config or program error.",
    )
    parser.add_argument("--program", type=Path, default=DEFAULT_PROGRAM, metavar="DIR",
                        help="Pulumi project directory (default: current directory)")
    parser.add_argument("--stack", action="append", default=[], metavar="NAME",
                        help="stack to check (repeatable; default: every Pulumi.<stack>.yaml found)")
    parser.add_argument("--policy-pack", type=Path, default=None, metavar="DIR",
                        help="policy pack directory (default: the program's policies/, else rampart's own)")
    parser.add_argument("--policy-config-dir", type=Path, default=None, metavar="DIR",
                        help="directory of <stack>.json pack configs (default: <policy pack>/config)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="write the report here instead of stdout")
    parser.add_argument("--verbose", action="store_true",
                        help="text format: list advisory findings of medium and low severity too")
    parser.add_argument("--parallel", type=_parallel, default=2, metavar="N",
                        help="stack programs run at once (default: 2)")
    parser.add_argument("--assume-existing", action="store_true",
                        help="preview as if every resource were already deployed (every output known), instead of "
                        "the first preview of a new stack (values computed at create time unknown)")
    parser.add_argument("--no-cache", action="store_true",
                        help="run every stack even when its inputs are unchanged since a cached run (default: "
                        f"on when ${NO_CACHE_ENV}=1; the cache: $RAMPART_CACHE_DIR, else "
                        "$XDG_CACHE_HOME/rampart/check, else ~/.cache/rampart/check)")
    for flag, (variable, default) in TIMEOUTS.items():
        what = "each stack's program run" if flag == "--program-timeout" else "each call into the policy pack"
        parser.add_argument(flag, type=_seconds, default=None, metavar="SECONDS",
                            help=f"bound on {what}; exit 2 naming what was running (default: ${variable}, "
                            f"else {default:g})")
    parser.set_defaults(handler=handle)


def _default_pack(program: Path) -> Path:
    pack = default_pack(program)
    if pack is None:
        raise UsageError(f"--policy-pack: {program} has no policies/{PACK_FILE} and this rampart installation "
                         "ships no default pack; pass --policy-pack DIR")
    return pack


def _check_output(output: Path) -> None:
    """Fail before the run, not after minutes of it, when the report could not be written."""
    if output.is_dir():
        raise UsageError(f"--output {output}: is a directory; expected a file path")
    ancestor = output.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor if not output.exists() else output, os.W_OK):
        raise UsageError(f"--output {output}: cannot be written ({ancestor} is not a writable directory); "
                         "expected a writable file path")


def _write_output(output: Path, rendered: str) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write ({exc.strerror}); expected a writable file path") from None


def _renderer_module(args: argparse.Namespace) -> str:
    return f"rampart.reports.{RENDERERS[args.format]}"


def _render(report: CheckReport, args: argparse.Namespace) -> str | None:
    """The report as text to write, or None when the text format was printed straight to the terminal."""
    renderer = importlib.import_module(_renderer_module(args))
    if args.format != "text":
        return renderer.render(report)
    if not args.output:
        renderer.render(report, console.stdout, verbose=args.verbose)
        return None
    from rich.console import Console

    buffer = io.StringIO()
    renderer.render(report, Console(file=buffer, width=160, color_system=None), verbose=args.verbose)
    return buffer.getvalue()


def handle(args: argparse.Namespace) -> int:
    program = args.program.resolve()
    if not program.is_dir():
        raise UsageError(f"--program {args.program}: not a directory")
    if args.output:
        _check_output(args.output)
    if args.policy_config_dir is not None and not args.policy_config_dir.is_dir():
        # Without this, every stack would silently run with the pack's declared levels.
        raise UsageError(f"--policy-config-dir {args.policy_config_dir}: not a directory; expected the directory "
                         "holding <stack>.json pack configs")
    pack = (args.policy_pack or _default_pack(program)).resolve()
    if not (pack / "PulumiPolicy.yaml").is_file():  # before any program runs, not after
        raise UsageError(f"--policy-pack {pack}: no PulumiPolicy.yaml; expected a policy pack directory")
    options = CheckOptions(program_dir=program, pack_dir=pack, stacks=tuple(args.stack),
                           policy_config_dir=args.policy_config_dir, assume_existing=args.assume_existing,
                           parallel=args.parallel, cache=not (args.no_cache or os.environ.get(NO_CACHE_ENV) == "1"),
                           program_timeout=_timeout(args, "--program-timeout"),
                           policy_timeout=_timeout(args, "--policy-timeout"),
                           while_the_pack_starts=functools.partial(importlib.import_module, _renderer_module(args)))
    if console.is_interactive():
        with console.stderr.status("rampart check") as status:
            report = run_check(options, progress=lambda message: status.update(message))
    else:
        report = run_check(options)

    rendered = _render(report, args)
    if rendered is not None:
        if args.output:
            _write_output(args.output, rendered)
        else:
            console.stdout.file.write(rendered)
    for result in report.stacks:
        if result.error and (args.format != "text" or args.output):
            console.error(f"stack {result.stack}: {result.error}")
    return report.exit_code
