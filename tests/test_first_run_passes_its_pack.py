"""A new stack's first `pulumi up` (every service `awaitingImage: true`, no image anywhere) passes the project's own
pack with zero mandatory violations, exactly as `rampart check` runs it: each stack's program and its
per-stack policy config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rampart.engine.check import CheckOptions, run_check
from tests.support.project_copy import copy_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def first_run_project(tmp_path: Path) -> Path:
    """This project, with every service in every stack file awaiting its first image."""
    target = copy_project(tmp_path)
    for stack in ("dev", "production", "staging"):
        document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        for service in document["config"]["rampart:services"]:
            del service["image"]
            service["awaitingImage"] = True
        (target / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return target


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    project = first_run_project(tmp_path_factory.mktemp("first-run"))
    return run_check(CheckOptions(program_dir=project, pack_dir=ROOT / "policies",
                                  policy_config_dir=ROOT / "policies" / "config"))


def test_first_run_stacks_run_and_declare_no_service_yet(report):
    assert [s.stack for s in report.stacks] == ["dev", "production", "staging"]
    assert all(s.error is None for s in report.stacks), [s.error for s in report.stacks]
    for stack in report.stacks:
        types = {r.type for r in stack.resources}
        assert "aws:ecr/repository:Repository" in types
        assert "aws:ecs/service:Service" not in types and "aws:codedeploy/deploymentGroup:DeploymentGroup" not in types
        # The only task definition is the smoke runner's (a public curl image pinned by digest), none of a service.
        assert all("SmokeRunner" in r.urn for r in stack.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition")
        assert sorted(stack.outputs["awaitingImage"]) == ["api", "web"]


def test_first_run_has_zero_mandatory_violations(report):
    blocking = [(s.stack, f.policy, f.resource_name, f.message) for s in report.stacks for f in s.blocking]
    assert blocking == []
    assert report.exit_code == 0
