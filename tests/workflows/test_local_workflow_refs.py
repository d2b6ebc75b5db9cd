"""A call to this repository's own reusable workflow is written `./.github/workflows/<file>`: the form GitHub
resolves everywhere (github.com, GitHub Enterprise Server, runners of any version), unlike `$/…`."""

from __future__ import annotations

import re
from pathlib import Path

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
USES = re.compile(r"^\s*uses:\s*(\S+)", re.MULTILINE)


def local_call_problems(text: str) -> list[str]:
    problems = []
    for target in USES.findall(text):
        if ".github/workflows/" not in target:
            continue
        if not target.startswith("./.github/workflows/"):
            problems.append(f"{target}: expected ./.github/workflows/<file>")
        elif not (WORKFLOWS / target.removeprefix("./.github/workflows/")).is_file():
            problems.append(f"{target}: no such workflow")
    return problems


def test_local_reusable_workflows_are_called_by_relative_path():
    calls = {path.name: local_call_problems(path.read_text()) for path in WORKFLOWS.glob("*.yml")}
    assert "./.github/workflows/deploy-stack.yml" in (WORKFLOWS / "deploy.yml").read_text()
    assert {name: problems for name, problems in calls.items() if problems} == {}


def test_the_check_fails_on_the_forms_github_rejects_or_cannot_resolve():
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert local_call_problems(text.replace("./.github/workflows/", "$/.github/workflows/"))
    assert local_call_problems(text.replace("./.github/workflows/", ".github/workflows/"))
    assert local_call_problems(text.replace("deploy-stack.yml", "deploy-stak.yml"))
