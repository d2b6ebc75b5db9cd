"""A program's failure, shown at the program's own line that led to it.

Much of a Pulumi program runs after its own code has returned: apply callbacks and resource registrations run as
tasks on the event loop, so their tracebacks start in the SDK and may never pass through the program's files.
Three sources give the program's line back, deepest wins:
- the traceback itself (plain code, the program's own callbacks, its helper modules);
- the stack the SDK captured when the failing resource was declared (`stack_trace`, a local of the SDK's
  `do_register`/`do_read` task that is still on the traceback), e.g. an argument the SDK rejects while
  serialising it;
- the line that called `Output.apply` when the callback is not the program's own (`.apply(json.dumps)`): recorded
  by `remember_apply_callers`, which costs one short frame walk per `apply`, not a stack capture.
"""

from __future__ import annotations

import contextlib
import importlib
import linecache
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pulumi

from rampart.engine.stackfile import SECRET_PLACEHOLDER_PREFIX

_ORIGIN = "_rampart_apply_origin"
_SHOWN_FRAMES = 6
_CALLER_DEPTH = 12  # SDK sugar (Output.__getattr__, Output.all, ...) sits a few frames above the program
_PLACEHOLDER = re.compile(re.escape(SECRET_PLACEHOLDER_PREFIX) + r"[A-Za-z0-9_.\-\[\]]*")
_SECRET_WITHHELD = "[secret] (message withheld: the callback's input is a secret)"


@dataclass(frozen=True)
class ProgramFrame:
    file: str
    line: int
    function: str = ""


def _program_prefix(program_dir: Path) -> str:
    return str(program_dir).rstrip(os.sep) + os.sep


def _in_program(filename: str, prefix: str) -> bool:
    if not filename.startswith(prefix):
        return False
    parts = filename[len(prefix):].split(os.sep)
    return not {".venv", "venv", "site-packages"}.intersection(parts)


