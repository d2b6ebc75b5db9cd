"""`rampart check` loads only its own command: the ops commands' AWS SDK is no part of an offline check's start-up
(bench/README); `rampart --help` still lists every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


LATE_MODULES = ("pulumi", "grpc", "rich", "rampart.reports.text", "rampart.reports.json_report",
                "rampart.reports.sarif", "rampart.reports.markdown", "rampart.reports.html_report")


def _tiny_check(tmp_path: Path, output_format: str) -> list[str]:
    """`rampart check` of the tiny fixture program and pack, its report written to tmp_path/report."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    return ["check", "--program", str(fixtures / "programs" / "tiny"),
            "--policy-pack", str(fixtures / "packs" / "tiny"), "--stack", "staging", "--format", output_format,
            "--no-cache", "--output", str(tmp_path / "report")]


def _loaded_at_spawn(tmp_path: Path, output_format: str) -> tuple[str, list[list[str]]]:
    argv = _tiny_check(tmp_path, output_format)
    code = (
        "import subprocess, sys\n"
        "loaded = []\n"
        "class Spy(subprocess.Popen):\n"
        "    def __init__(self, args, *rest, **options):\n"
        "        if any(k in ' '.join(map(str, args)) for k in ('rampart.engine.worker', 'pack_host', 'policy')):\n"
        f"            loaded.append(sorted(m for m in {LATE_MODULES!r} if m in sys.modules))\n"
        "        super().__init__(args, *rest, **options)\n"
        "subprocess.Popen = Spy\n"
        "from rampart import cli\n"
        f"code = cli.main({argv!r})\n"
        "print(code in (0, 1), loaded)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return completed.stdout.strip() + completed.stderr, eval(completed.stdout.split(" ", 1)[1])  # noqa: S307


def test_the_stack_programs_and_the_pack_start_before_the_pulumi_sdk_grpc_rich_and_the_reports_are_loaded(tmp_path):
    """The worker's and the pack's own start-up (interpreter, SDK preload, pulumi_policy) are the long pole of a
    check: `rampart check` starts both before it loads the Pulumi SDK or gRPC to speak to the pack, or rich and the
    report renderers (~0.4 s), so the start-ups overlap instead of adding up."""
    output, loaded = _loaded_at_spawn(tmp_path, "json")
    assert output.startswith("True") and loaded == [[], []], output
    assert json.loads((tmp_path / "report").read_text())["stacks"][0]["stack"] == "staging"


def test_a_text_report_still_renders_after_the_late_imports(tmp_path):
    output, loaded = _loaded_at_spawn(tmp_path, "text")
    assert output.startswith("True") and loaded == [[], []], output
    assert "staging" in (tmp_path / "report").read_text()


def _renderer_loaded_by(tmp_path: Path, output_format: str) -> list[str]:
    """The threads that found `rampart.reports.*` renderer modules to import, in a whole `rampart check`."""
    argv = _tiny_check(tmp_path, output_format)
    code = (
        "import sys, threading\n"
        "found = []\n"
        "class Spy:\n"
        "    @staticmethod\n"
        "    def find_spec(name, path=None, target=None):\n"
        f"        if name == 'rampart.reports.{'text' if output_format == 'text' else 'json_report'}':\n"
        "            found.append(threading.current_thread().name)\n"
        "sys.meta_path.insert(0, Spy)\n"
        "from rampart import cli\n"
        f"code = cli.main({argv!r})\n"
        "print(code in (0, 1), found)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.startswith("True"), completed.stdout + completed.stderr
    return eval(completed.stdout.split(" ", 1)[1])  # noqa: S307 (our own repr)


def test_the_report_renderer_loads_while_the_pack_starts_not_after_the_last_stack(tmp_path):
    """Loading rich and the text renderer (~0.06 s) would otherwise be on the clock after the last stack; the
    process is idle while the pack starts (~0.5 s), so a background thread loads it then."""
    assert _renderer_loaded_by(tmp_path, "text") == ["while-the-pack-starts"]
    assert _renderer_loaded_by(tmp_path, "json") == ["while-the-pack-starts"]
    assert "staging" in (tmp_path / "report").read_text()


STAND_IN_NEVER_LOADS = ("argparse", "subprocess", "tempfile", "typing", "rampart.console")


def test_the_rampart_command_hands_a_check_to_its_server_before_loading_the_cli(tmp_path):
    """The `rampart` command is only a stand-in for a check its warm server runs (rampart.engine.warm.run_cli): what
    it loads before handing the check over is paid by every check (the CLI's own imports doubled its ~25 ms). It
    loads the parser, the console and subprocess only when it runs the command itself."""
    code = ("import sys; from rampart import cli\n"
            f"print([name for name in {STAND_IN_NEVER_LOADS!r} if name in sys.modules])")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
