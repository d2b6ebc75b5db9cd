"""Per-resource costs of the Pulumi SDK that only matter offline, replaced for the length of one recorded run.

Under the real engine these hide behind cloud latency; under the mock runtime they are the bill (bench/README
figures). Each replacement keeps what the recorder reads and the SDK's contract for it; `installed()` puts the
originals back on exit, and an SDK without the replaced function is simply left alone.
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import sys
from collections.abc import Iterator
from types import FrameType

from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2

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


@contextlib.contextmanager
def installed() -> Iterator[None]:
    original = getattr(pulumi_resource, "_get_stack_trace", None)
    if original is not None:
        pulumi_resource._get_stack_trace = program_stack_trace
    try:
        yield
    finally:
        if original is not None:
            pulumi_resource._get_stack_trace = original
