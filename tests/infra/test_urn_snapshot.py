"""Refactor safety: both stacks' resources keep their URNs, types, inputs and lifecycle options.

`snapshots/urns.json` records, per stack (production, staging, recorded as a deployed stack's preview sees them),
every resource's URN, type, inputs (secrets redacted) and the options that decide replacements and drift
(protect, ignore_changes, delete_before_replace, retain_on_delete). The test fails when:
- a recorded URN is gone and no resource carries an alias to it (Pulumi would delete it and create a new one),
  or a new URN appears that is neither recorded nor an alias of a recorded one;
- a resource's type, inputs or options differ from the recorded ones.
A moved or renamed resource passes only if it aliases its old URN; aliases are inherited by children as the
engine inherits them (a component's alias also covers its children's old URNs).

An intentional change of inputs or resources (a new resource, a secure-by-default fix, a deliberate
replacement) is recorded by regenerating the snapshot and committing it with the change, so the review shows it:

    RAMPART_UPDATE_SNAPSHOT=1 .venv/bin/pytest -q -p no:cacheprovider tests/infra/test_urn_snapshot.py

Regenerate only from committed work (yours and others'): the snapshot is what `main` deploys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from rampart.engine.recorder import Recording, Registration
from tests.support.stacks import STACKS, record_stack

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "urns.json"
UPDATE_VARIABLE = "RAMPART_UPDATE_SNAPSHOT"


def _entry(registration: Registration) -> dict[str, Any]:
    return {
        "type": registration.type,
        "inputs": registration.redacted_inputs(),
        "options": {
            "protect": registration.protect,
            "ignoreChanges": sorted(registration.ignore_changes),
            "deleteBeforeReplace": registration.delete_before_replace,
            "retainOnDelete": registration.retain_on_delete,
        },
    }


def snapshot_of(recording: Recording) -> dict[str, dict[str, Any]]:
    return {r.urn: _entry(r) for r in sorted(recording.registrations, key=lambda r: r.urn)}


def _inherited(urn: str, parent_urn: str, parent_alias: str) -> set[str]:
    """A child's old URNs under its parent's old URN, as the engine derives them: same name, or the name with
    the parent's old name in place of its new one as a prefix."""
    qualified, name = urn.split("::", 3)[2:]
    own_type = qualified.rsplit("$", 1)[-1]
    parent_name = parent_urn.split("::", 3)[3]
    stack, project, alias_qualified, alias_name = parent_alias.split("::", 3)
    names = {name}
    if name.startswith(parent_name):
        names.add(alias_name + name[len(parent_name):])
    return {f"{stack}::{project}::{alias_qualified}${own_type}::{n}" for n in names}


def effective_aliases(registrations: Iterable[Registration]) -> dict[str, set[str]]:
    """Every resource's aliases, its own and those inherited from its ancestors' aliases."""
    by_urn = {r.urn: r for r in registrations}
    resolved: dict[str, set[str]] = {}

    def aliases_of(urn: str) -> set[str]:
        if urn not in resolved:
            registration = by_urn[urn]
            found = {a for a in registration.aliases if a}
            if registration.parent in by_urn:
                for parent_alias in aliases_of(registration.parent):
                    found |= _inherited(urn, registration.parent, parent_alias)
            resolved[urn] = found
        return resolved[urn]

    return {urn: aliases_of(urn) for urn in by_urn}


def compare(recorded: Mapping[str, Mapping[str, Any]], recording: Recording) -> list[str]:
    """Every difference between a recorded snapshot and a new recording that would replace, delete, create or
    change a resource, one line each (input values are not echoed: keys only)."""
    current = snapshot_of(recording)
    aliases = effective_aliases(recording.registrations)
    problems: list[str] = []
    matched: dict[str, str] = {}
    for urn in current:
        if urn in recorded:
            matched[urn] = urn
            continue
        old = sorted(a for a in aliases[urn] if a in recorded)
        if not old:
            problems.append(f"new resource (no alias to a recorded URN): {urn}")
        else:
            matched[urn] = old[0]
    covered = set(matched.values())
    problems += [f"resource gone (would be deleted; no alias covers it): {urn}"
                 for urn in recorded if urn not in covered]
    for urn, old_urn in matched.items():
        before, after = recorded[old_urn], current[urn]
        for part in ("type", "options"):
            if before[part] != after[part]:
                problems.append(f"{part} changed: {urn}: {before[part]} -> {after[part]}")
        keys = sorted(k for k in {*before["inputs"], *after["inputs"]}
                      if before["inputs"].get(k) != after["inputs"].get(k))
        if keys:
            problems.append(f"inputs changed: {urn}: {', '.join(keys)}")
    return problems


