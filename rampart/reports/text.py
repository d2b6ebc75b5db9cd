"""The readable summary printed on a terminal (and in CI logs)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rampart.reports.markdown import recovery_line, recovery_path_lines
from rampart.reports.model import CheckReport, Finding, StackResult

_STYLE = {"violation": "red", "waived": "yellow", "undeterminable": "cyan"}
ALWAYS_SHOWN_SEVERITIES = frozenset({"high", "critical"})


def always_shown(finding: Finding) -> bool:
    """Mandatory findings and high or critical advisory ones (a hard-coded secret is advisory in some stacks):
    the rest, advisory and of medium or low severity, are counted and listed with --verbose."""
    return finding.enforcement == "mandatory" or finding.severity in ALWAYS_SHOWN_SEVERITIES


def hidden_summary(hidden: list[Finding]) -> str:
    states: dict[str, int] = {}
    for finding in hidden:
        states[finding.state] = states.get(finding.state, 0) + 1
    by_state = ", ".join(f"{count} {'violations' if state == 'violation' and count > 1 else state}"
                         for state, count in states.items())
    return (f"({len(hidden)} more advisory finding{'s' if len(hidden) != 1 else ''} of medium or low severity "
            f"not shown: {by_state}; --verbose lists them)")


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
    for line in recovery_path_lines(result.recovery):
        console.print(escape(line), highlight=False)
    shown = [f for f in result.findings if verbose or always_shown(f)]
    hidden = [f for f in result.findings if not (verbose or always_shown(f))]
    table = Table(show_lines=False, expand=True)
    for column in ("state", "rule", "enf.", "sev.", "control", "resource", "message"):
        table.add_column(column, overflow="fold")
    for f in shown:
        message = "\n".join(f"• {failure}" for failure in f.failures) if len(f.failures) > 1 else f.message
        if f.waiver:
            message += f"\nwaived: {f.waiver.reason} (by {f.waiver.approved_by}, until {f.waiver.expires})"
        # escape: names and messages quote the program ("[secret]", subscripts): text, never markup.
        table.add_row(
            f"[{_STYLE[f.state]}]{f.state}[/]", escape(f.policy), f.enforcement, f.severity,
            escape(f"{f.framework} {f.control}".strip()),
            escape(f.resource_name + (f"\n{f.source.file}:{f.source.line}" if f.source else "")), escape(message),
        )
    if shown:
        console.print(table)
    if hidden:
        console.print(hidden_summary(hidden), highlight=False)


def render(report: CheckReport, console: Console, verbose: bool = False) -> None:
    for result in report.stacks:
        _stack(console, result, verbose)
    summary = {0: "[green]no mandatory violations[/]", 1: "[red]mandatory violations found[/]",
               2: "[red]errors: see above[/]"}[report.exit_code]
    console.print(f"rampart check: {summary}")
