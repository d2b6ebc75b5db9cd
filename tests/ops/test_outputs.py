"""Reading stack outputs: a value of the wrong type is named by key and expected type, never echoed (an outputs
file is `pulumi stack output --json --show-secrets` in CI and can hold a secret)."""

from __future__ import annotations

import json

import pytest

from rampart.cli import main
from rampart.errors import UsageError
from rampart.ops.outputs import StackOutputs

SENTINEL = "sentinel-outputs-secret-9b3e"


def _outputs(tmp_path, data) -> StackOutputs:
    path = tmp_path / "production.json"
    path.write_text(json.dumps(data))
    return StackOutputs("production", path)


@pytest.mark.parametrize(("value", "expect", "expected", "found"), [
    ({"password": SENTINEL}, str, "a string", "an object"),
    (SENTINEL, dict, "an object", "a string"),
    ([SENTINEL], (str, int), "a string or an integer", "a list"),
    (None, str, "a string", "null"),
])
def test_a_wrong_type_names_the_key_and_the_expected_type_and_never_the_value(tmp_path, value, expect, expected,
                                                                               found):
    outputs = _outputs(tmp_path, {"services": {"api": {"clusterName": value}}})
    with pytest.raises(UsageError) as raised:
        outputs.get("services.api.clusterName", flag="--cluster", expect=expect)
    message = str(raised.value)
    assert SENTINEL not in message
    assert message == (f"{outputs.path}: key services.api.clusterName is {found}, expected {expected} "
                       "or pass --cluster")


def test_rampart_verify_does_not_echo_an_unexpected_output(aws_env, capsys, tmp_path):
    outputs = _outputs(tmp_path, {"services": [SENTINEL], "clusterName": "c"})
    assert main(["verify", "--stack", "production", "--outputs", str(outputs.path)]) == 2
    captured = capsys.readouterr()
    assert SENTINEL not in captured.out + captured.err
    assert "key services is a list, expected an object" in captured.err
    assert "Traceback" not in captured.err


def test_rampart_deploy_does_not_echo_an_unexpected_alarm_watch(aws_env, capsys, tmp_path):
    outputs = _outputs(tmp_path, {
        "clusterName": "c", "codedeployApplication": "app", "containerName": "app", "containerPort": 8080,
        "services": {"api": {"serviceName": "api", "deploymentGroup": "api", "codedeployApplication": "app",
                             "containerName": "app", "containerPort": 8080, "trafficControl": "CODE_DEPLOY",
                             "deployment": {"untilShiftedSeconds": 600, "alarmWatchSeconds": [SENTINEL]}}},
    })
    argv = ["deploy", "--stack", "production", "--outputs", str(outputs.path), "--service", "api",
            "--image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "a" * 64]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert SENTINEL not in err
    assert "services.api.deployment.alarmWatchSeconds: expected seconds >= 0, got a list" in err
