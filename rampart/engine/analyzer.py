"""Drive a policy pack as the Pulumi CLI does: a subprocess running `pulumi.policy`'s own `__main__`, then the
Analyzer protocol (GetAnalyzerInfo, Configure, Analyze per resource, AnalyzeStack once).

The calls travel over two pipes to the pack's own servicer (rampart/engine/pack_host.py: the same messages and
generated handlers, a fifth of gRPC's CPU per call), or over gRPC as the CLI does with
`RAMPART_PACK_TRANSPORT=grpc` or when the pack serves its Analyzer some other way (then it prints a port)."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from rampart.engine import pack_start, warm
from rampart.engine.analyzer_messages import (
    _ENFORCEMENT_NAMES,
    _ENFORCEMENT_VALUES,
    _SEVERITY_NAMES,
    _analyze_request,
    _analyzer_resource,
    _diagnostic,
    _options,  # noqa: F401 (tests/policies/test_speedups.py and bench/bench_pack.py import them from here)
    _resource_fields,
    _to_struct,  # noqa: F401
)
from rampart.engine.pack_info import DEFAULT_POLICY_TIMEOUT_SECONDS, Diagnostic, PackInfo, PolicyMetadata
from rampart.engine.pack_pipe import PIPE_READY, PipeChannel, start_failure
from rampart.engine.recorder import Registration
from rampart.errors import UsageError

STARTUP_TIMEOUT_SECONDS = 60.0
# A frame as faulthandler (`line 12 in name`) or a traceback (`line 12, in name`) prints it.
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+),? in (?P<name>[A-Za-z_][A-Za-z0-9_<>]*)')
# What guardrails.adapter.PolicyRaised puts in a gRPC error's details; nothing else of the details is shown (a
# policy's own exception message may quote a secret input).
_RAISED = re.compile(r"policy '(?P<policy>[A-Za-z0-9_.:-]+)' raised (?P<type>[A-Za-z_][A-Za-z0-9_.]*) at "
                     r"(?P<where>[^\s:]+:\d+|an unknown line)")
_STDERR_KEPT_BYTES = 256 * 1024


@dataclass
class PolicyPackProcess:
    """A running policy pack. Use as a context manager; the process is always stopped on exit."""

    pack_dir: Path
    project: str = "project"
    stack: str = "stack"
    python: str = sys.executable
    call_timeout: float = DEFAULT_POLICY_TIMEOUT_SECONDS
    launched: pack_start.Launched | None = None
    """The pack's process when `rampart check` started it already (pack_start.launch), else started here."""
    _process: subprocess.Popen[bytes] | warm.RemoteProcess | None = field(default=None, init=False)
    _channel: grpc.Channel | PipeChannel | None = field(default=None, init=False)
    _pipe_ends: tuple[int, ...] | None = field(default=None, init=False)
    """The engine's ends of the pipes to pack_host (requests written, responses read), until a channel owns them."""
    _stub: analyzer_pb2_grpc.AnalyzerStub | None = field(default=None, init=False)
    _info: PackInfo | None = field(default=None, init=False)
    _stderr_tail: bytearray = field(default_factory=bytearray, init=False)
    _stderr_reader: threading.Thread | None = field(default=None, init=False)
    _stack_request: analyzer_pb2.AnalyzeStackRequest = field(default_factory=analyzer_pb2.AnalyzeStackRequest,
                                                             init=False)
    """AnalyzeStack's request, a resource added for each registration analyze_all sent (from its Analyze request)."""
    _stack_sent: list[Registration] = field(default_factory=list, init=False)
    """The registrations in `_stack_request`, in its order."""

    def __enter__(self) -> PolicyPackProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        launched, self.launched = self.launched, None
        launched = launched or pack_start.launch(self.pack_dir, self.python, self.project, self.stack)
        self._process, self._pipe_ends = launched.process, launched.pipe_ends
        # Read while it runs: a pack that writes more than the pipe holds (64 KiB) would block mid-policy.
        self._stderr_reader = threading.Thread(target=self._keep_stderr, name="pack-stderr", daemon=True)
        self._stderr_reader.start()
        ready = self._read_port()
        if ready == PIPE_READY and self._pipe_ends is not None:
            self._channel = PipeChannel(*self._pipe_ends)
            self._pipe_ends = None
        else:
            self._close_pipe_ends()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{ready}")
            grpc.channel_ready_future(self._channel).result(timeout=STARTUP_TIMEOUT_SECONDS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)

    def _close_pipe_ends(self) -> None:
        for fd in self._pipe_ends or ():
            os.close(fd)
        self._pipe_ends = None

    def _read_port(self) -> str:
        """The pack's first line: its gRPC port, or pack_host's PIPE_READY."""
        assert self._process is not None and self._process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            if not selector.select(timeout=0.1):
                if self._process.poll() is not None:
                    break
                continue
            chunk = os.read(self._process.stdout.fileno(), 64)
            if not chunk:
                break
            line += chunk
        selector.close()
        text = line.decode(errors="replace").strip()
        if text.isdigit() or (text == PIPE_READY and self._pipe_ends is not None):
            return text
        with contextlib.suppress(subprocess.TimeoutExpired):  # it closed stdout: give it a moment to exit
            self._process.wait(timeout=2)
        code = self._process.poll()
        stderr = self._drain_stderr()
        self.stop()
        raise UsageError(
            f"policy pack {self.pack_dir} did not start (expected it to print its gRPC port, or under "
            "rampart's host that it is ready): "
            f"{start_failure(stderr, text, code, str(self.pack_dir.resolve()))}"
        )

    def _keep_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        stream = self._process.stderr
        while chunk := stream.read1(65536):
            self._stderr_tail += chunk
            del self._stderr_tail[:-_STDERR_KEPT_BYTES]  # the end is what names the failure

    def _drain_stderr(self) -> str:
        """Stop the pack; everything it wrote to stderr (the last 256 KiB)."""
        if self._process is None:
            return ""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._stderr_reader is not None:
            self._stderr_reader.join(timeout=5)
        return self._stderr_tail.decode(errors="replace").strip()

    def stop(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()  # a pipe host ends its loop at once
        self._close_pipe_ends()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            if self._stderr_reader is not None:
                self._stderr_reader.join(timeout=5)  # it ends at EOF, now that the pack has exited
            if isinstance(channel, PipeChannel):
                channel.join(timeout=5)
            for stream in (self._process.stdout, self._process.stderr):
                if stream is not None:
                    stream.close()
            if isinstance(self._process, warm.RemoteProcess):
                self._process.close()
            self._process = None

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            raise RuntimeError("policy pack not started")
        return self._stub

    def _call(self, method: str, request: Any, doing: str) -> Any:
        """One analyzer call, bounded by `call_timeout`; a hang or a crash in the pack is one message naming the
        call, what it was analysing and the policy function that was running (never a traceback)."""
        try:
            return getattr(self.stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as exc:
            self._failed(method, doing, exc)

    def _failed(self, method: str, doing: str, exc: grpc.RpcError) -> NoReturn:
        """A failed call as one message: a hang or a crash in the pack names the call, what it was analysing and
        the policy function that was running (never a traceback)."""
        hung = exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
        raised = None if hung else _RAISED.search(exc.details() or "")  # type: ignore[attr-defined]
        ended = self._exit_code() if exc.code() == grpc.StatusCode.UNAVAILABLE else None  # type: ignore[attr-defined]
        where = (f"policy {raised['policy']} ({raised['type']} at {raised['where']})" if raised
                 else self._policy_frame(dump_stacks=hung))
        if hung:
            raise UsageError(
                f"policy pack {self.pack_dir}: {method} ({doing}) did not answer within {self.call_timeout:g}s "
                f"(--policy-timeout); it was running {where}; expected every policy to return"
            ) from None
        if ended is not None:
            raise UsageError(
                f"policy pack {self.pack_dir}: {method} ({doing}) failed: the pack's process ended with exit code "
                f"{ended} while running {where}; expected the pack to run until the check ends"
            ) from None
        raise UsageError(
            f"policy pack {self.pack_dir}: {method} ({doing}) failed in {where}; expected the pack's policies "
            "to return without raising (run the pack's tests)"
        ) from None

    def _exit_code(self) -> int | None:
        """The pack's exit code, once a call found it gone (it may still be closing down)."""
        if self._process is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=2)
        return self._process.poll()

    def _policy_frame(self, dump_stacks: bool) -> str:
        """The innermost frame inside the pack directory, from the pack's stderr (the traceback grpc logs for a
        raising policy; faulthandler's stack dump, on SIGABRT, for a hung one). Stops the pack."""
        if dump_stacks and self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
        stderr = self._drain_stderr()
        self.stop()
        pack_dir = str(self.pack_dir.resolve())
        frames = [m for m in _FRAME.finditer(stderr) if m["file"].startswith(pack_dir)]
        if not frames:
            return "an unknown policy (the pack printed no frame of its own)"
        # faulthandler prints the innermost frame first, a traceback last.
        frame = frames[0] if dump_stacks else frames[-1]
        file = os.path.relpath(frame["file"], pack_dir)
        return f"policy function {frame['name']} ({file}:{frame['line']})"

    # Protocol -------------------------------------------------------------------------------------------
    def _cached_info(self) -> PackInfo:
        if self._info is None:
            self._info = self.info()
        return self._info

    def info(self) -> PackInfo:
        response = self._call("GetAnalyzerInfo", empty_pb2.Empty(), "describing the pack")
        policies = {}
        for policy in response.policies:
            schema = {}
            if policy.HasField("configSchema"):
                schema = {
                    "properties": json_format.MessageToDict(policy.configSchema.properties),
                    "required": list(policy.configSchema.required),
                }
            policies[policy.name] = PolicyMetadata(
                name=policy.name,
                description=policy.description,
                enforcement=_ENFORCEMENT_NAMES.get(policy.enforcementLevel, "advisory"),
                severity=_SEVERITY_NAMES.get(policy.severity, "unspecified"),
                framework_name=policy.framework.name,
                framework_reference=policy.framework.reference,
                remediation=policy.remediation_steps,
                url=policy.url,
                tags=tuple(policy.tags),
                config_schema=schema,
            )
        return PackInfo(name=response.name, version=response.version, policies=policies)

    def configure(self, policy_config: Mapping[str, Any]) -> dict[str, str]:
        """Send the stack's pack config (the `--policy-pack-config` file format); returns every policy's
        effective enforcement level.

        As the CLI does, an entry without `enforcementLevel` keeps the policy's own level (protobuf's zero
        value would otherwise silently mean ADVISORY); `all` sets the level of every policy."""
        declared = {name: meta.enforcement for name, meta in self._cached_info().policies.items()}
        every = policy_config.get("all") if isinstance(policy_config.get("all"), str) else None
        entries = {}
        for name, value in policy_config.items():
            enforcement = None
            properties: dict[str, Any] = {}
            if isinstance(value, str):
                enforcement = value
            elif isinstance(value, Mapping):
                enforcement = value.get("enforcementLevel")
                properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
            if name == "all":
                continue
            enforcement = enforcement or every or declared.get(name, "advisory")
            struct = struct_pb2.Struct()
            struct.update(properties)
            entries[name] = analyzer_pb2.PolicyConfig(
                enforcementLevel=_ENFORCEMENT_VALUES[enforcement], properties=struct
            )
        if every:
            for name in declared:
                entries.setdefault(name, analyzer_pb2.PolicyConfig(enforcementLevel=_ENFORCEMENT_VALUES[every]))
        self._call("Configure", analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=entries),
                   f"configuring stack {self.stack}")
        return {name: _ENFORCEMENT_NAMES[entries[name].enforcementLevel] if name in entries else level
                for name, level in declared.items()}

    def analyze(self, registration: Registration) -> list[Diagnostic]:
        response = self._call("Analyze", _analyze_request(registration),
                              f"analysing {registration.type} {registration.name!r} of stack {self.stack}")
        return [_diagnostic(d, registration.urn) for d in response.diagnostics]

    def analyze_all(self, registrations: Sequence[Registration], window: int = 16) -> list[Diagnostic]:
        """`analyze` for every registration, pipelined: up to `window` requests in flight, so building and sending
        the next request overlaps the pack's work on the previous one instead of waiting a round trip each. The
        pack answers them one at a time (policies/guardrails/speedups.py); diagnostics come back in order."""
        pending: collections.deque[tuple[Registration, Any]] = collections.deque()
        diagnostics: list[Diagnostic] = []

        def collect() -> None:
            registration, future = pending.popleft()
            try:
                response = future.result()
            except grpc.RpcError as exc:
                for _, other in pending:
                    other.cancel()
                self._failed("Analyze", exc=exc, doing=f"analysing {registration.type} {registration.name!r} "
                             f"of stack {self.stack}")
            diagnostics.extend(_diagnostic(d, registration.urn) for d in response.diagnostics)

        self._take_stack_request()  # another stack's, or one whose program failed
        for registration in registrations:
            request = _analyze_request(registration)
            pending.append((registration, self.stub.Analyze.future(request, timeout=self.call_timeout)))
            # For AnalyzeStack, copied from the request while the pack is busy: at the end of the program converting
            # every resource's inputs again would be on the clock.
            self._stack_request.resources.add(**_resource_fields(registration, request))
            self._stack_sent.append(registration)
            if len(pending) >= window:
                collect()
        while pending:
            collect()
        return diagnostics

    def analyze_stack(self, registrations: Sequence[Registration]) -> list[Diagnostic]:
        return self.start_analyze_stack(registrations)()

    def start_analyze_stack(self, registrations: Sequence[Registration]) -> Callable[[], list[Diagnostic]]:
        """Send AnalyzeStack; returns what waits for its diagnostics, so the caller can work while the pack does.
        The request analyze_all built is sent as it is when it holds exactly these registrations; otherwise each
        resource it holds is reused and the others are built."""
        sent, built = self._take_stack_request()
        if len(sent) != len(registrations) or any(a is not b for a, b in zip(sent, registrations, strict=True)):
            position = {id(r): index for index, r in enumerate(sent)}
            request = analyzer_pb2.AnalyzeStackRequest()
            for r in registrations:
                index = position.get(id(r))
                request.resources.append(built.resources[index] if index is not None else _analyzer_resource(r))
            built = request
        doing = f"analysing stack {self.stack} ({len(registrations)} resources)"
        future = self.stub.AnalyzeStack.future(built, timeout=self.call_timeout)

        def diagnostics() -> list[Diagnostic]:
            try:
                response = future.result()
            except grpc.RpcError as exc:
                self._failed("AnalyzeStack", doing, exc)
            return [_diagnostic(d, "") for d in response.diagnostics]

        return diagnostics

    def _take_stack_request(self) -> tuple[list[Registration], analyzer_pb2.AnalyzeStackRequest]:
        taken = self._stack_sent, self._stack_request
        self._stack_sent, self._stack_request = [], analyzer_pb2.AnalyzeStackRequest()
        return taken
