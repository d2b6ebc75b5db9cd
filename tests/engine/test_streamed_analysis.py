"""The pack judges each resource while the program is still running (rampart.engine.stack_runs.StackRuns.registrations):
on a one-stack run the program and the pack share the time instead of taking turns.

The fixture program registers a bucket, then, from an `apply` on its URN (so after the registration reached the
engine), waits for the fixture pack to leave a marker when it analyses that bucket. Judged only once the program has
finished, the marker never comes in time and the program exports false."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = '''
import os
import time

import pulumi
import pulumi_aws as aws

marker = os.environ["RAMPART_TEST_MARKER"]
first = aws.s3.Bucket("first")


def judged_while_running(_urn):
    deadline = time.monotonic() + 15
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    if os.path.exists(marker):
        aws.s3.Bucket("second")  # declared after the first was judged: still recorded and judged
    return os.path.exists(marker)


pulumi.export("judgedWhileRunning", first.urn.apply(judged_while_running))
'''

PACK = '''
import os
import pathlib

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def mark(args, report):
    if args.resource_type == "aws:s3/bucket:Bucket":
        pathlib.Path(os.environ["RAMPART_TEST_MARKER"]).write_text(args.name)
        report(f"judged {args.name}")


PolicyPack(
    name="marker-pack",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[ResourceValidationPolicy(name="mark-buckets", description="Leaves a marker (fixture).", validate=mark)],
)
'''


@pytest.fixture
def overlap(tmp_path: Path) -> tuple[Path, Path]:
    program, pack = tmp_path / "program", tmp_path / "pack"
    program.mkdir()
    pack.mkdir()
    (program / "Pulumi.yaml").write_text("name: overlap\nruntime:\n  name: python\n")
    (program / "Pulumi.staging.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (program / "__main__.py").write_text(PROGRAM)
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\ndescription: Leaves a marker (fixture).\n")
    (pack / "__main__.py").write_text(PACK)
    return program, pack


def test_resources_are_judged_while_the_program_still_runs(overlap, tmp_path):
    program, pack = overlap
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(program), "--policy-pack", str(pack),
         "--stack", "staging", "--format", "json", "--no-cache"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "RAMPART_TEST_MARKER": str(tmp_path / "judged")},
    )
    assert completed.returncode == 0, completed.stderr
    [stack] = json.loads(completed.stdout)["stacks"]
    assert stack["outputs"] == {"judgedWhileRunning": True}
    # The resource declared after the overlap is recorded and judged like any other, in declaration order.
    judged = [f["message"] for f in stack["violations"] if f["policy"] == "mark-buckets"]
    assert judged == ["judged first", "judged second"]
