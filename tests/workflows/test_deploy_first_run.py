"""The deploy job's per-service loop, run as bash runs it (with `rampart` stubbed): services awaiting their first
image are not under `services` in the stack outputs, so a stack whose services all await one deploys nothing and
succeeds, and a stack with one ready service deploys exactly that one."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
STEP_PREFIX = "Migrations, then blue/green deploy"


def deploy_loop_script() -> str:
    document = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy-stack.yml").read_text())
    [step] = [s for job in document["jobs"].values() for s in job.get("steps", [])
              if s.get("name", "").startswith(STEP_PREFIX)]
    return step["run"]


def run_loop(tmp_path: Path, outputs: dict) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    calls = tmp_path / "calls"
    stub = stub_dir / "rampart"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    stub.chmod(0o755)
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    env = {**os.environ, "PATH": f"{stub_dir}:{os.environ['PATH']}", "OUTPUTS": str(outputs_file),
           "STACK": "production"}
    completed = subprocess.run(["bash", "-eo", "pipefail", "-c", deploy_loop_script()], env=env,  # noqa: S603, S607
                               capture_output=True, text=True, check=False, cwd=tmp_path)
    return completed, (calls.read_text().splitlines() if calls.exists() else [])


def ready_service(name: str) -> dict:
    return {"taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/rampart-production-{name}:1",
            "migrationCommand": [], "testListenerPort": 8443, "healthCheckPath": "/health"}


def test_a_stack_whose_services_all_await_their_image_deploys_nothing(tmp_path):
    outputs = {"loadBalancerDnsName": "alb.example", "services": {},
               "awaitingImage": {"web": {"repositoryUrl": "123456789012.dkr.ecr.us-east-1.amazonaws.com/w"}}}
    completed, calls = run_loop(tmp_path, outputs)
    assert completed.returncode == 0, completed.stderr
    assert calls == []


def test_only_services_with_an_image_are_deployed(tmp_path):
    outputs = {"loadBalancerDnsName": "alb.example", "services": {"web": ready_service("web")},
               "awaitingImage": {"api": {"repositoryUrl": "123456789012.dkr.ecr.us-east-1.amazonaws.com/a"}}}
    completed, calls = run_loop(tmp_path, outputs)
    assert completed.returncode == 0, completed.stderr
    deploys = [c for c in calls if not c.startswith("notify ")]
    assert len(deploys) == 1 and deploys[0].startswith("deploy ") and "--service web" in deploys[0]
    # Chat hears that web was deployed; api, awaiting its image, is not mentioned.
    assert [c for c in calls if c.startswith("notify ")] == [c for c in calls if "--outcome success --service web" in c]
