"""The adoption guide (docs/adopting-workflows.md, docs/operations.md) read as a plan of `rampart` commands, in the
order an adopter runs them, each tied to what the walkthrough test executes.

`plan()` raises GuideMismatch when a command the walkthrough runs is no longer in the guide, is renamed, or its
documented flags or literal values differ from what the workflows run: the walkthrough then fails instead of
silently running commands the guide no longer gives.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from rampart.cli import build_parser
from tests.contracts import scenarios as sc
from tests.support.workflows import parse_error
from tests.workflows.test_docs_commands import documented_rampart_commands

ROOT = Path(__file__).resolve().parents[2]
ADOPTING = ROOT / "docs" / "adopting-workflows.md"
OPERATIONS = ROOT / "docs" / "operations.md"
ROLLBACK_WORKFLOW = ROOT / ".github" / "workflows" / "rollback.yml"


class GuideMismatch(AssertionError):
    """The guide and the walkthrough disagree."""


@dataclass(frozen=True)
class Walkthrough:
    bootstrap: list[str]
    """operations.md "Bootstrap an account": the code block's command, as documented (its example values)."""
    deploy_steps: list[sc.Rampart]
    """The deploy job's application commands operations.md "The deploy workflow" lists, in its order, each as the
    replayed step (tests/contracts/scenarios.py DEPLOY_JOB) it names."""
    rollback: sc.Rampart
    """rollback.yml's `rampart rollback` line, with {placeholders} (the guide describes this step in prose)."""


def section(text: str, heading: str) -> str:
    """The body under a markdown heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
    if not match:
        raise GuideMismatch(f"the guide has no section {heading!r}")
    level = len(match.group(1))
    end = re.search(rf"^#{{1,{level}}} ", text[match.end():], re.M)
    return text[match.end(): match.end() + end.start() if end else len(text)]


def inline_commands(text: str) -> list[list[str]]:
    """`rampart …` inline code spans of prose (outside fenced blocks; a span may wrap across lines)."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"\s+", " ", prose)
    return [shlex.split(span)[1:] for span in re.findall(r"`(rampart [^`]+)`", prose)]


def flags(argv: list[str]) -> dict[str, str | None]:
    """Each --flag with the word after it (None when that is another flag or missing)."""
    found: dict[str, str | None] = {}
    for index, word in enumerate(argv):
        if word.startswith("--"):
            following = argv[index + 1] if index + 1 < len(argv) else None
            found[word] = None if following is None or following.startswith("--") else following
    return found


def _literal(value: str | None) -> bool:
    return value is not None and not re.search(r"[<>${}]", value)


def _matches(documented: list[str], step: sc.Rampart) -> bool:
    """Same subcommand; every documented flag is on the replayed line, with the same value where the doc gives
    a literal one (`--keep 10`), not a <placeholder>."""
    replayed = shlex.split(step.line)
    if documented[:1] != replayed[:1]:
        return False
    ours = flags(replayed)
    return all(flag in ours and (not _literal(value) or ours[flag] == value)
               for flag, value in flags(documented[1:]).items())


def _parses(argv: list[str], where: str) -> None:
    error = parse_error(build_parser(), argv)
    if error:
        raise GuideMismatch(f"{where}: `rampart {' '.join(argv)}` does not parse: {error}")


def _bootstrap(adopting: str, operations: str) -> list[str]:
    (step,) = [a for a in inline_commands(section(adopting, "Steps for a new repository"))
               if a[:1] == ["bootstrap"]] or [None]
    blocks = [a for a in documented_rampart_commands(section(operations, "Bootstrap an account"))
              if a[:1] == ["bootstrap"]]
    if step is None or len(blocks) != 1:
        raise GuideMismatch("the guide must give `rampart bootstrap` in adopting-workflows.md step 1 and once in "
                            f"operations.md's code block; found {step}, {blocks}")
    if set(flags(step)) != set(flags(blocks[0])):
        raise GuideMismatch(f"the two bootstrap lines name different flags: {step} vs {blocks[0]}")
    _parses(blocks[0], "operations.md, Bootstrap an account")
    return blocks[0]


