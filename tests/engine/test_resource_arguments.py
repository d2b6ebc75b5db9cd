"""A resource passed where the provider expects a string (`role=role`, as the public examples write it) reaches the
fake provider as the engine sends it to a provider that takes no resource references: the resource's id, unknown
while the resource is new (rampart.engine.recorder.RecordingMocks, values.provider_inputs)."""

from __future__ import annotations

import os
import sys

import pytest

from rampart.engine import worker
from rampart.engine.recorder import ASSUME_EXISTING, FIRST_PREVIEW
from rampart.engine.values import UNKNOWN

PROGRAM = """
import json
import pulumi
import pulumi_aws as aws

role = aws.iam.Role("app", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
attachment = aws.iam.RolePolicyAttachment("app-readonly", role=role,
                                          policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess")
component = pulumi.ComponentResource("rampart:test:Group", "group")
pulumi.export("attachedTo", attachment.role)
pulumi.export("roleId", role.id)
"""


def _run(tmp_path, mode):
    (tmp_path / "Pulumi.yaml").write_text("name: references\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    here = os.getcwd()
    try:
        return worker.run(tmp_path, "dev", mode)
    finally:
        os.chdir(here)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


def test_a_resource_passed_as_a_string_argument_is_its_id_once_the_role_exists(tmp_path):
    result = _run(tmp_path, ASSUME_EXISTING)
    assert result["error"] is None, result["error"]
    assert [r["type"] for r in result["registrations"]][-3:-1] == ["aws:iam/role:Role",
                                                                   "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    assert result["outputs"]["attachedTo"] == result["outputs"]["roleId"] != ""


@pytest.mark.parametrize("mode", [FIRST_PREVIEW])
def test_a_resource_passed_as_a_string_argument_is_unknown_while_the_role_is_new(tmp_path, mode):
    result = _run(tmp_path, mode)
    assert result["error"] is None, result["error"]
    assert result["outputs"].get("attachedTo") in (None, UNKNOWN)  # unknown exports are left out or unknown
