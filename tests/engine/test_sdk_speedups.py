"""The offline replacements for SDK per-resource costs keep what the recorder reads (rampart.engine.sdk_speedups)."""

from __future__ import annotations

from pulumi.runtime import resource as pulumi_resource

from rampart.engine import sdk_speedups

LIBRARY = '''
def build(make, traces):
    return make(traces)  # a library (site-packages) declaring the resource for the program
'''


class _Resource:
    def __init__(self, traces):
        # What register_resource does: both versions of the trace, taken at the same depth.
        traces.append((sdk_speedups.program_stack_trace(), pulumi_resource._get_stack_trace()))


class _CustomResource(_Resource):
    def __init__(self, traces):
        super().__init__(traces)


class _Concrete(_CustomResource):
    def __init__(self, traces):
        super().__init__(traces)


def _positions(trace):
    return [(frame.pc.uri, frame.pc.line) for frame in trace.frames]


def test_the_programs_frame_is_the_sdks_source_position():
    traces = []
    _Concrete(traces)  # the program's line
    lean, sdk = traces[0]
    assert _positions(lean) == _positions(sdk)[:1]
    assert lean.frames[0].pc.uri.endswith("/test_sdk_speedups.py")


def test_a_library_declared_resource_keeps_the_callers_up_to_the_programs_line():
    namespace: dict = {}
    exec(compile(LIBRARY, "/venv/lib/site-packages/lib.py", "exec"), namespace)  # noqa: S102
    traces = []
    namespace["build"](_Concrete, traces)
    lean, sdk = traces[0]
    # The library's frame (the SDK's source position), then this test's line: the first frame outside it.
    assert _positions(lean) == _positions(sdk)[:2]
    assert [uri.rsplit("/", 1)[-1] for uri, _ in _positions(lean)] == ["lib.py", "test_sdk_speedups.py"]


def test_fewer_than_three_constructors_up_the_stack_is_no_trace():
    assert not sdk_speedups.program_stack_trace().frames


def test_installed_puts_the_sdks_function_back():
    original = pulumi_resource._get_stack_trace
    with sdk_speedups.installed():
        assert pulumi_resource._get_stack_trace is sdk_speedups.program_stack_trace
    assert pulumi_resource._get_stack_trace is original
