"""The worker's preload: provider SDK modules the program names are imported before forking; the program's
own modules never are (importing them could declare resources outside a stack)."""

from __future__ import annotations

import subprocess
import sys


def test_preload_imports_named_sdk_modules_and_never_the_program(tmp_path):
    (tmp_path / "__main__.py").write_text("import resources\n")
    (tmp_path / "resources.py").write_text(
        "import pulumi_aws as aws\nraise SystemExit('the program was imported')\nqueue = aws.sqs.Queue('q')\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "ignored.py").write_text("aws.appsync.GraphQLApi\n")
    probe = (
        "import sys; from pathlib import Path; from rampart.engine.worker import preload_sdk_modules;"
        f"loaded = preload_sdk_modules(Path({str(tmp_path)!r}));"
        "print(sorted(loaded)); print('resources' in sys.modules, 'pulumi_aws.appsync' in loaded)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded, flags = completed.stdout.strip().splitlines()
    assert "'pulumi_aws.sqs'" in loaded and "'pulumi_aws'" in loaded
    assert flags == "False False"


def test_preload_loads_shared_libraries_the_program_imports_then_freezes_them_out_of_gc(tmp_path):
    (tmp_path / "__main__.py").write_text("import config\n")
    (tmp_path / "config.py").write_text("from pydantic import (\n    BaseModel,\n    Field,\n)\nimport yaml\n")
    probe = (
        "import gc, sys; from pathlib import Path; from rampart.engine import worker;"
        f"worker._preload_without_gc(Path({str(tmp_path)!r}));"
        "print('pydantic' in sys.modules, 'yaml' in sys.modules, 'config' in sys.modules, 'jsonschema' in sys.modules);"
        "print(gc.isenabled(), gc.get_freeze_count() > 10_000, gc.get_threshold()[0] == worker._GC_FIRST_GENERATION)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    imported, collector = completed.stdout.strip().splitlines()
    assert imported == "True True False False"
    assert collector == "True True True"


def test_a_runner_forked_by_a_warm_server_does_not_scan_and_import_again(tmp_path):
    """The worker server imports what the program names just before it forks the runner (preload_in_server); the
    runner's own preload then skips the scan of the program's files. Any other program is preloaded as before."""
    (tmp_path / "__main__.py").write_text("import pulumi_aws as aws\nqueue = aws.sqs.Queue('q')\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "__main__.py").write_text("import pulumi_aws as aws\ntopic = aws.sns.Topic('t')\n")
    probe = (
        "from pathlib import Path; from rampart.engine import worker\n"
        f"program, other = Path({str(tmp_path)!r}), Path({str(other)!r})\n"
        "worker.preload_in_server(program)\n"
        "scans = []\n"
        "real = worker.preload_sdk_modules\n"
        "worker.preload_sdk_modules = lambda d: scans.append(d.name) or real(d)\n"
        "worker._preload_without_gc(program); worker._preload_without_gc(other)\n"
        "print(scans)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "['other']"


def test_preload_imports_top_level_aws_names_and_github_resources_the_program_names(tmp_path):
    """`aws.get_caller_identity()`, `aws.Provider` and `github.Repository` live in modules their package loads on
    first use: named, they are imported before the fork like `aws.ecs.Service`, so no runner imports them again."""
    (tmp_path / "__main__.py").write_text(
        "import pulumi_aws as aws\nimport pulumi_github as github\n"
        "me = aws.get_caller_identity()\nrepo = github.Repository('r')\n")
    probe = (
        "import sys; from pathlib import Path; from rampart.engine import sdk_loader, worker;"
        "sdk_loader.install(None);"  # the worker's SDK packages, which load a resource's module on first use
        f"worker.preload_sdk_modules(Path({str(tmp_path)!r}));"
        "print(*(m in sys.modules for m in ('pulumi_aws.get_caller_identity', 'pulumi_github.repository',"
        " 'pulumi_github.branch_protection')))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["True", "True", "False"]


def test_a_servers_scan_of_unchanged_files_is_not_repeated_and_a_changed_file_is_read_again(tmp_path):
    """The worker server scans the program's files before every fork (preload_in_server): a file whose text it has
    scanned before is not matched again, and an edit is seen at the next check."""
    from pathlib import Path

    from rampart.engine import preload

    (tmp_path / "__main__.py").write_text("import pulumi_aws as aws\nqueue = aws.sqs.Queue('q')\n")
    scans = []
    real = preload._scan_text
    preload._SCANNED.clear()
    try:
        preload._scan_text = lambda text: scans.append(text) or real(text)
        first = preload.wanted_modules(Path(tmp_path))
        preload.wanted_modules(Path(tmp_path))
        calls = [len(scans)]
        (tmp_path / "__main__.py").write_text("import pulumi_aws as aws\ntopic = aws.sns.Topic('t')\n")
        second = preload.wanted_modules(Path(tmp_path))
        calls.append(len(scans))
    finally:
        preload._scan_text = real
    assert calls == [1, 2]
    assert "pulumi_aws.sqs" in first and "pulumi_aws.sqs" not in second and "pulumi_aws.sns" in second


def test_a_worker_server_plans_the_outputs_of_the_classes_a_program_names_before_it_forks(tmp_path):
    """`--assume-existing` answers every output of a resource from its class's plan (shapes._class_plan), worked out
    at the class's first resource: a warm server works it out for the classes the program names, once, and every
    runner it forks starts with it."""
    (tmp_path / "__main__.py").write_text("import pulumi_aws as aws\nqueue = aws.sqs.Queue('q')\n")
    probe = (
        "from pathlib import Path; from rampart.engine import shapes, worker; "
        "from rampart.engine.fake_outputs import FakeCloud\n"
        f"worker.preload_in_server(Path({str(tmp_path)!r}))\n"
        "planned = shapes._class_plan.cache_info().misses\n"
        "FakeCloud().new_resource('aws:sqs/queue:Queue', 'queue', {'name': 'q'})\n"
        "FakeCloud().new_resource('aws:sns/topic:Topic', 'topic', {})\n"
        "print(planned > 0, shapes._class_plan.cache_info().misses - planned)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["True", "1"]  # only the topic, which the program does not name, is planned
