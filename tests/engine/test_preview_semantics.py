"""Programs run as `pulumi preview` runs them: `is_dry_run()` true; in the first preview of a new stack, what a
provider computes at create time is unknown and `apply` over it does not run; with ASSUME_EXISTING, every fake
output is known (the steady state of a deployed stack)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from rampart.engine.analyzer import Diagnostic, PackInfo, PolicyMetadata
from rampart.engine.fake_outputs import FakeCloud
from rampart.engine.recorder import ASSUME_EXISTING, FIRST_PREVIEW, UNKNOWN, Recording, record, redact_secrets
from rampart.engine.stackfile import load_project, load_stack
from rampart.reports.model import classify

PROGRAMS = Path(__file__).resolve().parents[1] / "fixtures" / "programs"
MODES = (FIRST_PREVIEW, ASSUME_EXISTING)


def record_fixture(name: str, mode: str, stack: str = "dev") -> Recording:
    project = load_project(PROGRAMS / name)
    settings = load_stack(project, stack, missing_ok=True)
    return record(lambda: runpy.run_path(str(project.main), run_name="__main__"), project=project.name,
                  stack=stack, config=settings.config, secret_keys=settings.secret_keys, mode=mode)


def test_first_preview_leaves_an_arn_unknown_and_does_not_run_apply_over_it():
    recording = record_fixture("preview_unknowns", FIRST_PREVIEW)  # `arn + "*/*"` would raise on None
    permission = recording.one("aws:lambda/permission:Permission")
    assert permission.inputs["sourceArn"] == UNKNOWN
    assert recording.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"] == UNKNOWN
    assert recording.outputs["invokePattern"] == UNKNOWN


def test_first_preview_keeps_inputs_and_autonames_known():
    recording = record_fixture("preview_unknowns", FIRST_PREVIEW)
    assert recording.outputs["bucketName"] == "data"  # Pulumi autonames during Check, before the preview
    assert recording.one("aws:iam/rolePolicy:RolePolicy").inputs["role"] == "fn"
    assert recording.one("aws:lambda/permission:Permission").inputs["function"] == "preview-fixture-fn"


def test_assume_existing_knows_every_fake_output():
    recording = record_fixture("preview_unknowns", ASSUME_EXISTING)
    source_arn = recording.one("aws:lambda/permission:Permission").inputs["sourceArn"]
    assert source_arn.startswith("arn:aws:execute-api:eu-west-1:123456789012:") and source_arn.endswith("*/*")
    policy = json.loads(recording.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == ["arn:aws:s3:::data/*"]


@pytest.mark.parametrize("mode", MODES)
def test_a_program_that_only_previews_runs_in_both_modes(mode):
    recording = record_fixture("dry_run_guard", mode)
    assert recording.one("aws:ecr/repository:Repository").inputs == {"imageTagMutability": "IMMUTABLE"}
    image = recording.outputs["image"]
    assert image == UNKNOWN if mode == FIRST_PREVIEW else image.endswith(".amazonaws.com/app:latest")


def test_the_preview_of_a_create_knows_inputs_autoname_region_and_tags_only():
    resource_id, state = FakeCloud(region="eu-west-1").new_resource_preview(
        "aws:s3/bucket:Bucket", "logs", {"tags": {"team": "x"}, "forceDestroy": False})
    assert resource_id == ""
    assert state == {"tags": {"team": "x"}, "forceDestroy": False, "bucket": "logs", "region": "eu-west-1",
                     "tagsAll": {"team": "x"}}


def test_a_read_of_an_existing_resource_is_known_in_the_first_preview():
    def program():
        vpc = aws.ec2.Vpc.get("existing", "vpc-0abc")
        aws.ec2.SecurityGroup("sg", vpc_id=vpc.id, description=vpc.arn.apply(lambda arn: "in " + arn))

    recording = record(program, project="p", stack="s", mode=FIRST_PREVIEW)
    inputs = recording.one("aws:ec2/securityGroup:SecurityGroup").inputs
    assert inputs["vpcId"] == "vpc-0abc"
    assert inputs["description"].startswith("in arn:aws:ec2:")


def test_is_dry_run_is_true_in_both_modes():
    seen = []

    def program():
        seen.append(pulumi.runtime.is_dry_run())

    for mode in MODES:
        record(program, project="p", stack="s", mode=mode)
    assert seen == [True, True]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode: expected one of first-preview, assume-existing"):
        record(lambda: None, project="p", stack="s", mode="deploy")


def test_reports_show_an_unknown_input_as_unknown_not_as_the_sentinel():
    assert redact_secrets({"arn": UNKNOWN, "tags": [UNKNOWN, "x"]}) == {"arn": "[unknown]", "tags": ["[unknown]", "x"]}


def _pack(enforcement: str) -> PackInfo:
    meta = PolicyMetadata(name="iam-no-admin", description="No admin.", enforcement=enforcement, severity="high",
                          framework_name="", framework_reference="", remediation="", url="", tags=(),
                          config_schema={})
    return PackInfo(name="pack", version="1", policies={"iam-no-admin": meta})


def test_an_undeterminable_finding_carries_its_rules_level_and_never_blocks():
    # pulumi_policy sends a rule it could not run as advisory; the reader must see that a mandatory rule went
    # unjudged, and the gate must not fail on it (as `pulumi preview` does not).
    diagnostic = Diagnostic(policy="iam-no-admin", urn="urn:x", severity="high", enforcement="advisory",
                            message="No admin.\ncan't run policy 'iam-no-admin' from policy pack 'pack@v1' during "
                                    "preview: string value at .policy can't be known during preview")
    [finding] = classify([diagnostic], _pack("advisory"), {"iam-no-admin": "mandatory"})
    assert (finding.state, finding.enforcement, finding.blocking) == ("undeterminable", "mandatory", False)
    # pulumi_policy says "string value" of every unknown (the wire form of an unknown is a string, whatever the
    # property's type): the report does not repeat a type it cannot know.
    assert finding.message == "undeterminable until apply: value at .policy can't be known during preview"
    [finding] = classify([diagnostic], _pack("mandatory"))
    assert finding.enforcement == "mandatory"
