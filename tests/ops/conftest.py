"""moto's real HTTP server on a free loopback port, with every command pointed at it through AWS_ENDPOINT_URL."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from rampart.ops import aws as ops_aws

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    """Fake credentials and region, the endpoint override, and a clean moto state per test."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe the instance metadata address
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    host, _, port = moto_endpoint.removeprefix("http://").partition(":")
    # Generous: the reset waits for moto's state lock, which a previous test's abandoned call (a fault case that
    # drops or holds a response) may still hold for a while on a loaded machine (timed out at 10 s in one CI run).
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("POST", "/moto-api/reset")
    assert connection.getresponse().status == 200
    connection.close()
    return moto_endpoint


@pytest.fixture
def client(aws_env: str) -> Callable[[str], Any]:
    """A plain boto3 client against moto, for arranging fixtures and inspecting results."""
    return lambda service: boto3.client(service, region_name=REGION)


@pytest.fixture
def stub_call(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Stubber]:
    """Serve ONE operation of one service from botocore's Stubber; every other call still goes to moto.

    The command's client gets that one method replaced by the same method of a twin client under a Stubber, so
    the stubbed responses are validated against the service model, and nothing else is faked.
    """
    stubbers: list[Stubber] = []

    def install(service: str, method: str) -> Stubber:
        twin = boto3.client(service, region_name=REGION)
        stubber = Stubber(twin)
        stubber.activate()
        stubbers.append(stubber)
        original = ops_aws.Aws._create

        def create(self: ops_aws.Aws, name: str) -> Any:
            made = original(self, name)
            if name == service:
                setattr(made, method, getattr(twin, method))
            return made

        monkeypatch.setattr(ops_aws.Aws, "_create", create)
        return stubber

    yield install
    for stubber in stubbers:
        stubber.deactivate()


@pytest.fixture
def codedeploy_walk(monkeypatch):
    """Install a director (tests/ops/rollback_support.py's _CodeDeploy) on the command's CodeDeploy client: it runs
    before each GetDeployment call is built, and may move the deployment on in moto's backend first."""

    def install(director: Callable[..., None]) -> None:
        original = ops_aws.Aws._create

        def create(self: ops_aws.Aws, name: str) -> Any:
            made = original(self, name)
            if name == "codedeploy":
                made.meta.events.register("before-parameter-build.codedeploy.GetDeployment", director)
            return made

        monkeypatch.setattr(ops_aws.Aws, "_create", create)

    return install


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    from rampart.cli import main

    code = main([*argv, "--format", "json"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A project whose stack file declares 14 days of retention and deletion protection."""
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: rampart\nruntime: python\n")
    (directory / "__main__.py").write_text("")
    (directory / "Pulumi.production.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  rampart:database:\n    backupRetentionDays: 14\n"
        "    deletionProtection: true\n")
    return directory
