"""A recording must not wait on work left over from outside it: tests (and programs imported once, then run per
stack) can leave Output tasks bound to a loop that has since closed."""

from __future__ import annotations

import asyncio

import pulumi
from pulumi.runtime import settings as pulumi_settings

from rampart.engine.recorder import record


def _leave_a_task_on_a_closed_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        stale = loop.create_future()
        pulumi_settings.SETTINGS.outputs.add(stale)
    finally:
        loop.close()


def test_a_recording_ignores_outputs_left_on_a_closed_loop():
    _leave_a_task_on_a_closed_loop()

    def program() -> None:
        pulumi.export("answer", pulumi.Output.from_input(42))

    recording = record(program, project="iso", stack="dev")
    assert recording.outputs["answer"] == 42
