"""`rampart rollback` input and the pieces it computes without AWS: bad flags and a bad RAMPART_SERVICES value exit
2 before any call (naming, never echoing, what is wrong), the revision an AppSpec names, and the default timeout
derived from a deployment config and the rollback alarms."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from rampart.cli import main
from rampart.ops.report import Report
from rampart.ops.rollback import default_timeout, revision_arn, same_revision
from tests.ops.conftest import REGION
from tests.ops.rollback_support import REASON

# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["--reason", "  "], "--reason: expected a non-empty reason"),
    (["--timeout", "0"], "--timeout and --poll: expected positive seconds"),
    (["--services-json", "{not json", "--cluster", "c"], "--services-json: not valid JSON"),
    (["--services-json", "{}"], "--cluster: required with --services-json"),
    (["--services-json", '{"web": {}}', "--cluster", "c"], "--services-json: no service 'api' (has: web)"),
    (["--services-json", '{"api": {"service": "s"}}', "--cluster", "c"], "api.application is missing"),
    (["--services-json", "{}", "--cluster", "c", "--outputs", "x.json"], "--services-json: not with --outputs"),
    (["--outputs", "no-such.json"], "no-such.json: stack outputs file not found"),
])
def test_bad_flags_exit_2_before_any_call(aws_env, capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    base = ["rollback", "--stack", "production", "--service", "api", "--reason", REASON]
    assert main([*base, *argv]) == 2
    assert message in capsys.readouterr().err


def test_reason_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["rollback", "--stack", "production", "--service", "api"])
    assert exit_info.value.code == 2
    assert "--reason" in capsys.readouterr().err


# --- units ---------------------------------------------------------------------------------------------------


def test_revision_from_a_yaml_appspec_and_a_short_task_definition_name():
    content = "version: 0.0\nResources:\n  - web:\n      Type: AWS::ECS::Service\n      Properties:\n" \
              "        TaskDefinition: api:7\n"
    info = {"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}}
    assert revision_arn(info) == "api:7"
    assert same_revision("arn:aws:ecs:eu-west-1:1:task-definition/api:7", "api:7")
    assert not same_revision("arn:aws:ecs:eu-west-1:1:task-definition/api:7", "api:17")
    assert revision_arn({"revision": {"revisionType": "S3", "s3Location": {}}}) is None


@pytest.mark.parametrize(("config", "shift"), [
    ("CodeDeployDefault.ECSAllAtOnce", 0),
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", 900),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 1800),
])
def test_default_timeout_of_predefined_configs(config, shift):
    report = Report("rollback")
    alarms = {"a": {"Period": 60, "EvaluationPeriods": 3}, "b": {"Period": 300, "EvaluationPeriods": 2}}
    assert default_timeout(None, {"deploymentConfigName": config}, alarms, report) == 600 + shift + 660


def test_default_timeout_reads_a_custom_config():
    # moto has no GetDeploymentConfig: Stubber answers it (a stack's own canary config, as production's).
    codedeploy = boto3.client("codedeploy", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(codedeploy) as stubber:
        stubber.add_response("get_deployment_config", {"deploymentConfigInfo": {"trafficRoutingConfig": {
            "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}}},
            expected_params={"deploymentConfigName": "rampart-production-api-canary"})
        report = Report("rollback")
        assert default_timeout(codedeploy, {"deploymentConfigName": "rampart-production-api-canary"}, {},
                               report) == 900
    assert "300 traffic shift" in report.steps[-1].detail


def test_a_services_json_value_of_the_wrong_type_is_named_not_echoed(aws_env, capsys, tmp_path, monkeypatch):
    """RAMPART_SERVICES is a CI variable: a value of the wrong type there is named by key and type, never printed."""
    monkeypatch.chdir(tmp_path)
    sentinel = "sentinel-services-json-8e0a"
    services = json.dumps({"api": {"service": "s", "application": {"token": sentinel}}})
    argv = ["rollback", "--stack", "production", "--service", "api", "--reason", REASON, "--cluster", "c",
            "--services-json", services]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert sentinel not in err
    assert "--services-json: api.application is invalid (an object, expected a string); pass --application" in err
