"""The pack judges programs it has never seen: small Pulumi programs written straight against pulumi_aws and
pulumi_github (no Rampart component), each breaking one hardening property, draw a mandatory violation on the
offending resource under the production stack's pack config; the hardened one draws none.

Each program runs through `rampart check --program`, exactly as a user's project would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.checked_programs import check_production, write_program

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "tests" / "fixtures" / "programs" / "third_party"

# program -> (rule that must fire as mandatory, name of the offending resource)
BROKEN = {
    "unrotated_key": ("kms-rotation", "orders-key"),
    "open_key_policy": ("kms-key-policy-safety", "orders-key"),
    "mutable_images": ("ecr-immutable-tags", "orders"),
    "unscanned_images": ("ecr-scan-on-push", "orders"),
    "logs_kept_forever_unencrypted": ("log-group-retention", "orders-logs"),
    "public_database": ("rds-not-public", "reports-db"),
    "open_ssh": ("sg-no-admin-ports", "bastion"),
    "static_keys": ("iam-no-users-or-access-keys", "ci-deployer"),
    "privileged_task": ("ecs-taskdef-no-host-privileges", "agent"),
    "admin_bypass_environment": ("gh-env-no-admin-bypass", "production"),
    "public_bucket": ("s3-bucket-policy-not-public", "downloads-policy"),
}


def check(program: str, tmp_path: Path) -> tuple[int, dict]:
    project = write_program(tmp_path / program, (PROGRAMS / f"{program}.py").read_text(),
                            program.replace("_", "-"), "  aws:region: us-east-1\n  github:owner: example-org\n")
    report = tmp_path / "report.json"
    completed = check_production(project, report)
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return completed.returncode, json.loads(report.read_text())


def mandatory(report: dict) -> list[tuple[str, str]]:
    [stack] = report["stacks"]
    return [(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in stack["violations"]
            if v["enforcement"] == "mandatory" and v.get("state", "violation") == "violation"]


def test_the_hardened_program_draws_no_mandatory_violation(tmp_path):
    code, report = check("hardened", tmp_path)
    assert mandatory(report) == []
    assert code == 0


@pytest.mark.parametrize(("program", "expected"), sorted(BROKEN.items()), ids=sorted(BROKEN))
def test_each_broken_property_draws_a_mandatory_violation_on_its_resource(program, expected, tmp_path):
    code, report = check(program, tmp_path)
    assert expected in mandatory(report), mandatory(report)
    assert code == 1
