"""Run the project's program, or one component, under the recording engine for tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi

from infra.config import StackConfig, load_stack_config, parse_stack_config
from rampart.engine.recorder import ASSUME_EXISTING, Recording, record
from rampart.engine.stackfile import load_project, load_stack

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "rampart"
STACKS = ("production", "staging", "dev")


def stack_settings(stack: str):
    return load_stack(load_project(ROOT), stack)


def raw_config(stack: str) -> dict[str, Any]:
    """The stack file's `rampart:` values as plain Python (for tests that edit one field)."""
    import json

    settings = stack_settings(stack)
    raw: dict[str, Any] = {}
    for key, value in settings.config.items():
        namespace, _, name = key.partition(":")
        if namespace != PROJECT or key in settings.secret_keys:
            continue
        try:
            raw[name] = json.loads(value)
        except ValueError:
            raw[name] = value
    raw["region"] = settings.config.get("aws:region", "us-east-1")
    return raw


def stack_config(stack: str, **overrides: Any) -> StackConfig:
    """The parsed config of a project stack, with top-level sections optionally replaced."""
    raw = {**raw_config(stack), **overrides}
    return parse_stack_config(raw, stack=stack, stack_file=f"Pulumi.{stack}.yaml")


def record_stack(stack: str, secret_values: Mapping[str, str] | None = None) -> Recording:
    """The whole program as a preview of the deployed stack sees it (every fake output known: the recorder's
    ASSUME_EXISTING mode), with its stack file's config."""
    from infra.stack import build_stack

    settings = stack_settings(stack)
    config = dict(settings.config)
    for key, value in (secret_values or {}).items():
        config[f"{PROJECT}:{key}"] = value
    return record(
        lambda: build_stack(load_stack_config()),
        project=PROJECT,
        stack=stack,
        config=config,
        secret_keys=settings.secret_keys,
        mode=ASSUME_EXISTING,
    )


def record_config(cfg: StackConfig, secret_values: Mapping[str, str] | None = None) -> Recording:
    """build_stack over a config built in the test; secret values are wrapped as Pulumi secrets."""
    from infra.stack import build_stack

    values = secret_values or {s.config_key: f"test-secret-{s.config_key}" for s in cfg.application_secrets}

    def program() -> None:
        secrets = {key: pulumi.Output.secret(value) for key, value in values.items()}
        build_stack(cfg.model_copy(update={"secret_values": secrets}))

    return record(program, project=PROJECT, stack=cfg.stack, mode=ASSUME_EXISTING)


def record_program(program: Callable[[], Any], stack: str = "test") -> Recording:
    """Any program (typically one component) under the recording engine."""
    return record(program, project=PROJECT, stack=stack, mode=ASSUME_EXISTING)
