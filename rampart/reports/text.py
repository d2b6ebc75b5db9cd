"""The readable summary printed on a terminal (and in CI logs)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rampart.reports.markdown import recovery_line
from rampart.reports.model import CheckReport, StackResult

_STYLE = {"violation": "red", "waived": "yellow", "undeterminable": "cyan"}


def _stack(console: Console, result: StackResult, verbose: bool) -> None:
    console.rule(f"[bold]{result.project} / {result.stack}[/]")
    if result.error:
        # escape: an error quotes the program ("[secret]", subscripts) and must print as text, not markup.
        console.print(f"[bold red]error:[/] {escape(result.error)}", markup=True, highlight=False)
        return
    blocking = len(result.blocking)
    verdict = "[bold red]BLOCKED[/]" if blocking else "[bold green]PASS[/]"
    console.print(
        f"{verdict}  {len(result.resources)} resources · {result.count('violation', 'mandatory')} mandatory · "
        f"{result.count('violation', 'advisory')} advisory · {result.count('waived')} waived · "
        f"{result.count('undeterminable')} undeterminable  ({result.seconds:.2f}s)"
    )
    for line in result.context_lines():
        console.print(escape(line), highlight=False)
    recovery = recovery_line(result.recovery)
    if recovery:
        console.print(f"Recovery: {recovery}")
    shown = [f for f in result.findings if verbose or f.state != "violation" or f.enforcement == "mandatory"]
    if not shown:
        return
    table = Table(show_lines=False, expand=True)
    for column in ("state", "rule", "enf.", "sev.", "control", "resource", "message"):
        table.add_column(column, overflow="fold")
    for f in shown:
        message = f.message
        if f.waiver:
            message += f"\nwaived: {f.waiver.reason} (by {f.waiver.approved_by}, until {f.waiver.expires})"
        table.add_row(
            f"[{_STYLE[f.state]}]{f.state}[/]", f.policy, f.enforcement, f.severity,
            f"{f.framework} {f.control}".strip(),
            f.resource_name + (f"\n{f.source.file}:{f.source.line}" if f.source else ""), message,
        )
    console.print(table)
    hidden = len(result.findings) - len(shown)
    if hidden:
        console.print(f"({hidden} advisory violations not shown; --verbose lists them)")


def render(report: CheckReport, console: Console, verbose: bool = False) -> None:
    for result in report.stacks:
        _stack(console, result, verbose)
    summary = {0: "[green]no mandatory violations[/]", 1: "[red]mandatory violations found[/]",
               2: "[red]errors: see above[/]"}[report.exit_code]
    console.print(f"rampart check: {summary}")
