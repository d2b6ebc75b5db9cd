"""The engine's end of the pipe transport (rampart/engine/pack_pipe.py) on its own: a pack that stops reading, a
late answer, an answer nobody asked for, and a pack that cannot start, each bounded and leaving nothing open."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import grpc
import pytest

from rampart.engine.analyzer import PolicyPackProcess
from rampart.engine.pack_pipe import PackCallError, PipeChannel

TINY_PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tiny"


def _identity(payload: bytes) -> bytes:
    return payload


@pytest.fixture
def channel():
    """A channel whose pack end the test plays: `pack_reads` (requests) and `pack_writes` (answers)."""
    requests_read, requests_write = os.pipe()
    responses_read, responses_write = os.pipe()
    opened = PipeChannel(requests_write, responses_read)
    yield opened, requests_read, responses_write
    opened.close()
    os.close(responses_write)
    opened.join(timeout=5)
    os.close(requests_read)


def _answer(fd: int, body: bytes, status: int = 0) -> None:
    os.write(fd, struct.pack(">IB", len(body) + 1, status) + body)


def test_a_pack_that_stops_reading_is_reported_at_the_oldest_calls_deadline_not_at_each(channel):
    opened, _, _ = channel
    timeout = 0.5
    started = time.monotonic()
    # Nobody reads: the pipe (64 KiB) fills on the second frame.
    futures = [opened.send(b"/pulumirpc.Analyzer/Analyze", b"x" * 40_000, _identity, timeout) for _ in range(6)]
    elapsed = time.monotonic() - started
    assert elapsed < 3 * timeout  # each frame waiting its own deadline would take 5 of them
    for future in futures:
        with pytest.raises(PackCallError) as failed:
            future.result()
        assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    late = opened.send(b"/pulumirpc.Analyzer/Analyze", b"y", _identity, 60)  # after a half-written frame: broken
    with pytest.raises(PackCallError):
        late.result()


def test_an_answer_after_the_deadline_is_a_deadline_exceeded_as_over_grpc(channel):
    opened, _, pack_writes = channel
    future = opened.send(b"/pulumirpc.Analyzer/Analyze", b"q", _identity, 0.2)
    time.sleep(0.4)
    _answer(pack_writes, b"too late")
    time.sleep(0.2)  # the answer has arrived before anyone asks for it
    with pytest.raises(PackCallError) as failed:
        future.result()
    assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_answers_come_back_in_order_with_their_status(channel):
    opened, _, pack_writes = channel
    first = opened.send(b"/m", b"1", _identity, 5)
    second = opened.send(b"/m", b"2", _identity, 5)
    _answer(pack_writes, b"one")
    _answer(pack_writes, b"Exception calling application: boom", status=2)
    assert first.result() == b"one"
    with pytest.raises(PackCallError) as failed:
        second.result()
    assert (failed.value.code(), failed.value.details()) == (grpc.StatusCode.UNKNOWN,
                                                             "Exception calling application: boom")


def test_an_answer_nobody_asked_for_ends_the_channel_and_no_call_waits_for_its_deadline(channel):
    opened, _, pack_writes = channel
    _answer(pack_writes, b"unasked")
    threading.Event().wait(0.2)
    started = time.monotonic()
    with pytest.raises(PackCallError) as failed:
        opened.send(b"/m", b"1", _identity, 30).result()
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE and time.monotonic() - started < 5


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_a_pack_that_cannot_start_leaves_no_pipe_open():
    pack = PolicyPackProcess(pack_dir=TINY_PACK, python="/nonexistent/python")
    before = _open_fds()
    with pytest.raises(OSError):
        pack.start()
    assert _open_fds() <= before and pack._pipe_ends is None
