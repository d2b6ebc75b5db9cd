"""`rampart verify` on a stack whose services await their first image: they are reported as skipped (nothing to
verify yet, and nothing the deploy job could have broken), never as drift, and the rest is still checked."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ops import world as w
from tests.ops.conftest import run_json

REPOSITORY_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rampart-production-api"


def awaiting_outputs(world: w.World) -> Path:
    """The outputs of the stack's first `pulumi up`: no deployable service yet, one awaiting its image."""
    outputs = {**world.outputs, "services": {}, "awaitingImage": {w.SERVICE: {"repositoryUrl": REPOSITORY_URL}}}
    world.outputs_path.write_text(json.dumps(outputs), encoding="utf-8")
    return world.outputs_path


def test_a_service_awaiting_its_image_is_skipped_and_the_database_still_checked(client, program, capsys, tmp_path):
    world = w.build(client, tmp_path, with_group=False, with_db=True)
    path = awaiting_outputs(world)

    code, report = run_json(capsys, ["verify", "--stack", "production", "--outputs", str(path),
                                     "--program", str(program)])

    assert code == 0, report
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["api: first image"]["status"] == "skip"
    assert REPOSITORY_URL in steps["api: first image"]["detail"]
    assert steps["database: backup retention"]["status"] == "ok"
    assert not any(name.startswith("api: desired") or name.startswith("api: rollback") for name in steps)


def test_outputs_without_the_awaiting_key_are_still_read(client, program, capsys, tmp_path):
    """Stacks recorded before first-run support export no awaitingImage: nothing is skipped, nothing breaks."""
    world = w.build(client, tmp_path, with_group=False, with_db=True)
    outputs = {**world.outputs, "services": {}}
    world.outputs_path.write_text(json.dumps(outputs), encoding="utf-8")

    code, report = run_json(capsys, ["verify", "--stack", "production", "--outputs", str(world.outputs_path),
                                     "--program", str(program)])

    assert code == 0, report
    assert not any(s["status"] == "skip" and "first image" in s["name"] for s in report["steps"])