def _load() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_urns_and_inputs_match_the_snapshot(stack: str) -> None:
    recording = record_stack(stack)
    if os.environ.get(UPDATE_VARIABLE) == "1":
        snapshot = _load() if SNAPSHOT.exists() else {}
        snapshot[stack] = snapshot_of(recording)
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
        return
    problems = compare(_load()[stack], recording)
    assert not problems, (
        f"{stack}: the program no longer matches {SNAPSHOT.name} ({len(problems)} differences). If intended, "
        f"regenerate: {UPDATE_VARIABLE}=1 .venv/bin/pytest tests/infra/test_urn_snapshot.py\n" + "\n".join(problems)
    )


# The comparison itself, on small hand-made recordings ---------------------------------------------------------

def _urn(qualified: str, name: str) -> str:
    return f"urn:pulumi:s::p::{qualified}::{name}"


def _registration(urn: str, parent: str = "", aliases: tuple[str, ...] = (), **inputs: Any) -> Registration:
    return Registration(
        urn=urn, type=urn.split("::")[2].rsplit("$", 1)[-1], name=urn.split("::")[3], custom=True, parent=parent,
        dependencies=(), property_dependencies={}, protect=False, ignore_changes=(), delete_before_replace=False,
        retain_on_delete=False, aliases=aliases, custom_timeouts={}, provider="", additional_secret_outputs=(),
        replace_on_changes=(), inputs=inputs,
    )


def _recording(*registrations: Registration) -> Recording:
    return Recording(project="p", stack="s", registrations=list(registrations))


COMPONENT = _urn("my:C", "svc")
OLD_CHILD = _urn("my:C$aws:T", "svc-x")
BEFORE = snapshot_of(_recording(_registration(COMPONENT), _registration(OLD_CHILD, COMPONENT, size=1)))


def test_an_unchanged_program_has_no_differences():
    assert compare(BEFORE, _recording(_registration(COMPONENT), _registration(OLD_CHILD, COMPONENT, size=1))) == []


def test_a_child_moved_under_a_new_parent_needs_an_alias_to_its_old_urn():
    part = _urn("my:C$my:Part", "svc-part")
    moved = _urn("my:C$my:Part$aws:T", "svc-x")
    without = _recording(_registration(COMPONENT), _registration(part, COMPONENT),
                         _registration(moved, part, size=1))
    kinds = {p.split(":")[0] for p in compare(BEFORE, without)}
    assert kinds == {"new resource (no alias to a recorded URN)",
                     "resource gone (would be deleted; no alias covers it)"}
    aliased = _recording(_registration(COMPONENT), _registration(part, COMPONENT),
                         _registration(moved, part, aliases=(OLD_CHILD,), size=1))
    assert compare(BEFORE, aliased) == ["new resource (no alias to a recorded URN): " + part]


def test_a_renamed_component_covers_its_children_by_inherited_aliases():
    renamed = _urn("my:C", "app")
    child = _urn("my:C$aws:T", "app-x")
    after = _recording(_registration(renamed, aliases=(COMPONENT,)), _registration(child, renamed, size=1))
    assert compare(BEFORE, after) == []


def test_changed_inputs_are_named_by_key_without_their_values():
    after = _recording(_registration(COMPONENT), _registration(OLD_CHILD, COMPONENT, size=2))
    assert compare(BEFORE, after) == [f"inputs changed: {OLD_CHILD}: size"]
