"""Run a Pulumi Python program under Pulumi's own mock runtime and keep every registration whole.

The SDK's `MockMonitor` only keeps URN, id and state. `RecordingMonitor` keeps the whole `RegisterResource`
request (type, name, parent, dependencies, property dependencies, protect, ignoreChanges, deleteBeforeReplace,
aliases, custom timeouts, and the inputs as the raw protobuf Struct with secrets still wrapped), which is
what the policy pack needs and what component tests assert on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import engine_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack

from rampart.engine import sdk_answers, sdk_inline, sdk_outputs, sdk_shortcuts, sdk_speedups
from rampart.engine.fake_outputs import FakeCloud
from rampart.engine.values import (
    RESOURCE_REF_SIG,
    SECRET_SIG,
    SECRET_SIG_KEY,
    UNKNOWN,
    Registration,
    contains_secret,
    provider_inputs,
    redact_secrets,
    struct_to_python,
    unwrap_secrets,
)

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"

# How the program runs. Both are a preview (`is_dry_run()` is true, `apply` over an unknown does not run):
FIRST_PREVIEW = "first-preview"
"""`pulumi preview` of a new stack: what a provider computes at create time (ids, ARNs, DNS names, endpoints)
is unknown; inputs, autonames, region and tags are known (fake_outputs.FakeCloud.new_resource_preview)."""
ASSUME_EXISTING = "assume-existing"
"""`pulumi preview` of a stack whose resources already exist: every output the fake cloud computes is known."""
MODES = (FIRST_PREVIEW, ASSUME_EXISTING)


@dataclass(frozen=True)
class LogRecord:
    severity: str
    message: str
    urn: str


@dataclass(frozen=True)
class OpaqueResource:
    """A resource the engine cannot see into: a remote (multi-language) component, whose children its own
    provider creates, or a stack reference, whose outputs another stack holds."""

    urn: str
    type: str
    name: str
    kind: str
    """"remote component" or "stack reference"."""


@dataclass
class Recording:
    """Everything a program run produced."""

    project: str
    stack: str
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    """Stack exports, secrets still wrapped."""
    logs: list[LogRecord] = field(default_factory=list)
    opaque: list[OpaqueResource] = field(default_factory=list)
    """Remote components and stack references: their outputs are unknown and what is inside is not checked."""

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registration:
        found = [r for r in self.by_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.by_type(type_token)]
            raise LookupError(f"expected exactly one {type_token} named {name!r}, found {names}")
        return found[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.registrations if r.parent == urn]


def _secret_outputs(state: dict, secret_names: Any) -> dict:
    """The outputs a resource lists in `additional_secret_outputs` (an access key's `secret`) as secrets, as the
    engine returns them: the SDK's mocks return them plain, and whatever a program built from one would not be
    marked secret."""
    for name in secret_names:
        value = state.get(name)
        if name in state and not (isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG):
            state[name] = {SECRET_SIG_KEY: SECRET_SIG, "value": value}
    return state


class RecordingMocks(pulumi_mocks.Mocks):
    """Deterministic provider answers so the whole program runs: ids, ARNs and the computed outputs programs
    commonly read (see fake_outputs)."""

    def __init__(self, cloud: FakeCloud, mode: str = FIRST_PREVIEW) -> None:
        self.cloud = cloud
        self.mode = mode
        self.registering = threading.local()
        """`.request`: the RegisterResource request being answered on this thread (RecordingMonitor sets it)."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if any(map(_holds_resource, inputs.values())):
            # The SDK's mock rehydrates a resource reference (`role=role`) as a resource object whose outputs are
            # still pending on the program's loop; echoed back, they could not be serialised. The engine hands a
            # provider that takes no references the resource's id instead: so does this one.
            registering = getattr(self.registering, "request", None)
            if registering is not None:
                inputs = {**inputs, **{k: v for k, v in provider_inputs(registering.object).items()
                                       if _holds_resource(inputs.get(k))}}
        if args.typ == STACK_REFERENCE_TYPE:
            # Another stack's outputs: never known offline. Left out of the state, they resolve as unknown.
            return args.resource_id or args.name, {"name": inputs.get("name")}
        # A read (`.get`) or an import names a resource that exists, whose state a real preview knows.
        if self.mode == FIRST_PREVIEW and not args.resource_id:
            resource_id, state = self.cloud.new_resource_preview(args.typ, args.name, inputs)
        else:
            resource_id, state = self.cloud.new_resource(args.typ, args.name, inputs)
        registering = getattr(self.registering, "request", None)
        return resource_id, _secret_outputs(state, registering.additionalSecretOutputs if registering else ())


    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        # Shapes come from the SDK's result types (see invokes); what the engine cannot answer fails the
        # invoke with a message naming it (the SDK raises it at the program's call), rather than `{}`.
        from rampart.engine import invokes

        try:
            return invokes.answer(args.token, dict(args.args), self.cloud), []
        except (invokes.UnanswerableInvoke, invokes.policy_document.PolicyDocumentError) as error:
            return {}, [("", str(error))]


def _holds_resource(value: Any) -> bool:
    if isinstance(value, pulumi.Resource):
        return True
    if isinstance(value, dict):
        return any(map(_holds_resource, value.values()))
    return isinstance(value, list) and any(map(_holds_resource, value))


def _declaring_position(request: Any) -> dict[str, Any]:
    """The SDK's `sourcePosition` (the frame that called the resource's constructor) as a path and line. When a
    library declared the resource (the position is in site-packages), the first frame of the SDK's captured stack
    outside it: the program's line that led there."""
    positions = [request.sourcePosition, *(frame.pc for frame in request.stackTrace.frames)]
    for position in positions:
        path = _program_file(position.uri)
        if path is not None and position.line:
            return {"source_file": path, "source_line": int(position.line)}
    return {}


@functools.lru_cache(maxsize=4096)
def _program_file(uri: str) -> str | None:
    """The local path a position's `file://` URI names, unless it is in site-packages (a program declares its
    resources from a few files, so each is parsed once, not once a resource)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or "site-packages" in parsed.path:
        return None
    return url2pathname(parsed.path)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: RecordingMocks, recording: Recording,
                 on_registration: Callable[[Registration], None] | None = None) -> None:
        super().__init__(mocks)
        self.recording = recording
        self._lock = threading.Lock()
        self._ids_by_urn: dict[str, str] = {}
        self._on_registration = on_registration

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: children of the root stack are not qualified by it; other children carry
        # their parent's whole qualified type chain.
        qualified = type_
        if parent and parent.split("::")[2] != STACK_TYPE:
            qualified = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{self.recording.stack}::{self.recording.project}::{qualified}::{name}"

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """The URN an alias resolves to, as the engine resolves it: a spec's unset fields default to the
        resource's own name, type, parent, stack and project."""
        if alias.urn:
            return alias.urn
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        urn = self.make_urn(parent, spec.type or request.type, spec.name or request.name)
        _, _, qualified, name = urn.split("::", 3)
        stack = spec.stack or self.recording.stack
        project = spec.project or self.recording.project
        return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"

    def _register_remote(self, request: Any) -> Any:
        """A remote component is constructed by its own provider, which the engine cannot run: no children, and
        no outputs (the SDK resolves outputs left out of the response as unknown), never its inputs echoed."""
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, "", {})
        with self._lock:
            self.recording.opaque.append(OpaqueResource(urn, request.type, request.name, "remote component"))
        return resource_pb2.RegisterResourceResponse(urn=urn)

    def ReadResource(self, request):  # noqa: N802
        response = super().ReadResource(request)
        # The SDK's mock leaves the id out, which a preview takes for unknown; a read names an existing resource.
        if not getattr(response, "id", "x"):  # (older SDKs' responses have no id field)
            response.id = request.id
        if request.type == STACK_REFERENCE_TYPE:
            with self._lock:
                self.recording.opaque.append(
                    OpaqueResource(response.urn, request.type, request.name, "stack reference"))
        return response

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        sdk_answers.take_last()  # nothing left over from an earlier call is taken for this one's answer
        self.mocks.registering.request = request
        try:
            with sdk_answers.answering_registration():
                response = self._register_remote(request) if request.remote else super().RegisterResource(request)
        finally:
            self.mocks.registering.request = None
        unmade, answer = sdk_answers.take_unmade(), sdk_answers.take_last()
        answer = unmade if unmade is not None else answer
        if answer is not None:
            response = sdk_answers.AnsweredResponse(response, answer)
        if request.type == STACK_TYPE:
            return response
        with self._lock:
            self._ids_by_urn[response.urn] = response.id
        timeouts = request.customTimeouts
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            dependencies=tuple(request.dependencies),
            property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
            protect=bool(request.protect),
            ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            retain_on_delete=bool(request.retainOnDelete),
            aliases=tuple(self._alias_urn(request, a) for a in request.aliases),
            custom_timeouts={
                k: v for k, v in (("create", timeouts.create), ("update", timeouts.update),
                                  ("delete", timeouts.delete)) if v
            },
            provider=request.provider,
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            replace_on_changes=tuple(request.replaceOnChanges),
            inputs=struct_to_python(request.object, self._ids_by_urn),
            id=response.id,
            **_declaring_position(request),
        )
        with self._lock:
            self.recording.registrations.append(registration)
            if self._on_registration is not None:
                self._on_registration(registration)
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.split("::")[-2:-1] == [STACK_TYPE]:
            with self._lock:
                self.recording.outputs = struct_to_python(request.outputs, self._ids_by_urn)
        return super().RegisterResourceOutputs(request)


