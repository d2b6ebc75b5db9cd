"""The step list every ops command builds, rendered as text (rich) or JSON, with a live status on a terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.markup import escape
from rich.table import Table

from rampart import console

Status = Literal["ok", "fail", "info", "skip"]
FORMATS = ("text", "json")
_STYLE = {"ok": "green", "fail": "bold red", "info": "cyan", "skip": "dim"}


@dataclass
class Step:
    name: str
    status: Status
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "detail": self.detail}
        if self.data:
            out["data"] = self.data
        return out


@dataclass
class Report:
    command: str
    steps: list[Step] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    """Command-specific facts for machines (snapshot id, deployment id, exit code...)."""
    exit_code_override: int | None = None
    _status: Any = None

    def add(self, name: str, status: Status, detail: str = "", **data: Any) -> Step:
        step = Step(name, status, detail, data)
        self.steps.append(step)
        if self._status is not None:
            self._status.update(escape(f"{self.command}: {name} {detail}".strip()))
        elif console.is_interactive():  # pragma: no cover - terminals only
            console.stderr.print(f"[{_STYLE[status]}]{status:>4}[/] {escape(name)} {escape(detail)}", markup=True)
        return step

    def ok(self, name: str, detail: str = "", **data: Any) -> Step:
        return self.add(name, "ok", detail, **data)

    def fail(self, name: str, detail: str = "", **data: Any) -> Step:
        return self.add(name, "fail", detail, **data)

    def info(self, name: str, detail: str = "", **data: Any) -> Step:
        return self.add(name, "info", detail, **data)

    def leave(self, what: str) -> None:
        """Record something this run created and leaves in place (`snapshot X (tagged ...)`), for every outcome:
        the report of a failed or interrupted run must say what is left to look at."""
        self.result.setdefault("leftBehind", []).append(what)

    @contextmanager
    def creating(self, what: str) -> Iterator[None]:
        """A create call in flight: SIGINT before its answer leaves `what` possibly made, and the report says so."""
        try:
            yield
        except KeyboardInterrupt:
            self.leave(f"{what} (requested when interrupted: it may exist)")
            raise

    def progress(self, message: str) -> None:
        """A transient line for a person watching; never part of the report."""
        if self._status is not None:
            self._status.update(escape(f"{self.command}: {message}"))

    @contextmanager
    def live(self) -> Iterator[Report]:
        """A spinner on stderr while the command runs, only when a person is watching."""
        if not console.is_interactive():
            yield self
            return
        with console.stderr.status(self.command) as status:  # pragma: no cover - terminals only
            self._status = status
            try:
                yield self
            finally:
                self._status = None

    @property
    def failed(self) -> bool:
        return any(step.status == "fail" for step in self.steps)

    @property
    def exit_code(self) -> int:
        if self.exit_code_override is not None:
            return self.exit_code_override
        return 1 if self.failed else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ok": self.exit_code == 0,
            "exitCode": self.exit_code,
            "result": self.result,
            "steps": [step.as_dict() for step in self.steps],
        }

    def render(self, fmt: str, extra_text: list[str] | None = None) -> None:
        if fmt == "json":
            console.stdout.file.write(json.dumps(self.as_dict(), indent=2, default=str) + "\n")
            console.stdout.file.flush()
            return
        table = Table(title=f"rampart {self.command}", show_lines=False, expand=False)
        table.add_column("step")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for step in self.steps:
            # AWS messages and URLs may hold square brackets: never let them be read as markup.
            table.add_row(escape(step.name), f"[{_STYLE[step.status]}]{step.status}[/]", escape(step.detail))
        console.stdout.print(table)
        for line in extra_text or []:
            console.stdout.print(line, markup=False, highlight=False)
        verdict = "[green]ok[/]" if self.exit_code == 0 else f"[bold red]failed[/] (exit {self.exit_code})"
        console.stdout.print(f"{self.command}: {verdict}")
