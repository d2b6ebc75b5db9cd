"""The fault proxy in front of moto's server, with retries and timeouts short enough for tests.

The commands keep their real retry policy (botocore standard mode); only the attempt count, the backoff and the
read timeout shrink, so a persistent fault exhausts the retries in well under a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.retries.standard import ExponentialBackoff

from rampart.ops import aws as ops_aws
from tests.faults.proxy import FaultProxy
from tests.ops.conftest import REGION, aws_env, client, moto_endpoint, stub_call  # noqa: F401 - fixtures

TEST_ATTEMPTS = 3
READ_TIMEOUT = 1.0


def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops_aws, "MAX_ATTEMPTS", TEST_ATTEMPTS)
    monkeypatch.setattr(ops_aws, "RETRY_CONFIG", botocore.config.Config(
        retries={"mode": "standard", "max_attempts": TEST_ATTEMPTS}, connect_timeout=1, read_timeout=READ_TIMEOUT))
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture
def direct(aws_env: str) -> Callable[[str], Any]:  # noqa: F811
    """boto3 straight to moto, never through the proxy: for arranging the world and inspecting it."""
    return lambda service: boto3.client(service, region_name=REGION, endpoint_url=aws_env)


@pytest.fixture
def proxy(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:  # noqa: F811
    """Every command's AWS call goes through the proxy (AWS_ENDPOINT_URL); rules start empty."""
    running = FaultProxy(aws_env).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
    quick_retries(monkeypatch)
    yield running
    running.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.faults.matrix import RESULTS, table

    if RESULTS:
        terminalreporter.write_sep("=", f"ops commands × faults ({len(RESULTS)} runs)")
        terminalreporter.write_line(table(RESULTS))