class RecordingEngine:
    """Stands in for the engine's log service: keeps program log lines (pulumi.log.*) in the recording."""

    _SEVERITIES: Mapping[int, str] = {
        engine_pb2.DEBUG: "debug",
        engine_pb2.INFO: "info",
        engine_pb2.WARNING: "warning",
        engine_pb2.ERROR: "error",
    }

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def Log(self, request):  # noqa: N802
        if request.severity == engine_pb2.DEBUG:
            return  # the SDK's own chatter, not the program's
        self.recording.logs.append(
            LogRecord(self._SEVERITIES.get(request.severity, "info"), request.message, request.urn)
        )

    def SetRootResource(self, request):  # noqa: N802
        return engine_pb2.SetRootResourceResponse()

    def GetRootResource(self, request):  # noqa: N802
        return engine_pb2.GetRootResourceResponse()


def record(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: tuple[str, ...] = (),
    organization: str = "organization",
    cloud: FakeCloud | None = None,
    mode: str = FIRST_PREVIEW,
    on_registration: Callable[[Registration], None] | None = None,
) -> Recording:
    """Run `program` as `pulumi preview` of `project`/`stack` runs it and return everything it registered.

    `mode` is FIRST_PREVIEW (a new stack: computed outputs unknown) or ASSUME_EXISTING (every fake output known).
    `on_registration` sees each registration as it is recorded, in order (the worker streams them to the pack).
    Exceptions raised by the program propagate unchanged, after the runtime has been shut down cleanly.
    """
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    recording = Recording(project=project, stack=stack)
    cloud = cloud or FakeCloud(region=(config or {}).get("aws:region", "us-east-1"))
    mocks = RecordingMocks(cloud, mode)
    monitor = RecordingMonitor(mocks, recording, on_registration)
    set_all_config(dict(config or {}), list(secret_keys))
    pulumi_settings.ROOT.set(None)
    features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
    pulumi_settings.configure(
        pulumi_mocks.MockSettings(
            monitor=monitor,
            monitor_features=features,
            engine=RecordingEngine(recording),
            project=project,
            stack=stack,
            dry_run=True,
            organization=organization,
            callbacks=None,
        )
    )
    # Output tasks and RPCs live in the SDK's ambient settings, not in the settings bag `configure` copies: left
    # over from anything that ran before (another stack in this process, a test), they belong to a closed loop and
    # the run would wait on them forever. Each recording starts with none.
    pulumi_settings.SETTINGS.outputs = set()
    pulumi_settings.SETTINGS.rpc_manager = type(pulumi_settings.SETTINGS.rpc_manager)()
    with sdk_speedups.fresh_event_loop() as loop, sdk_speedups.linear_quiescence(), sdk_speedups.installed(), \
            sdk_shortcuts.installed(), sdk_outputs.installed(), sdk_inline.inline_monitor_calls(loop), \
            sdk_answers.installed():
        loop.run_until_complete(run_in_stack(program))
    return recording


__all__ = [
    "Recording",
    "Registration",
    "LogRecord",
    "OpaqueResource",
    "FIRST_PREVIEW",
    "ASSUME_EXISTING",
    "record",
    "redact_secrets",
    "unwrap_secrets",
    "contains_secret",
    "UNKNOWN",
    "SECRET_SIG",
    "SECRET_SIG_KEY",
    "RESOURCE_REF_SIG",
]