def _caller_in_program(prefix: str) -> ProgramFrame | None:
    frame = sys._getframe(2)  # noqa: SLF001 (the caller of Output.apply, without capturing a whole stack)
    for _ in range(_CALLER_DEPTH):
        if frame is None:
            return None
        code = frame.f_code
        if _in_program(code.co_filename, prefix):
            return ProgramFrame(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


def _remember_origin(exc: BaseException, origin: ProgramFrame) -> None:
    """The program line an exception is shown at, unless a deeper one (the innermost apply) was kept already."""
    if not hasattr(exc, _ORIGIN):
        with contextlib.suppress(AttributeError):  # an exception type with __slots__
            setattr(exc, _ORIGIN, origin)


def remember_apply_callers(program_dir: Path) -> None:
    """Make every `Output.apply` callback's failure carry the program line that called `apply` (worker only)."""
    prefix = _program_prefix(program_dir)
    # Stacks run one after another in one process where fork is missing: wrap the SDK's apply, never a wrapper.
    original = getattr(pulumi.Output.apply, "__wrapped__", pulumi.Output.apply)

    def apply(self: pulumi.Output, func: Callable[[Any], Any], *args: Any, **kwargs: Any) -> pulumi.Output:
        origin = _caller_in_program(prefix)
        if origin is None:
            return original(self, func, *args, **kwargs)

        def remembering(value: Any) -> Any:
            try:
                return func(value)
            except Exception as exc:
                _remember_origin(exc, origin)
                raise

        return original(self, remembering, *args, **kwargs)

    apply.__wrapped__ = original  # type: ignore[attr-defined]
    pulumi.Output.apply = apply  # type: ignore[method-assign]


def remember_invoke_callers(program_dir: Path) -> None:
    """Make an invoke's failure carry the program line that called the data source (worker only). The SDK turns an
    invoke's answer into its result type inside an RPC task, whose traceback never reaches the program."""
    # The module, not the `invoke` function `pulumi.runtime` exports under the same name.
    pulumi_invoke = importlib.import_module("pulumi.runtime.invoke")
    prefix = _program_prefix(program_dir)
    original = getattr(pulumi_invoke, "_invoke", None)
    if original is None:
        return  # an SDK without the seam: its invoke failures keep the line their traceback gives
    original = getattr(original, "__wrapped__", original)

    def _invoke(*args: Any, **kwargs: Any) -> Any:
        origin = _caller_in_program(prefix)
        awaitable = original(*args, **kwargs)
        if origin is None:
            return awaitable

        async def remembering() -> Any:
            try:
                return await awaitable
            except Exception as exc:
                _remember_origin(exc, origin)
                raise

        return remembering()

    _invoke.__wrapped__ = original  # type: ignore[attr-defined]
    pulumi_invoke._invoke = _invoke  # noqa: SLF001


def _uri_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else ""


def _declared_at(frame: Any, prefix: str) -> list[ProgramFrame]:
    """The program's frames of the stack the SDK captured when the resource of this task was declared."""
    if frame.f_code.co_name not in {"do_register", "do_read"}:
        return []
    scope = frame.f_locals
    captured = scope.get("stack_trace")
    positions = [f.pc for f in reversed(captured.frames)] if getattr(captured, "frames", None) else []
    if not positions and scope.get("source_position") is not None:
        positions = [scope["source_position"]]
    found = []
    for position in positions:
        path = _uri_path(position.uri)
        if _in_program(path, prefix):
            found.append(ProgramFrame(path, position.line))
    return found


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def program_frames(exc: BaseException, program_dir: Path) -> list[ProgramFrame]:
    """The program's frames that led to `exc`, outermost first. An exception raised while handling another is
    placed by its own traceback; its cause is consulted only when that traceback never reaches the program."""
    prefix = _program_prefix(program_dir)
    for error in _chain(exc):
        origin = getattr(error, _ORIGIN, None)
        frames = [origin] if isinstance(origin, ProgramFrame) else []
        tb = error.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if _in_program(code.co_filename, prefix):
                frames.append(ProgramFrame(code.co_filename, tb.tb_lineno, code.co_name))
            else:
                frames.extend(_declared_at(tb.tb_frame, prefix))
            tb = tb.tb_next
        if frames:
            # One line shown once: the apply call site and its lambda on the same line keep the lambda (deeper).
            return [f for f, after in zip(frames, [*frames[1:], None], strict=True)
                    if after is None or (f.file, f.line) != (after.file, after.line)]
    return []


def _secret_callback_input(exc: BaseException) -> bool:
    """True when the exception escaped an apply callback whose input was secret: its message may quote it."""
    suffix = os.sep + os.path.join("pulumi", "output.py")
    for error in _chain(exc):
        tb = error.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_name == "run" and code.co_filename.endswith(suffix) and tb.tb_frame.f_locals.get("is_secret"):
                return True
            tb = tb.tb_next
    return False


def _raised_in(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "no line of the program's own files led to it"
    module = tb.tb_frame.f_globals.get("__name__", "?")
    return f"raised in {module}, line {tb.tb_lineno}; no line of the program's own files led to it"


def describe(exc: BaseException, program_dir: Path, stack_file: str) -> str:
    """`the program failed for <stack file> at <file>:<line>: <Type>: <message>`, then the program's frames with
    their source lines. Secret placeholders never appear; a message computed from a secret is withheld."""
    message = _SECRET_WITHHELD if _secret_callback_input(exc) else _PLACEHOLDER.sub("[secret]", str(exc))
    frames = program_frames(exc, program_dir)
    if not frames:
        return f"the program failed for {stack_file}: {type(exc).__name__}: {message}\n  ({_raised_in(exc)})"

    def where(frame: ProgramFrame) -> str:
        return f"{Path(frame.file).relative_to(program_dir).as_posix()}:{frame.line}"

    lines = [f"the program failed for {stack_file} at {where(frames[-1])}: {type(exc).__name__}: {message}"]
    for frame in frames[-_SHOWN_FRAMES:]:
        source = linecache.getline(frame.file, frame.line).strip()
        lines.append(f"  {where(frame)}{' in ' + frame.function if frame.function else ''}: {source}")
    return "\n".join(lines)
