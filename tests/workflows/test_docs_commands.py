"""The commands the docs tell an adopter to run are commands the CLI accepts, and a documented `rampart deploy`
of a new revision carries the smoke gate (or `--continue-when-ready`): the stacks' deployment groups hold green in
Ready, so a deploy without either is stopped with rollback when the ready wait expires."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rampart.cli import build_parser
from tests.support.workflows import parse_error, simple_commands

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_blocks(text: str) -> list[str]:
    """The contents of fenced code blocks (indented ones inside list items too)."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.strip().startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def documented_rampart_commands(text: str) -> list[list[str]]:
    found = []
    for block in code_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            if not re.match(r"\s*(\.venv/bin/)?rampart ", line) or re.search(r"\[--|\|", line):
                continue  # a synopsis (`[--flag X]`, `a|b`), not a command to run
            for words in simple_commands(line.split(" # ")[0]):
                if words[0].endswith("rampart"):
                    found.append(words[1:])
    return found


def gate_problem(argv: list[str]) -> str | None:
    if argv[:1] != ["deploy"] or "--register-only" in argv:
        return None
    if "--smoke-url" in argv or "--continue-when-ready" in argv:
        return None
    return f"rampart {' '.join(argv)}: a deploy without --smoke-url or --continue-when-ready is held in Ready and " \
        "stopped with rollback"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_documented_rampart_command_parses_and_deploys_through_the_gate(path):
    parser = build_parser()
    problems = []
    for argv in documented_rampart_commands(path.read_text()):
        error = parse_error(parser, argv)
        if error:
            problems.append(f"rampart {' '.join(argv)}: {error}")
        gate = gate_problem(argv)
        if gate:
            problems.append(gate)
    assert problems == []


def test_the_docs_hold_deploy_commands_at_all():
    commands = [argv for path in DOCS for argv in documented_rampart_commands(path.read_text())]
    assert sum(argv[0] == "deploy" for argv in commands) >= 1 and len(commands) >= 5, commands


def test_the_check_catches_an_ungated_deploy_and_a_bad_flag():
    text = "```sh\nrampart deploy --stack production --service api --task-definition \"$arn\"\n```\n"
    (argv,) = documented_rampart_commands(text)
    assert gate_problem(argv)
    bad = "```sh\nrampart snapshot --db-instance x --keep ten\n```\n"
    (argv,) = documented_rampart_commands(bad)
    assert parse_error(build_parser(), argv)
