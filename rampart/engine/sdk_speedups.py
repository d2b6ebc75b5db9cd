"""Per-resource costs of the Pulumi SDK that only matter offline, replaced for the length of one recorded run.

Under the real engine these hide behind cloud latency; under the mock runtime they are the bill (bench/README
figures). Each replacement keeps what the recorder reads and the SDK's contract for it; `installed()` puts the
originals back on exit, and an SDK without the replaced function is simply left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import pathlib
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pulumi._types as pulumi_types
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime import sync_await
from pulumi.runtime.proto import source_pb2

from rampart.engine import sdk_answers, sdk_inline, sdk_outputs

_LIBRARY_MARKER = "site-packages"
"""What recorder._declaring_position skips to reach the program's own line (a library's frame)."""


@functools.lru_cache(maxsize=1024)
def _uri(filename: str) -> str | None:
    try:
        return pathlib.Path(filename).as_uri()
    except ValueError:  # a relative or synthetic name (`<string>`) is no position, as in the SDK
        return None


def _frame(frame: FrameType) -> source_pb2.StackFrame:
    uri = _uri(frame.f_code.co_filename) if frame.f_code.co_filename else None
    if uri is None or frame.f_lineno is None:
        return source_pb2.StackFrame()
    return source_pb2.StackFrame(pc=source_pb2.SourcePosition(uri=uri, line=frame.f_lineno))


def program_stack_trace() -> source_pb2.StackTrace:
    """The SDK's `_get_stack_trace`, cut short: the frame that called the resource's constructor (the SDK's
    `sourcePosition`), then, only when that frame is in a library, the callers up to the first frame outside
    one. The SDK formats the whole stack (every frame's file read for its source line) per resource; nothing
    here reads past the program's own frame.

    As in the SDK, the user's frame is the caller of the third `__init__` up the stack (Resource, then
    CustomResource or ComponentResource, then the concrete class)."""
    frame: FrameType | None = sys._getframe(1)
    inits = 0
    while frame is not None and inits < 3:
        if frame.f_code.co_name == "__init__":
            inits += 1
        frame = frame.f_back
    if frame is None:
        return source_pb2.StackTrace()
    frames = []
    while frame is not None:
        frames.append(_frame(frame))
        if _LIBRARY_MARKER not in frame.f_code.co_filename:
            break
        frame = frame.f_back
    return source_pb2.StackTrace(frames=frames)


class _Serialized:
    """What `serialize_properties` of plain values comes to, already made: `mock_sync_await` hands it back."""

    __slots__ = ("struct",)

    def __init__(self, struct: struct_pb2.Struct) -> None:
        self.struct = struct


def _plain(value: Any) -> bool:
    if value is None or type(value) in (str, bool, int, float):  # exactly: an Enum or other subclass is the SDK's
        return True
    if type(value) is list:
        return all(_plain(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    return False


def serialize_plain_properties(inputs: Any, property_deps: dict, *args: Any, **kwargs: Any) -> Any:
    """The SDK's `rpc.serialize_properties` as the mock monitor calls it (a provider's answer to a registration
    or an invoke: plain values, no types, no translation): the same Struct, made directly instead of through a
    coroutine per value and a pumped event loop on the monitor's thread. Anything else (an Output, a resource,
    an asset, an input type) goes to the SDK's own function."""
    if not args and not kwargs and type(inputs) is dict and _plain(inputs):
        if sdk_answers.leave_unmade(inputs):  # a registration's answer: read as itself (sdk_answers.UnmadeAnswer)
            return _Serialized(None)
        struct = sdk_answers.plain_struct(inputs)
        sdk_answers.remember(struct, inputs)
        return _Serialized(struct)
    return pulumi_rpc.serialize_properties(inputs, property_deps, *args, **kwargs)


def mock_sync_await(awaitable: Any) -> Any:
    if isinstance(awaitable, _Serialized):
        return awaitable.struct
    if asyncio.events._get_running_loop() is not None:  # called inline, on the recording loop's own thread
        return sdk_inline.serialize_off_loop(awaitable)
    return sync_await._sync_await(awaitable)


class _MockRpc:
    """`pulumi.runtime.rpc` as the mocks module sees it, but for `serialize_plain_properties`."""

    serialize_properties = staticmethod(serialize_plain_properties)

    def __getattr__(self, name: str) -> Any:
        return getattr(pulumi_rpc, name)


