"""`rampart metrics` on a recorded history: CodeDeploy's on moto's server, GitHub's as recorded API answers served
from tests/fixtures/github on a loopback port (never the network)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rampart.cli import main
from rampart.ops.dora import FAILED, SUCCEEDED, Deployment, compute
from tests.ops.conftest import REGION

RECORDED = json.loads((Path(__file__).parents[1] / "fixtures" / "github" / "metrics_history.json").read_text())
C = RECORDED["commits"]
T0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
ACCOUNT = "123456789012"
# (status, created hour, completed hour, commit) after T0; the last is still running.
HISTORY = [("Succeeded", 0, 1, "c1"), ("Failed", 24, 25, "c2"), ("Succeeded", 26, 27, "c3"), ("Stopped", 48, 50, "c4"),
           ("Succeeded", 54, 55, "c5"), ("InProgress", 60, None, None)]


class _Recorded(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = RECORDED["responses"].get(self.path)
        payload = json.dumps(body if body is not None else {"message": "Not Found"}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def github_api(monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("GITHUB_TOKEN", "test-token-not-a-secret")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _moto_time(hours: float):
    """moto keeps its times as naive UTC (its utcnow()), and compares createTimeRange with them."""
    return (T0 + dt.timedelta(hours=hours)).replace(tzinfo=None)


def _arrange(client, tmp_path: Path) -> Path:
    """The api service's deployment group with HISTORY in it: real CreateDeployment calls, then each deployment's
    status and times set in moto's (in-process) backend, which keeps every deployment `Created` at `now`."""
    from moto.codedeploy.models import codedeploy_backends

    codedeploy = client("codedeploy")
    codedeploy.create_application(applicationName="shop-api", computePlatform="ECS")
    codedeploy.create_deployment_group(applicationName="shop-api", deploymentGroupName="shop-api-group",
                                       serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy")
    backend = codedeploy_backends[ACCOUNT][REGION]
    for status, created, completed, commit in HISTORY:
        description = f"commit {C[commit]} run 42/1" if commit else "manual"
        deployment_id = codedeploy.create_deployment(
            applicationName="shop-api", deploymentGroupName="shop-api-group", description=description,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]
        info = backend.deployments[deployment_id]
        info.status, info.create_time = status, _moto_time(created)
        info.complete_time = _moto_time(completed) if completed is not None else None
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"environment": "production", "services": {
        "api": {"codedeployApplication": "shop-api", "deploymentGroup": "shop-api-group"}}}))
    return outputs


def test_the_four_metrics_of_a_recorded_history_are_the_hand_calculated_ones(aws_env, client, github_api, tmp_path,
                                                                            capsys):
    """Hand calculation, api in production, window 28 days to 2026-11-30 (T0 = 2026-11-02 00:00 UTC):

    deployments  created  completed  status      commit  shipped (commit time)
    d1           T0+0h    T0+1h      Succeeded   c1      c1 (T0-3h)                 lead 1-(-3) = 4h
    d2           T0+24h   T0+25h     Failed      c2
    d3           T0+26h   T0+27h     Succeeded   c3      c1...c3: c2 (T0+20h), c3 (T0+25.5h)   leads 7h, 1.5h
    d4           T0+48h   T0+50h     Stopped     c4      (a stop is a failure)
    d5           T0+54h   T0+55h     Succeeded   c5      c3...c5: c4 (T0+40h), c5 (T0+53h)     leads 15h, 2h
    d6           T0+60h   -          InProgress          (not finished: not counted)

    deployment frequency = 3 successful / 28 days = 0.107 per day
    lead time            = median(4, 7, 1.5, 15, 2) = median(1.5, 2, 4, 7, 15) = 4 h
    change failure rate  = 2 failed (d2, d4) / 5 finished = 0.4
    time to restore      = median(d3-d2 = 27-25 = 2h, d5-d4 = 55-50 = 5h) = 3.5 h

    pipeline health, deploy.yml's last 7 runs (the cancelled one is not judged): durations in start order
    10, 12, 11, 30, 14, 13 min; 2 failures of 6 = 0.333; median(10, 11, 12, 13, 14, 30) = 12.5 min;
    p90 (inclusive) = 14 + 0.5 * (30 - 14) = 22 min; trend = median(30, 14, 13) - median(10, 12, 11) = 14 - 11 = +3.
    """
    outputs = _arrange(client, tmp_path)
    code = main(["metrics", "--outputs", str(outputs), "--repository", "example-org/shop", "--days", "28",
                 "--until", "2026-11-30T00:00:00Z", "--workflow", "deploy.yml", "--runs", "7", "--format", "json"])
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    (api,) = report["metrics"]
    assert (api["service"], api["environment"], api["deployments"], api["successful"], api["failed"]) == (
        "api", "production", 5, 3, 2)
    assert api["deploymentsPerDay"] == pytest.approx(3 / 28, abs=1e-3)
    assert api["leadTimeHours"] == 4.0
    assert api["changeFailureRate"] == 0.4
    assert api["timeToRestoreHours"] == 3.5
    assert [hours for _, hours in api["leadTimes"]] == [4.0, 4.25, 8.5]  # per deployment: median of what it shipped
    health = report["pipeline"]
    assert (health["runs"], health["failureRate"], health["medianMinutes"], health["p90Minutes"],
            health["trendMinutes"]) == (6, 0.333, 12.5, 22.0, 3.0)