def _rampart_steps() -> list[sc.Rampart]:
    """The deploy job's `rampart` lines: its Explicit steps (the registry login and image push) are made by actions,
    not by a command the guide gives, so they are not walked (the IAM contract replays them)."""
    return [s for s in sc.DEPLOY_JOB if isinstance(s, sc.Rampart)]


def _deploy_steps(operations: str) -> list[sc.Rampart]:
    documented = inline_commands(section(operations, "The deploy workflow"))
    steps: list[sc.Rampart] = []
    for argv in documented:
        if argv[:1] in (["check"], ["rollback"]):
            continue  # the offline gate (walked as its own step) and the rollback workflow (below)
        found = [s for s in _rampart_steps() if s.variant == "" and s.expect_exit == 0 and _matches(argv, s)]
        if not found:
            raise GuideMismatch(f"operations.md, The deploy workflow: `rampart {' '.join(argv)}` is not a command "
                                "the deploy job runs (tests/contracts/scenarios.py DEPLOY_JOB)")
        steps.extend(s for s in found if s not in steps)
    job = {shlex.split(s.line)[0] for s in _rampart_steps()}
    missing = job - {shlex.split(s.line)[0] for s in steps}
    if missing:
        raise GuideMismatch(f"operations.md, The deploy workflow no longer lists `rampart {sorted(missing)}`, "
                            "which the deploy job runs")
    return steps


_WORKFLOW_VALUES = {'"$STACK"': "{stack}", '"$SERVICE"': "{service}", '"$REASON"': "'{reason}'",
                    '"$CLUSTER"': "{cluster}", '"$SERVICES"': "'{services_json}'"}


def _rollback(adopting: str, operations: str, workflow: str) -> sc.Rampart:
    prose = inline_commands(section(adopting, "A first deploy and a rollback"))
    if ["rollback"] not in prose or "`rollback.yml`" not in adopting:
        raise GuideMismatch("adopting-workflows.md, A first deploy and a rollback: no `rollback.yml` running "
                            "`rampart rollback`")
    match = re.search(r"rampart (rollback (?:[^\n]*\\\n)*[^\n]*)", workflow)
    if not match:
        raise GuideMismatch("rollback.yml runs no `rampart rollback`")
    line = re.sub(r"\\\n\s*", "", match.group(1))
    for variable, placeholder in _WORKFLOW_VALUES.items():
        line = line.replace(variable, placeholder)
    synopsis = re.search(r"```sh\n(rampart rollback .*?)```", section(operations, "`rampart rollback`"), re.S)
    documented = set(re.findall(r"--[a-z-]+", synopsis.group(1))) if synopsis else set()
    undocumented = set(flags(shlex.split(line))) - documented
    if undocumented:
        raise GuideMismatch(f"rollback.yml passes {sorted(undocumented)}, which operations.md's `rampart rollback` "
                            "synopsis does not document")
    return sc.Rampart(line)


def plan(adopting: str | None = None, operations: str | None = None, workflow: str | None = None) -> Walkthrough:
    adopting = adopting if adopting is not None else ADOPTING.read_text()
    operations = operations if operations is not None else OPERATIONS.read_text()
    workflow = workflow if workflow is not None else ROLLBACK_WORKFLOW.read_text()
    # Step 4 ("Run `rampart check` until it passes") and "The first image" give `rampart check` in prose only.
    if ["check"] not in inline_commands(section(adopting, "Steps for a new repository")):
        raise GuideMismatch("adopting-workflows.md, Steps for a new repository: no `rampart check` step")
    return Walkthrough(bootstrap=_bootstrap(adopting, operations), deploy_steps=_deploy_steps(operations),
                       rollback=_rollback(adopting, operations, workflow))
