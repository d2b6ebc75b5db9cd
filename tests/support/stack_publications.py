"""What each stack hands the workflows, read from its recording: the GitHub variables it publishes, by
environment and for the repository, and its exports (the outputs file); and what `vars.<name>` holds in a job of a
given environment. The contract checks (tests/support/workflow_contracts.py, workflow_pulumi_runs.py) and the
timeout budget (tests/workflows/test_workflow_timeouts.py) hold the workflows to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rampart.engine.recorder import unwrap_secrets
from tests.support.stacks import record_stack

ENVIRONMENT_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
REPOSITORY_VARIABLE = "github:index/actionsVariable:ActionsVariable"


@dataclass(frozen=True)
class Published:
    """What one stack hands the workflows: GitHub variables by scope, and its exports (the outputs file)."""

    environments: dict[str, dict[str, Any]]  # GitHub environment name -> its variables
    repository: dict[str, Any]
    outputs: dict[str, Any]


def published_by(stack: str) -> Published:
    recording = record_stack(stack)

    environments: dict[str, dict[str, Any]] = {}
    for registration in recording.by_type(ENVIRONMENT_VARIABLE):
        inputs = unwrap_secrets(registration.plain_inputs())
        environments.setdefault(inputs["environment"], {})[inputs["variableName"]] = inputs.get("value")
    repository = {}
    for registration in recording.by_type(REPOSITORY_VARIABLE):
        inputs = unwrap_secrets(registration.plain_inputs())
        repository[inputs["variableName"]] = inputs.get("value")
    return Published(environments, repository, unwrap_secrets(recording.outputs))


def variable(published: Published, environment: str | None, name: str) -> Any:
    """What `vars.<name>` holds in a job of that environment (None: outside any), or None when unpublished.
    An environment variable shadows a repository one; names are case-insensitive, as GitHub's are."""
    scopes = [published.environments.get(environment or "", {}), published.repository] if environment else [
        published.repository]
    for scope in scopes:
        for key, value in scope.items():
            if key.upper() == name.upper():
                return value
    return None
