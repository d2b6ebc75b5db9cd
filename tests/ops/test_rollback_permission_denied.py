"""`rampart rollback` against moto's server when a call is denied midway: each message names the permission and
says what the rollback left behind. moto enforces no IAM per call: Stubber answers AccessDenied for the one call
each test denies."""

from __future__ import annotations

from tests.ops import world as w
from tests.ops.conftest import run_json
from tests.ops.rollback_support import _CodeDeploy, _history, _revisions, _rollback, _serving, _step

# --- permission denied midway --------------------------------------------------------------------------------


def test_denied_stop_says_the_deployment_still_runs(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    [_, bad] = _history(client, (rev1, "Succeeded"), (rev2, "Ready"))
    # moto enforces no IAM per call (and has no StopDeployment): Stubber answers AccessDenied.
    stub_call("codedeploy", "stop_deployment").add_client_error(
        "stop_deployment", "AccessDeniedException", "not authorized to perform codedeploy:StopDeployment", 400)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert f"deployment {bad} (Ready) could not be stopped" in detail
    assert "permission denied" in detail and "codedeploy:StopDeployment" in detail
    assert "left: it continues under CodeDeploy's own alarms and rollback; stopped so far: none" in detail


def test_denied_continue_says_the_rollback_is_held_in_ready(client, stub_call, codedeploy_walk, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    arranged = _history(client, (rev1, "Succeeded"), (rev2, "Succeeded"))
    _serving(client, rev2)
    codedeploy_walk(_CodeDeploy(client, arranged, ("InProgress", "Ready")))
    # moto enforces no IAM per call (and has no ContinueDeployment): Stubber answers AccessDenied.
    stub_call("codedeploy", "continue_deployment").add_client_error(
        "continue_deployment", "AccessDeniedException", "not authorized", 400)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert "codedeploy:ContinueDeployment" in detail and "permission denied" in detail
    assert f"left: rollback deployment {report['result']['deploymentId']} running in CodeDeploy" in detail


def test_denied_create_changes_nothing(client, stub_call, capsys, tmp_path):
    world = w.build(client, tmp_path)
    rev1, rev2 = _revisions(client, world, 2)
    _history(client, (rev1, "Succeeded"), (rev2, "Succeeded"))
    _serving(client, rev2)
    # moto enforces no IAM per call: Stubber answers AccessDenied for CreateDeployment only.
    stub_call("codedeploy", "create_deployment").add_client_error(
        "create_deployment", "AccessDeniedException", "not authorized", 400)

    code, report = run_json(capsys, _rollback(world))

    assert code == 1
    detail = _step(report, "error")["detail"]
    assert "codedeploy:CreateDeployment" in detail and f"left: nothing changed; the service still runs {rev2}" in detail
