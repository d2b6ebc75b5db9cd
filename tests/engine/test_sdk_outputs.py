"""Direct property outputs, plain-argument URNs and inline monitor calls show a program exactly what the SDK's own
code shows it (rampart.engine.sdk_outputs, rampart.engine.sdk_inline)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings

from rampart.engine import recorder, sdk_answers, sdk_inline, sdk_outputs, sdk_speedups

_SDK_TRANSFER = pulumi_rpc.transfer_properties
_SDK_RESOURCE_OUTPUT = pulumi_resource.resource_output


class _Holder:
    """What transfer_properties writes the outputs onto (a resource's __dict__)."""

    def __init__(self, name: str) -> None:
        self._name = name


async def _observe(output: pulumi.Output) -> tuple:
    try:
        value = await output.future(with_unknowns=True)
    except RuntimeError as error:
        return ("failed", str(error))
    resources = sorted(resource._name for resource in await output.resources())
    return value, await output.is_known(), await output.is_secret(), resources


RESOLUTIONS = [
    pytest.param(("arn:aws:x", True, False, None, None), id="known"),
    pytest.param((None, False, False, None, None), id="unknown"),
    pytest.param(("hunter2", True, True, None, None), id="secret"),
    pytest.param(({"a": [1, None]}, True, False, {_Holder("dep")}, None), id="with-dependencies"),
    pytest.param(([pulumi_rpc.UNKNOWN], True, False, None, None), id="nested-unknown-is-not-known"),
    pytest.param((None, False, False, None, RuntimeError("registration failed")), id="failed"),
]


def _on_a_new_loop(observed, *versions) -> list:
    """`observed(version)` for each version, in turn, on one new event loop."""
    loop = asyncio.new_event_loop()
    try:
        return [loop.run_until_complete(observed(version)) for version in versions]
    finally:
        loop.close()


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_a_direct_property_output_resolves_as_the_sdks(resolution):
    async def observed(transfer):
        holder = _Holder("res")
        resolvers = transfer(holder, {"prop": None, "urn": None, "id": None}, True)
        assert sorted(resolvers) == ["prop"]  # urn and id are the SDK's own business, in both versions
        resolvers["prop"](*resolution)
        return await _observe(holder.__dict__["prop"])

    sdk, direct = _on_a_new_loop(observed, _SDK_TRANSFER, sdk_outputs.transfer_properties_direct)
    assert direct == sdk


@pytest.mark.parametrize("resolution", [r for r in RESOLUTIONS if r.id in ("known", "unknown", "secret", "failed")])
def test_a_direct_urn_or_id_output_resolves_as_the_sdks(resolution):
    """A resource's `urn` and `id` (`resource_output`), counted among the run's property outputs: the same output."""
    value, known, secret, _, failed = resolution

    async def observed(resource_output):
        resolve, output = resource_output(_Holder("res"))
        resolve(value, known, secret, failed)
        return await _observe(output)

    sdk, direct = _on_a_new_loop(observed, _SDK_RESOURCE_OUTPUT, sdk_outputs.resource_output_direct)
    assert direct == sdk


@pytest.mark.parametrize(("name", "type_", "parent"), [
    ("bucket", "aws:s3/bucket:Bucket", None),
    ("child", "aws:iam/role:Role", "urn:pulumi:dev::proj::rampart:x:Service::svc"),
    ("deep", "aws:ecs/service:Service", "urn:pulumi:dev::proj::rampart:x:Service$rampart:y:Part::part"),
])
def test_a_plain_urn_is_the_sdks(name, type_, parent):
    pulumi_settings.configure(pulumi_settings.Settings(project="proj", stack="dev"))

    async def both():
        return (await pulumi_resource.create_urn(name, type_, parent).future(),
                await sdk_outputs.create_urn_direct(name, type_, parent).future())

    loop = asyncio.new_event_loop()
    try:
        sdk, direct = loop.run_until_complete(both())
    finally:
        loop.close()
    assert direct == sdk


def test_outstanding_outputs_are_kept_in_creation_order():
    futures = [asyncio.Future(loop=asyncio.new_event_loop()) for _ in range(50)]
    ordered = sdk_outputs.OrderedOutputs()
    for future in futures:
        ordered.add(future)
    ordered.discard(futures[3])
    ordered.remove(futures[7])
    with pytest.raises(KeyError):
        ordered.remove(futures[7])
    assert list(ordered) == [f for i, f in enumerate(futures) if i not in (3, 7)]
    assert len(ordered) == 48 and futures[0] in ordered


def _program_threads(seen: dict):
    def program():
        role = aws.iam.Role("role", assume_role_policy="{}")
        aws.iam.RolePolicy("policy", role=role.name, policy="{}")

        async def users_own_blocking_work():
            return await asyncio.get_running_loop().run_in_executor(None, threading.get_ident)

        seen["users_work"] = pulumi.Output.from_input(users_own_blocking_work())
        pulumi.export("arn", role.arn)

    return program


def test_monitor_calls_run_on_the_loop_and_a_programs_own_work_on_a_thread(monkeypatch):
    seen: dict = {"monitor": set()}
    register = recorder.RecordingMonitor.RegisterResource

    def spying(self, request):
        seen["monitor"].add(threading.get_ident())
        return register(self, request)

    monkeypatch.setattr(recorder.RecordingMonitor, "RegisterResource", spying)
    recording = recorder.record(_program_threads(seen), project="p", stack="dev", mode=recorder.ASSUME_EXISTING)
    assert seen["monitor"] == {threading.get_ident()}
    assert seen["users_work"]._data.result().value != threading.get_ident()
    assert [r.type for r in recording.registrations] == ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"]


def test_the_recording_is_the_same_with_the_sdks_own_paths(monkeypatch):
    def registrations():
        recording = recorder.record(_program_threads({}), project="p", stack="dev")
        return [(r.urn, r.inputs, r.dependencies, r.property_dependencies) for r in recording.registrations], \
            recording.outputs

    lean = registrations()
    monkeypatch.setattr(sdk_outputs, "supported", lambda: False)
    monkeypatch.setattr(sdk_inline, "_is_sdk_call", lambda func: False)
    monkeypatch.setattr(sdk_answers, "remember", lambda struct, answer: None)
    monkeypatch.setattr(sdk_answers, "leave_unmade", lambda answer: False)
    assert registrations() == lean


def test_an_answer_needing_the_sdks_serialiser_is_made_off_the_running_loop():
    async def needs_serialiser():
        await asyncio.sleep(0)  # suspends: pumping the recording loop itself would re-enter it
        return "made"

    async def monitor_call_inline():
        others_ran: list = []
        asyncio.get_running_loop().call_soon(others_ran.append, "another task's step")
        made = sdk_speedups.mock_sync_await(needs_serialiser())
        return made, list(others_ran)  # nothing else of the recording loop ran inside the monitor's call

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(monitor_call_inline()) == ("made", [])
    finally:
        loop.close()


def test_installed_puts_the_sdks_functions_back():
    import pulumi.log as pulumi_log
    from pulumi.runtime import mocks as pulumi_mocks

    from rampart.engine import sdk_shortcuts

    sdk = (pulumi.Output._track, pulumi_rpc.contains_unknowns, pulumi_rpc.translate_output_properties,
           pulumi_log.debug, pulumi.ResourceOptions._copy, pulumi_mocks._ensure_event_loop)
    with sdk_outputs.installed(), sdk_shortcuts.installed():
        assert pulumi_rpc.transfer_properties is sdk_outputs.transfer_properties_direct
        assert pulumi.Output._track is sdk_outputs._track_without_callback
        assert all(now is not before for now, before in zip(
            (pulumi_rpc.contains_unknowns, pulumi_rpc.translate_output_properties, pulumi_log.debug,
             pulumi.ResourceOptions._copy, pulumi_mocks._ensure_event_loop), sdk[1:], strict=True))
    assert pulumi_rpc.transfer_properties is _SDK_TRANSFER
    assert pulumi_resource.create_urn is not sdk_outputs.create_urn_direct
    assert (pulumi.Output._track, pulumi_rpc.contains_unknowns, pulumi_rpc.translate_output_properties,
            pulumi_log.debug, pulumi.ResourceOptions._copy, pulumi_mocks._ensure_event_loop) == sdk


class _Component(pulumi.ComponentResource):
    """A component with annotated outputs (the SDK reads them on every registration of the class)."""

    arn: pulumi.Output[str]
    names: pulumi.Output[list]


def test_resource_types_are_the_sdks_once_per_class_and_read_only():
    import pulumi._types as pulumi_types

    sdk = pulumi_types.resource_types
    memoised = sdk_outputs._memoised_resource_types(sdk)
    for cls in (_Component, aws.iam.Role, aws.ecs.Service):
        assert dict(memoised(cls)) == sdk(cls)
        assert memoised(cls) is memoised(cls)
    with pytest.raises(TypeError):
        memoised(aws.iam.Role)["arn"] = str


def test_property_outputs_stay_tracked_and_a_failed_one_is_raised_at_the_end():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    saved = pulumi_settings.SETTINGS.outputs, pulumi_settings.SETTINGS.rpc_manager
    pulumi_settings.SETTINGS.outputs = sdk_outputs.OrderedOutputs()
    pulumi_settings.SETTINGS.rpc_manager = type(saved[1])()
    try:
        holder = _Holder("res")
        resolvers = sdk_outputs.transfer_properties_direct(holder, {"first": None, "second": None}, True)
        tracked = [holder.__dict__["first"]._data, holder.__dict__["second"]._data]
        assert list(pulumi_settings.SETTINGS.outputs) == tracked
        resolvers["first"]("ok", True, False, None, None)
        resolvers["second"](None, False, False, None, RuntimeError("the second failed"))
        with pytest.raises(RuntimeError, match="the second failed"):
            loop.run_until_complete(sdk_speedups._wait_for_rpcs_linear())
    finally:
        pulumi_settings.SETTINGS.outputs, pulumi_settings.SETTINGS.rpc_manager = saved
        asyncio.set_event_loop(None)
        loop.close()


def test_a_failed_output_is_raised_at_once_though_another_never_resolves(tmp_path):
    """As the SDK's wait_for_rpcs raises the first failure it sees: a program that also holds an output that never
    resolves is reported with its failure, not after --program-timeout."""
    from rampart.engine import worker

    (tmp_path / "Pulumi.yaml").write_text("name: hangs\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import asyncio\nimport pulumi\n"
        "never = asyncio.get_event_loop().create_future()\n"
        "pulumi.Output(set(), never, never)\n"
        "def fail(_):\n    raise ValueError('the program failed here')\n"
        "pulumi.Output.from_input(1).apply(fail)\n")
    here = os.getcwd()
    try:
        result = worker.run(tmp_path, "dev", timeout=30)
    finally:
        os.chdir(here)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
    assert result["error"]["kind"] == "program", result["error"]
    assert "the program failed here" in result["error"]["message"]


class _CountingPolicy(asyncio.DefaultEventLoopPolicy):
    """Loops that count the callbacks scheduled on them (a future's done-callbacks are scheduled with call_soon)."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0
        policy = self

        class CountingLoop(asyncio.SelectorEventLoop):
            def call_soon(self, callback, *args, context=None):
                policy.scheduled += 1
                return super().call_soon(callback, *args, context=context)

        self._loop_factory = CountingLoop


def _queues_with_applies(count: int):
    def program():
        for index in range(count):
            queue = aws.sqs.Queue(f"queue-{index}", name=f"queue-{index}")
            pulumi.export(f"queue-{index}", queue.arn.apply(lambda arn: arn.upper()))

    return program


def test_a_run_schedules_no_loop_step_per_output_to_track_or_to_wait_on_it():
    """The SDK tracks every output with a done-callback, and the end of a run waited on every output still pending
    with another (`asyncio.wait`): one loop step each, about 25 of the ~37 a resource cost. Outputs are tracked without
    the callback, and the end of the run waits on the property outputs through one future their resolvers settle
    (sdk_outputs.PropertyOutputs). Either undone costs 7 or 18 steps a resource more."""
    policy = _CountingPolicy()
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(policy)
    try:
        recording = recorder.record(_queues_with_applies(60), project="p", stack="dev",
                                    mode=recorder.ASSUME_EXISTING)
    finally:
        asyncio.set_event_loop_policy(previous)
    assert len(recording.registrations) == 60
    assert recording.outputs["queue-59"].startswith("ARN:AWS:SQS:")
    assert policy.scheduled / 60 < 13, policy.scheduled / 60


def test_a_programs_task_that_never_stops_stepping_does_not_hold_the_end_of_the_run(tmp_path):
    """A program's own task that reschedules itself forever is no output: the run ends once every output has, as
    under the SDK's own wait."""
    from rampart.engine import worker

    (tmp_path / "Pulumi.yaml").write_text("name: spins\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import asyncio\nimport pulumi\nimport pulumi_aws as aws\n"
        "async def spin():\n    while True:\n        await asyncio.sleep(0)\n"
        "asyncio.ensure_future(spin())\n"
        "queue = aws.sqs.Queue('queue')\npulumi.export('arn', queue.arn)\n")
    here = os.getcwd()
    try:
        result = worker.run(tmp_path, "dev", mode=recorder.ASSUME_EXISTING, timeout=60)
    finally:
        os.chdir(here)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
    assert result["error"] is None, result["error"]
    assert result["outputs"]["arn"].startswith("arn:aws:sqs:")


def _record_failing(program):
    registered = []
    with pytest.raises(ValueError) as raised:
        recorder.record(program, project="p", stack="dev", mode=recorder.ASSUME_EXISTING,
                        on_registration=lambda registration: registered.append(registration.name))
    return str(raised.value), registered


def test_the_failure_raised_is_the_first_to_happen_and_nothing_is_declared_after_it():
    """As the SDK's wait raises the first failure it sees: an output created earlier that fails later is not the one
    reported, and what the program would have declared after the failure is never recorded."""

    async def late():
        for _ in range(200):
            await asyncio.sleep(0)
        raise ValueError("late")

    async def early():
        raise ValueError("early")

    async def declares_later():
        for _ in range(30):
            await asyncio.sleep(0)
        aws.sqs.Queue("declared-after-the-failure")

    def program():
        pulumi.Output.from_input(late())
        pulumi.Output.from_input(declares_later())
        aws.sqs.Queue("declared-before")
        pulumi.Output.from_input(early())

    message, registered = _record_failing(program)
    assert message == "early"
    assert registered == ["declared-before"]


def test_a_program_that_makes_many_short_lived_outputs_does_not_keep_them_all(monkeypatch):
    """Outputs are tracked without the SDK's per-output callback that drops each once resolved; the set drops the
    resolved ones whenever it has doubled, so it stays the size of what is still running."""
    largest = []
    add = sdk_outputs.OrderedOutputs.add
    monkeypatch.setattr(sdk_outputs.OrderedOutputs, "add",
                        lambda self, item: add(self, item) or largest.append(len(self)))

    async def churn():
        for index in range(6000):
            await pulumi.Output.from_input(index).apply(lambda value: value + 1).future()
        return "done"

    recording = recorder.record(lambda: pulumi.export("churned", pulumi.Output.from_input(churn())),
                                project="p", stack="dev")
    assert recording.outputs == {"churned": "done"}
    assert max(largest) <= 2 * 1024 + 8, max(largest)