def test_the_table_and_the_page(aws_env, client, github_api, tmp_path, capsys):
    outputs = _arrange(client, tmp_path)
    argv = ["metrics", "--outputs", str(outputs), "--repository", "example-org/shop", "--days", "28",
            "--until", "2026-11-30T00:00:00Z", "--workflow", "deploy.yml", "--runs", "7"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "api      production   5        0.11     4.00 h     40%             3.50 h" in table
    assert "pipeline deploy.yml: 6 runs, 33% failed, median 12.50 min" in table
    page = tmp_path / "metrics.html"
    assert main([*argv, "--format", "html", "--output", str(page)]) == 0
    text = page.read_text()
    assert text.count("<svg") == 3 and "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in text and "<link" not in text  # self-contained: nothing fetched


def test_github_deployments_count_by_their_latest_status(aws_env, client, github_api, tmp_path, capsys):
    outputs = _arrange(client, tmp_path)
    assert main(["metrics", "--outputs", str(outputs), "--repository", "example-org/shop", "--days", "28",
                 "--until", "2026-11-30T00:00:00Z", "--github-deployments", "--format", "json"]) == 0
    rows = {m["service"]: m for m in json.loads(capsys.readouterr().out)["metrics"]}
    # 9001 (no payload service: the environment as a whole) failed; 9002 (web) succeeded.
    assert (rows["*"]["failed"], rows["web"]["successful"]) == (1, 1)


def test_time_to_restore_waits_for_the_next_success_and_running_ones_are_not_counted():
    at = lambda h: T0 + dt.timedelta(hours=h)  # noqa: E731
    history = [Deployment("api", "staging", "1", FAILED, at(0), at(1)),
               Deployment("api", "staging", "2", FAILED, at(2), at(3)),
               Deployment("api", "staging", "3", "inprogress", at(4), None),
               Deployment("api", "staging", "4", SUCCEEDED, at(5), at(7))]
    (metrics,) = compute(history, 7, lambda previous, head: [])
    # restores: 7-1 = 6h and 7-3 = 4h, median 5h; no commits known: no lead time.
    assert (metrics.time_to_restore_hours, metrics.change_failure_rate, metrics.lead_time_hours) == (5.0, 2 / 3, None)


@pytest.mark.parametrize("argv, named", [
    (["--days", "0"], "--days"),
    (["--until", "yesterday"], "--until"),
    (["--workflow", "deploy.yml"], "--repository"),
    (["--repository", "not a repo"], "--repository"),
])
def test_bad_input_is_one_message_and_exit_2(aws_env, client, tmp_path, monkeypatch, capsys, argv, named):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    outputs = _arrange(client, tmp_path)
    assert main(["metrics", "--outputs", str(outputs), *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_a_github_error_names_the_path_and_not_the_token(aws_env, client, github_api, tmp_path, capsys):
    outputs = _arrange(client, tmp_path)
    assert main(["metrics", "--outputs", str(outputs), "--repository", "example-org/other", "--days", "28",
                 "--until", "2026-11-30T00:00:00Z"]) == 1
    err = capsys.readouterr().err
    assert "GitHub GET /repos/example-org/other/commits/" in err and "HTTP 404" in err
    assert "test-token-not-a-secret" not in err


def test_the_preview_role_metrics_yml_assumes_allows_every_call_and_only_on_deployment_groups(aws_env, client,
                                                                                                tmp_path, capsys):
    """metrics.yml runs `rampart metrics` under the stack's read-only preview role: each recorded call, evaluated
    against that role as production registers it (tests/support/iam.py), is allowed; history stays metadata."""
    from tests.support import aws_calls
    from tests.support.iam import assert_role_allows, denied, role_policies
    from tests.support.stacks import record_stack

    outputs = _arrange(client, tmp_path)
    recording = record_stack("production")
    region = recording.outputs["region"]
    with aws_calls.recording(ACCOUNT, REGION, aws_env) as recorded:
        assert main(["metrics", "--outputs", str(outputs), "--days", "28", "--until", "2026-11-30T00:00:00Z",
                     "--format", "json"]) == 0
    capsys.readouterr()
    requests = [aws_calls.Request(r.action, r.resource.replace(f":{REGION}:", f":{region}:"))
                for r in recorded.requests()]
    assert {r.action for r in requests} == {"codedeploy:ListDeployments", "codedeploy:BatchGetDeployments"}
    policies = role_policies(recording, "-github-preview")
    assert_role_allows(policies, requests, role="production *-github-preview (metrics.yml)")
    deploy = aws_calls.Request("codedeploy:CreateDeployment", requests[0].resource)
    assert denied(policies, [deploy]), "the metrics role must not start deployments"
