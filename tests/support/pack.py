"""Run resources through the real policy pack over the analyzer gRPC protocol, as `rampart check` does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rampart.engine.analyzer import Diagnostic, PolicyPackProcess
from rampart.engine.recorder import Registration

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policies"


@contextlib.contextmanager
def pack_session(pack_dir: Path = PACK_DIR) -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(pack_dir=pack_dir, project="rampart", stack="test") as pack:
        yield pack


def registration(
    type_token: str,
    props: Mapping[str, Any],
    *,
    name: str = "subject",
    urn: str | None = None,
    parent: str = "",
    protect: bool = False,
    ignore_changes: Sequence[str] = (),
    dependencies: Sequence[str] = (),
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
) -> Registration:
    """A resource as the engine would register it (for analyzer-path tests)."""
    return Registration(
        urn=urn or f"urn:pulumi:test::rampart::{type_token}::{name}",
        type=type_token,
        name=name,
        custom=not type_token.startswith("rampart:"),
        parent=parent,
        dependencies=tuple(dependencies),
        property_dependencies={k: tuple(v) for k, v in (property_dependencies or {}).items()},
        protect=protect,
        ignore_changes=tuple(ignore_changes),
        delete_before_replace=False,
        retain_on_delete=False,
        aliases=(),
        custom_timeouts={},
        provider="",
        additional_secret_outputs=(),
        replace_on_changes=(),
        inputs=dict(props),
    )


def analyze(
    pack: PolicyPackProcess,
    type_token: str,
    props: Mapping[str, Any],
    *,
    config: Mapping[str, Any] | None = None,
    **options: Any,
) -> list[Diagnostic]:
    pack.configure(config or {})
    return pack.analyze(registration(type_token, props, **options))


def analyze_stack(
    pack: PolicyPackProcess,
    resources: Sequence[Registration],
    *,
    config: Mapping[str, Any] | None = None,
) -> list[Diagnostic]:
    pack.configure(config or {})
    return pack.analyze_stack(list(resources))


def policies_hit(diagnostics: Sequence[Diagnostic]) -> set[str]:
    return {d.policy for d in diagnostics}
