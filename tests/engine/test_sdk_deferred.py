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
