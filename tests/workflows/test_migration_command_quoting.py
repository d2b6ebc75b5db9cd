"""The deploy workflow hands `migrationCommand` (a list in the stack outputs) to `rampart migrate --command` as one
string, which rampart splits like a shell: every argument, spaces and quotes included, must survive the trip."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "deploy-stack.yml"


def migration_line() -> str:
    lines = [line.strip() for line in WORKFLOW.read_text(encoding="utf-8").splitlines()
             if line.strip().startswith('migration="$(python3 -c')]
    assert len(lines) == 1, "deploy-stack.yml should build the migration command in exactly one line"
    return lines[0]


def through_the_workflow(tmp_path: Path, command: list[str] | None) -> str:
    service: dict = {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:111111111111:task-definition/web:3"}
    if command is not None:
        service["migrationCommand"] = command
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"services": {"web": service}}), encoding="utf-8")
    script = f'{migration_line()}\nprintf "%s" "$migration"'
    completed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                               env={"PATH": "/usr/bin:/bin:/usr/local/bin", "OUTPUTS": str(outputs),
                                    "service": "web"})
    return completed.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["python", "manage.py", "migrate"],
        ["sh", "-c", "alembic upgrade head && echo done"],
        ["echo", "it's", 'a "quoted" word', "", "$HOME", "tab\there"],
    ],
)
def test_every_argument_survives_the_workflow_and_ramparts_split(tmp_path, command):
    # rampart/ops/migrate.py splits --command with shlex.split.
    assert shlex.split(through_the_workflow(tmp_path, command)) == command


def test_no_migration_command_is_an_empty_string_so_the_step_is_skipped(tmp_path):
    assert through_the_workflow(tmp_path, None) == ""
