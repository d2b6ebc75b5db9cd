"""The worker's `import pulumi` defers the Automation API and dynamic providers until a program uses them, and a
program that does use them gets the very modules a normal import gives (rampart.engine.sdk_deferred)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import sys
    import rampart.engine.worker
    import pulumi
    print(type(sys.modules["pulumi.automation"]).__name__, "pulumi.automation._cmd" in sys.modules,
          type(sys.modules["pulumi.dynamic"]).__name__, "dill" in sys.modules)
    workspace = pulumi.automation.LocalWorkspace
    from pulumi.automation._local_workspace import LocalWorkspace
    print(workspace is LocalWorkspace, issubclass(pulumi.dynamic.Resource, pulumi.CustomResource),
          type(sys.modules["pulumi.automation"]).__name__)
""")


def test_the_worker_loads_automation_and_dynamic_only_when_they_are_used():
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, after = completed.stdout.strip().splitlines()
    assert before == "_LazyModule False _LazyModule False"  # nothing of either ran at import
    assert after == "True True module"


def test_a_program_with_a_dynamic_provider_runs_in_the_worker(tmp_path):
    program = tmp_path / "program"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: dynamic\nruntime: python\n")
    (program / "__main__.py").write_text(textwrap.dedent("""
        import pulumi
        from pulumi.dynamic import CreateResult, Resource, ResourceProvider

        class Provider(ResourceProvider):
            def create(self, props):
                return CreateResult(id_="1", outs=props)

        class Thing(Resource):
            def __init__(self, name, size):
                super().__init__(Provider(), name, {"size": size})

        Thing("thing", 3)
    """))
    probe = ("import json, sys; from pathlib import Path; from rampart.engine import worker;"
             f"out = worker.run(Path({str(program)!r}), 'dev');"
             "print(out['error'], [r['type'] for r in out['registrations']])")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                               cwd=program)
    assert completed.stdout.strip() == "None ['pulumi-python:dynamic:Resource']"


THREADS_PROBE = textwrap.dedent("""
    import threading
    import rampart.engine.worker
    barrier, errors = threading.Barrier(8), []

    def first_use():
        barrier.wait()
        try:
            from pulumi.automation import LocalWorkspace
            from pulumi.dynamic import ResourceProvider
        except Exception as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(errors)
""")


def test_threads_using_a_deferred_module_at_once_all_get_it_whole():
    """Python < 3.13's own LazyLoader runs the module with no lock: the other threads saw it half-run."""
    for _ in range(3):
        completed = subprocess.run([sys.executable, "-c", THREADS_PROBE], capture_output=True, text=True, check=True)
        assert completed.stdout.strip() == "[]"
