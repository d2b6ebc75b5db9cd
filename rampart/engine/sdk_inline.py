"""The SDK's calls to the resource monitor, answered on the event loop instead of through a thread pool.

The SDK hands every monitor call (RegisterResource, Invoke, RegisterResourceOutputs, log lines) to the loop's
default executor: under the real engine the call is a blocking gRPC round trip. Offline the monitor is in-process
and answers at once, so the hop to a thread and back (a self-pipe write per call, and the GIL passed twice) is most
of the call's cost. `inline_monitor_calls` runs the SDK's own calls in place and returns a finished future, which
the SDK awaits as before. Everything else submitted to the default executor (a program's own blocking work) still
goes to the thread pool.

A monitor call made inline must never wait on the loop it runs on: the mock monitor's answers are plain values
that `sdk_speedups.mock_sync_await` hands back made, and an answer that would need the SDK's serialiser is made on
a private loop (`serialize_off_loop`), as a thread's call would make it on that thread's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

_SDK_PREFIX = "pulumi."


def _is_sdk_call(func: Callable[..., Any]) -> bool:
    return getattr(func, "__module__", "").startswith(_SDK_PREFIX)


def _run_inline(loop: asyncio.AbstractEventLoop, func: Callable[..., Any], args: tuple) -> asyncio.Future:
    future = loop.create_future()
    try:
        future.set_result(func(*args))
    except BaseException as error:  # as the executor would: the awaiting coroutine gets it
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        future.set_exception(error)
    return future


def serialize_off_loop(awaitable: Any) -> Any:
    """Run `awaitable` to completion on a private loop while the recording loop is running on this thread (as a
    thread pool's thread would run it on its own loop)."""
    running = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    private = asyncio.new_event_loop()
    try:
        return private.run_until_complete(awaitable)
    finally:
        private.close()
        asyncio.events._set_running_loop(running)


@contextlib.contextmanager
def inline_monitor_calls(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    original = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future:
        if executor is None and _is_sdk_call(func):
            return _run_inline(loop, func, args)
        return original(executor, func, *args)

    loop.run_in_executor = run_in_executor  # type: ignore[method-assign]
    try:
        yield
    finally:
        del loop.run_in_executor