class _Ready:
    """An awaitable that is already done: awaiting it gives `value` without suspending."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Iterator[Any]:
        return self.value
        yield  # (a generator: `await` needs an iterator)


_SCALAR_TYPES = frozenset({str, bool, int, float, type(None)})


def _serialize_scalars_at_once(serialize_property: Any) -> Any:
    """The SDK's `rpc.serialize_property`, which every value of every input goes through (and every element of
    every list), answers a plain scalar with the scalar itself, after a dozen type checks (an ABC's among them)
    and a coroutine. Exactly such a value (an Enum or other subclass is the SDK's business) is answered here at
    once; everything else is the SDK's own coroutine, unchanged. Every caller in the SDK awaits the result."""

    def serialize(value: Any, *args: Any, **kwargs: Any) -> Any:
        if type(value) in _SCALAR_TYPES and not kwargs.get("return_protobuf_value"):
            return _Ready(value)
        return serialize_property(value, *args, **kwargs)

    return serialize


def _memoised_unwrap_type(unwrap_type: Any) -> Any:
    """`_types.unwrap_type` (Output[T], Input[T], InputType[T], Optional[T] -> T), once per typing object: the SDK
    runs it for every value it serialises and every property it converts, on the same few hundred objects
    (typing caches each spelling as one object). Keyed by identity, not equality: a Union equals its reordering,
    and the SDK reads a Union's arguments by position."""
    memo: dict[int, tuple[Any, Any]] = {}  # id -> (the object, kept alive so its id is not reused; its result)

    def unwrap(val: Any) -> Any:
        entry = memo.get(id(val))
        if entry is not None and entry[0] is val:
            return entry[1]
        unwrapped = unwrap_type(val)
        memo[id(val)] = (val, unwrapped)
        return unwrapped

    return unwrap


@contextlib.contextmanager
def installed() -> Iterator[None]:
    original = getattr(pulumi_resource, "_get_stack_trace", None)
    if original is not None:
        pulumi_resource._get_stack_trace = program_stack_trace
    serialize_property = pulumi_rpc.serialize_property
    unwrap_type = pulumi_types.unwrap_type
    pulumi_types.unwrap_type = _memoised_unwrap_type(unwrap_type)
    pulumi_rpc.serialize_property = _serialize_scalars_at_once(serialize_property)
    # Only the mocks module's own names are replaced: the program's serialisation (its inputs, on the event loop)
    # is the SDK's, untouched. An SDK whose mocks module names them otherwise is left alone.
    mocks_names = {"rpc": _MockRpc(), "_sync_await": mock_sync_await}
    replaced = {name: getattr(pulumi_mocks, name) for name in mocks_names if hasattr(pulumi_mocks, name)}
    if len(replaced) == len(mocks_names):
        for name, value in mocks_names.items():
            setattr(pulumi_mocks, name, value)
    try:
        yield
    finally:
        pulumi_rpc.serialize_property = serialize_property
        pulumi_types.unwrap_type = unwrap_type
        if original is not None:
            pulumi_resource._get_stack_trace = original
        for name, value in replaced.items():
            setattr(pulumi_mocks, name, value)


@contextlib.contextmanager
def fresh_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop per run, closed in order (async generators, default executor) so nothing prints at exit."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def _wait_for_rpcs_linear(await_all_outstanding_tasks: bool = True) -> None:
    """pulumi.runtime.stack.wait_for_rpcs, waiting for all outstanding outputs at once (or until one fails).

    The SDK's version waits with FIRST_COMPLETED in a loop, which re-attaches a callback to every pending output
    on every completion: quadratic in the number of outputs (20 s of a 50-service stack's 25 s offline). Under
    the real engine that cost hides behind cloud latency; offline it is the whole bill. Same contract: every
    RPC and every output finishes, and the first failure is raised.
    """
    rpc_manager = pulumi_settings._get_rpc_manager()
    while True:
        while rpc_manager.rpcs:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    raise exn from rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        if await_all_outstanding_tasks:
            while True:
                with pulumi_settings.SETTINGS.lock:
                    # In creation order (sdk_outputs.OrderedOutputs): when several fail, the one raised (and so the
                    # program line the report names) is the earliest's, whatever the allocator did.
                    pending = list(pulumi_settings.SETTINGS.outputs)
                    pulumi_settings.SETTINGS.outputs.clear()
                if not pending:
                    break
                running = [task for task in pending if not task.done()]
                failed = _first_failure(pending)
                if running and failed is None:
                    # As the SDK raises the first failure it sees, not after every other output: one that never
                    # resolves (a program's own future) must not hold a failure back until --program-timeout.
                    await _wait_for_failure_or_all(running)
                    failed = _first_failure(pending)
                if failed is not None and not all(task.done() for task in pending):
                    await failed
                for task in pending:
                    await task
        if not rpc_manager.rpcs:
            break


def _first_failure(pending: list[asyncio.Future]) -> asyncio.Future | None:
    return next((task for task in pending if task.done() and not task.cancelled() and task.exception() is not None),
                None)


async def _wait_for_failure_or_all(running: list[asyncio.Future]) -> None:
    """`asyncio.wait(running, return_when=FIRST_EXCEPTION)`, with the property outputs among them (most of them:
    sdk_outputs.transfer_properties_direct) watched through one future that their resolvers settle, instead of a
    done-callback and a loop step each."""
    properties = sdk_outputs.PROPERTIES
    watched = [task for task in running if task not in properties.futures]
    settled = properties.settled() if len(watched) < len(running) else None
    if settled is not None:
        watched.append(settled)
    try:
        await asyncio.wait(watched, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        if settled is not None and settled.done() and not settled.cancelled():
            settled.exception()  # PropertyFailed only says when to look: the output's own failure is raised


@contextlib.contextmanager
def linear_quiescence() -> Iterator[None]:
    original = pulumi_stack.wait_for_rpcs
    pulumi_stack.wait_for_rpcs = _wait_for_rpcs_linear
    try:
        yield
    finally:
        pulumi_stack.wait_for_rpcs = original
