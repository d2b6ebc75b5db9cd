"""What each kind of warm server (rampart.engine.warm_server) holds and does around the children it forks: the
imports a child of its kind would start with, and its work before and after a fork."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def prepare(kind: str) -> None:
    """The imports a child of this kind would otherwise start with."""
    if kind == "worker":
        from rampart.engine import sdk_class_speedups, sdk_loader, worker  # noqa: F401

        sdk_loader.install(None)
        sdk_class_speedups.install()
        from rampart.engine import invokes  # noqa: F401 (data sources' answers: a program's first invoke, ~20 ms)
    elif kind == "pack":
        import grpc  # noqa: F401
        import pulumi_policy  # noqa: F401
    else:  # `rampart check` itself: what it loads on its way (rampart/engine/check.py's late imports included)
        import rich.console  # noqa: F401
        import rich.markup  # noqa: F401
        import rich.table  # noqa: F401

        from rampart import cli
        from rampart.engine import analyzer  # noqa: F401
        from rampart.reports import html_report, json_report, markdown, sarif, text  # noqa: F401

        cli.build_parser("check")


def serving(kind: str, path: Path) -> None:
    """Once the server of this kind has its socket path: a worker server's runners report the dataclass methods
    they compiled beside it (rampart.engine.dataclass_code)."""
    if kind == "worker":
        from rampart.engine import dataclass_code

        dataclass_code.install()
        dataclass_code.REPORT_TO = f"{path}.dataclasses"


def before_fork(kind: str, request: dict[str, Any]) -> None:
    """Before forking a worker: the SDK modules this program names, imported here so later checks get them too;
    and what earlier checks' dataclasses compiled, compiled here (the runner would compile the same, once, so the
    check after a change costs the same and every later one less; rampart.engine.dataclass_code)."""
    if kind != "worker":
        return
    from rampart.engine import dataclass_code, worker

    dataclass_code.learn()
    if request.get("program"):
        worker.preload_in_server(Path(request["program"]))


def after_fork(kind: str) -> None:
    """The SDK code cache entries this server's imports missed are the child's to write (worker.main), once."""
    if kind == "worker":
        from rampart.engine import sdk_loader

        finder = sdk_loader.install(None)
        if finder is not None:
            finder.missed = []
