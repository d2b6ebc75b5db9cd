"""The engine's end of rampart/engine/pack_host.py: a channel that `analyzer_pb2_grpc.AnalyzerStub` accepts, carrying
each call over two pipes to the pack's own servicer, with gRPC's call semantics (a future per call, a deadline per
call, failures as `grpc.RpcError` with a status code and details)."""

from __future__ import annotations

import collections
import os
import select
import struct
import threading
import time
from typing import Any

import grpc

from rampart.engine.pack_start import HOST, PIPE_READY, start_failure, transport  # noqa: F401 (their home)


class PackCallError(grpc.RpcError):
    """A failed call, as a gRPC client sees one."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


_CODES = {code.value[0]: code for code in grpc.StatusCode}
_DEADLINE_EXCEEDED = PackCallError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")


class _Future:
    def __init__(self, deserialize: Any, deadline: float) -> None:
        self._deserialize, self._deadline = deserialize, deadline
        self._done = threading.Event()
        self._response: Any = None
        self._error: PackCallError | None = None

    def _settle(self, response: Any = None, error: PackCallError | None = None) -> None:
        if not self._done.is_set():
            if error is None and time.monotonic() > self._deadline:
                error = _DEADLINE_EXCEEDED  # answered too late: as gRPC, which would have given up at the deadline
            self._response, self._error = response, error
            self._done.set()

    def result(self, timeout: float | None = None) -> Any:
        if not self._done.wait(max(0.0, self._deadline - time.monotonic())):
            raise _DEADLINE_EXCEEDED
        if self._error is not None:
            raise self._error
        return self._deserialize(self._response)

    def cancel(self) -> bool:
        return False  # the pack answers in order; a call already sent is answered, and the answer dropped


class _Method:
    def __init__(self, channel: PipeChannel, name: str, serialize: Any, deserialize: Any) -> None:
        self._channel, self._name = channel, name.encode()
        self._serialize, self._deserialize = serialize, deserialize

    def future(self, request: Any, timeout: float | None = None) -> _Future:
        return self._channel.send(self._name, self._serialize(request), self._deserialize, timeout)

    def __call__(self, request: Any, timeout: float | None = None) -> Any:
        return self.future(request, timeout).result()


class PipeChannel:
    """Calls go out on `requests_fd` in order and are answered in order on `responses_fd` (read by a thread)."""

    def __init__(self, requests_fd: int, responses_fd: int) -> None:
        self._requests_fd = requests_fd
        os.set_blocking(requests_fd, False)  # a write waits for the pack only until the call's deadline
        self._responses = os.fdopen(responses_fd, "rb")
        self._pending: collections.deque[_Future] = collections.deque()  # appended and popped atomically
        self._write_lock = threading.Lock()  # never held by the reader: a long write must not stop the answers
        self._gone: PackCallError | None = None
        self._reader = threading.Thread(target=self._read_answers, name="pack-answers", daemon=True)
        self._reader.start()

    def unary_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                    **_options: Any) -> _Method:
        return _Method(self, method, request_serializer, response_deserializer)

    def send(self, method: bytes, payload: bytes, deserialize: Any, timeout: float | None) -> _Future:
        future = _Future(deserialize, time.monotonic() + (timeout if timeout is not None else 1e9))
        frame = struct.pack(">BI", len(method), len(payload)) + method + payload
        with self._write_lock:
            self._pending.append(future)
            if self._gone is None:
                self._write(frame, future)
        if self._gone is not None:  # the reader, having ended, may have drained the queue before this call joined it
            future._settle(error=self._gone)
        return future

    def _write(self, frame: bytes, future: _Future) -> None:
        """The whole frame, or none of the calls after it: a pack that stops reading is given until the oldest
        unanswered call's deadline (not each call's own, which would report a hang only after many of them), and a
        frame left half-written breaks the channel, since whatever followed it would be misread."""
        view = memoryview(frame)
        while view:
            try:
                view = view[os.write(self._requests_fd, view):]
            except BlockingIOError:
                oldest = self._pending[0]._deadline if self._pending else future._deadline
                remaining = min(oldest, future._deadline) - time.monotonic()
                if remaining <= 0 or not select.select([], [self._requests_fd], [], remaining)[1]:
                    self._gone = _DEADLINE_EXCEEDED  # the pack stopped reading; its oldest call reports the hang
                    return
            except OSError:
                return  # the pack is gone; the reader settles every pending call

    def _read_answers(self) -> None:
        try:
            while True:
                header = self._responses.read(5)
                if len(header) < 5:
                    break
                size, status = struct.unpack(">IB", header)
                body = self._responses.read(size - 1)
                future = self._pending.popleft()
                if status == 0:
                    future._settle(response=body)
                else:
                    code = _CODES.get(status, grpc.StatusCode.UNKNOWN)
                    future._settle(error=PackCallError(code, body.decode(errors="replace")))
        except (IndexError, ValueError, struct.error, OSError):  # an answer no call asked for, or a broken pipe
            self._gone = PackCallError(grpc.StatusCode.UNAVAILABLE, "the policy pack's answers could not be read")
        finally:  # at the end of the answers, or on a frame it cannot read: no call waits for an answer to come
            self._gone = self._gone or PackCallError(grpc.StatusCode.UNAVAILABLE, "the policy pack's process ended")
            while self._pending:
                self._pending.popleft()._settle(error=self._gone)

    def close(self) -> None:
        """Closing the requests pipe ends the host's loop; the reader ends when the host's end closes."""
        if self._requests_fd >= 0:
            os.close(self._requests_fd)
            self._requests_fd = -1

    def join(self, timeout: float) -> None:
        self._reader.join(timeout)
        if not self._reader.is_alive():
            self._responses.close()
