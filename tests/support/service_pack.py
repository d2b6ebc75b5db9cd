"""Driving the service-group rules (s3, ec2, lambda_, ...) through the real pack with a stack's own pack config:
a compliant baseline, one field flipped, and the finding's enforcement as that stack configures it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rampart.engine.analyzer import Diagnostic, PolicyPackProcess
from rampart.engine.recorder import Registration

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies" / "config"


def stack_config(stack: str) -> dict[str, Any]:
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def run(pack: PolicyPackProcess, registrations: Sequence[Registration], stack: str = "production") -> list[Diagnostic]:
    """Every resource through Analyze, then the stack through AnalyzeStack, as `rampart check` does."""
    pack.configure(stack_config(stack))
    diagnostics: list[Diagnostic] = []
    for registration in registrations:
        diagnostics.extend(pack.analyze(registration))
    diagnostics.extend(pack.analyze_stack(list(registrations)))
    return diagnostics


def hits(diagnostics: Sequence[Diagnostic], rules: str | Sequence[str]) -> list[Diagnostic]:
    names = {rules} if isinstance(rules, str) else set(rules)
    return [d for d in diagnostics if d.policy in names]


def flip(registrations: Sequence[Registration], name: str,
         change: Mapping[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]) -> list[Registration]:
    """The baseline with resource `name`'s inputs changed (a mapping merged in; None drops the key)."""
    out = []
    for registration in registrations:
        if registration.name == name:
            inputs = dict(registration.inputs)
            if callable(change):
                inputs = change(inputs)
            else:
                inputs.update(change)
                inputs = {k: v for k, v in inputs.items() if v is not None}
            registration = replace(registration, inputs=inputs)
        out.append(registration)
    return out


def drop(registrations: Sequence[Registration], name: str) -> list[Registration]:
    return [r for r in registrations if r.name != name]
