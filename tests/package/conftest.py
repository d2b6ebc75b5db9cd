"""One provider process per test session, started as the engine starts it, with the recording engine behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.runtime.proto import provider_pb2

from tests.support.provider_host import recording_engine, running_provider

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "provider"
PROJECT, STACK = "consumer", "test"


@pytest.fixture(scope="session")
def engine():
    with recording_engine(PROJECT, STACK) as (address, recording):
        yield address, recording


@pytest.fixture(scope="session")
def provider(engine, tmp_path_factory):
    address, _ = engine
    # The engine runs plugins from the consumer's directory, never from the plugin's own.
    with running_provider(PLUGIN_DIR, address, cwd=tmp_path_factory.mktemp("consumer")) as running:
        yield running


@pytest.fixture(scope="session")
def schema(provider) -> dict:
    return json.loads(provider.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
