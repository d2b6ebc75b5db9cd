"""A production stack file switching one service to `trafficControl: ECS` passes the project's own pack with zero
mandatory violations, exactly as `rampart check` runs it, and the switched service has no CodeDeploy resources."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rampart.engine.check import CheckOptions, run_check
from tests.support.project_copy import copy_project

ROOT = Path(__file__).resolve().parents[1]
SWITCHED = "api"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("ecs-native"))
    document = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())
    [service] = [s for s in document["config"]["rampart:services"] if s["name"] == SWITCHED]
    service["trafficControl"] = "ECS"
    (project / "Pulumi.production.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    report = run_check(CheckOptions(program_dir=project, pack_dir=ROOT / "policies", stacks=("production",),
                                    policy_config_dir=ROOT / "policies" / "config"))
    [stack] = report.stacks
    assert stack.error is None, stack.error
    return report, stack


def test_zero_mandatory_violations_in_production(production):
    report, stack = production
    blocking = [(f.policy, f.resource_name, f.message) for f in stack.blocking]
    assert blocking == []
    assert report.exit_code == 0


def test_switched_service_is_ecs_native_with_no_codedeploy_resources(production):
    _, stack = production
    switched = [r for r in stack.resources if f"-{SWITCHED}" in r.urn.rsplit("::", 1)[-1]]
    assert switched
    assert not [r.urn for r in switched if r.type.startswith("aws:codedeploy")]
    [service] = [r for r in switched if r.type == "aws:ecs/service:Service"]
    assert service.inputs["deploymentController"] == {"type": "ECS"}
    assert service.inputs["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    # The other service stays on CodeDeploy.
    groups = [r for r in stack.resources if r.type == "aws:codedeploy/deploymentGroup:DeploymentGroup"]
    assert [g.name for g in groups] == ["rampart-production-web-deployment-group"]
    outputs = stack.outputs["services"]
    assert outputs[SWITCHED]["trafficControl"] == "ECS" and outputs[SWITCHED]["deploymentGroup"] is None
    assert outputs["web"]["trafficControl"] == "CODE_DEPLOY"
