"""The engine's side of a provider plugin, offline: start the plugin as the engine does (a subprocess given the
engine address, which prints its gRPC port), and serve the engine and resource monitor it calls back during
`Construct` from this process, recording every registration with the recording engine's monitor."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc, resource_pb2, resource_pb2_grpc

from rampart.engine.fake_outputs import FakeCloud
from rampart.engine.recorder import FIRST_PREVIEW, Recording, RecordingEngine, RecordingMocks, RecordingMonitor

START_TIMEOUT_SECONDS = 30


class _MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """The recording monitor behind the real gRPC service (its methods take and return the same messages)."""

    def __init__(self, monitor: RecordingMonitor) -> None:
        self._monitor = monitor

    def SupportsFeature(self, request, context):  # noqa: N802 (gRPC method names)
        return resource_pb2.SupportsFeatureResponse(hasSupport=self._monitor.SupportsFeature(request).hasSupport)

    def GetDeploymentInfo(self, request, context):  # noqa: N802
        return self._monitor.GetDeploymentInfo(request)

    def Invoke(self, request, context):  # noqa: N802
        return self._monitor.Invoke(request)

    def ReadResource(self, request, context):  # noqa: N802
        return self._monitor.ReadResource(request)

    def RegisterResource(self, request, context):  # noqa: N802
        return self._monitor.RegisterResource(request)

    def RegisterResourceOutputs(self, request, context):  # noqa: N802
        return self._monitor.RegisterResourceOutputs(request)

    def RegisterPackage(self, request, context):  # noqa: N802
        return self._monitor.RegisterPackage(request)

    def RegisterResourceHook(self, request, context):  # noqa: N802
        return empty_pb2.Empty()

    def SignalAndWaitForShutdown(self, request, context):  # noqa: N802
        return empty_pb2.Empty()


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    def __init__(self, engine: RecordingEngine) -> None:
        self._engine = engine

    def Log(self, request, context):  # noqa: N802
        self._engine.Log(request)
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):  # noqa: N802
        return engine_pb2.GetRootResourceResponse()

    def SetRootResource(self, request, context):  # noqa: N802
        return engine_pb2.SetRootResourceResponse()


@contextlib.contextmanager
def recording_engine(project: str, stack: str, region: str = "us-east-1") -> Iterator[tuple[str, Recording]]:
    """An engine + resource monitor gRPC server on one loopback port: (its address, what it records)."""
    recording = Recording(project=project, stack=stack)
    monitor = RecordingMonitor(RecordingMocks(FakeCloud(region=region), FIRST_PREVIEW), recording)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorServicer(monitor), server)
    engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(RecordingEngine(recording)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", recording
    finally:
        server.stop(grace=None)


@dataclass
class RunningProvider:
    process: subprocess.Popen
    channel: grpc.Channel
    stub: provider_pb2_grpc.ResourceProviderStub
    stderr: list[bytes]
    engine_address: str
    """Where the engine and resource monitor it calls back listen (a Construct request's monitorEndpoint)."""


@contextlib.contextmanager
def running_provider(plugin_dir: Path, engine_address: str, cwd: Path) -> Iterator[RunningProvider]:
    """`python <plugin_dir> <engine address>` (what the Python language host runs for a plugin directory with a
    __main__.py), connected once it has printed its port."""
    process = subprocess.Popen(
        [sys.executable, str(plugin_dir), engine_address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.extend(iter(process.stderr.readline, b"")), daemon=True)
    reader.start()
    try:
        port = _read_port(process, stderr)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_SECONDS)
        with channel:
            yield RunningProvider(
                process, channel, provider_pb2_grpc.ResourceProviderStub(channel), stderr, engine_address
            )
    finally:
        process.kill()
        process.wait(timeout=10)
        reader.join(timeout=5)
        for stream in (process.stdout, process.stderr):
            stream.close()


def _read_port(process: subprocess.Popen, stderr: list[bytes]) -> int:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline, line = time.monotonic() + START_TIMEOUT_SECONDS, b""
    while time.monotonic() < deadline and not line.endswith(b"\n") and process.poll() is None:
        if selector.select(timeout=0.1):
            chunk = os.read(process.stdout.fileno(), 64)
            if not chunk:
                break
            line += chunk
    selector.close()
    if not line.strip().isdigit():
        time.sleep(0.2)
        raise AssertionError(f"provider printed no port ({line!r}); stderr: {b''.join(stderr).decode()[-2000:]}")
    return int(line)
