"""The warm servers (rampart.engine.warm, warm_server): a check whose program runner and pack host are forked from a
server gives exactly what a check with new processes gives, reuses the server, and never carries one check's
environment, directory or modules into another."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rampart.cli import main
from rampart.engine import warm
from tests.support.warm_servers import served, server_pids, warm_servers

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TINY_PACK = FIXTURES / "packs" / "tiny"


@pytest.fixture
def servers(monkeypatch):
    with warm_servers(monkeypatch) as directory:
        yield directory


def check_json(tmp_path: Path, name: str, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    report = tmp_path / f"{name}.json"
    done = subprocess.run([sys.executable, "-m", "rampart", "check", *argv, "--format", "json", "--output",
                           str(report)], capture_output=True, text=True, cwd=ROOT, check=False,
                          env={**os.environ, **(env or {})})
    assert report.is_file(), done.stderr
    return done.returncode, report.read_text()


@pytest.mark.parametrize("mode", [(), ("--assume-existing",)], ids=["first-preview", "assume-existing"])
def test_the_project_stacks_report_the_same_from_a_warm_server(tmp_path, servers, mode):
    stacks = ("--stack", "production", "--stack", "staging", *mode)
    cold = check_json(tmp_path, "cold", *stacks, env={"RAMPART_WARM": "0"})
    assert server_pids(servers) == {}
    first = check_json(tmp_path, "first", *stacks)  # starts the servers
    started = server_pids(servers)
    assert set(started) == {"cli", "worker", "pack"}
    second = check_json(tmp_path, "second", *stacks)
    assert server_pids(servers) == started  # reused, not started again
    assert (served(servers, "worker"), served(servers, "pack")) == (2, 2)
    assert first == cold
    assert second == cold
    assert json.loads(cold[1])["stacks"][0]["summary"]["resources"] > 100


ECHO_PROGRAM = """import os, sys
import pulumi
pulumi.export("mark", os.environ.get("ECHO_MARK"))
pulumi.export("cwd", os.getcwd())
pulumi.export("path0", sys.path[0])
pulumi.export("umask", oct(os.umask(0o022)))
pulumi.export("dry_run", pulumi.runtime.is_dry_run())
"""


def echo_program(tmp_path: Path, extra_files: dict[str, str] | None = None) -> Path:
    program = tmp_path / "echo"
    program.mkdir()
    (program / "__main__.py").write_text(ECHO_PROGRAM)
    (program / "Pulumi.yaml").write_text("name: echo\nruntime: python\n")
    (program / "Pulumi.dev.yaml").write_text("config: {}\n")
    for name, text in (extra_files or {}).items():
        (program / name).write_text(text)
    return program


def outputs_of(capsys, program: Path, report: Path) -> dict[str, object]:
    code = main(["check", "--program", str(program), "--stack", "dev", "--policy-pack", str(TINY_PACK),
                 "--format", "json", "--output", str(report)])
    output = capsys.readouterr()
    assert code == 0, output
    return json.loads(report.read_text())["stacks"][0]["outputs"]


def test_each_check_gets_its_own_environment_directory_and_umask(tmp_path, capsys, monkeypatch, servers):
    program = echo_program(tmp_path)
    seen, pids = [], []
    for mark, mask in (("first", 0o022), ("second", 0o077)):
        monkeypatch.setenv("ECHO_MARK", mark)
        previous = os.umask(mask)
        try:
            seen.append(outputs_of(capsys, program, tmp_path / f"{mark}.json"))
        finally:
            os.umask(previous)
        pids.append(server_pids(servers))
    assert pids[0].keys() == {"worker", "pack"} and pids[1] == pids[0]  # one server of each, for both checks
    assert served(servers, "worker") == 2
    assert [s["mark"] for s in seen] == ["first", "second"]
    assert [s["umask"] for s in seen] == ["0o22", "0o77"]
    for outputs in seen:
        assert outputs["cwd"] == str(program) and outputs["path0"] == str(program)
        assert outputs["dry_run"] is True
    monkeypatch.setenv("RAMPART_WARM", "0")
    monkeypatch.setenv("ECHO_MARK", "second")
    previous = os.umask(0o077)
    try:
        assert outputs_of(capsys, program, tmp_path / "cold.json") == seen[1]
    finally:
        os.umask(previous)


def test_a_program_with_its_own_copy_of_a_module_another_program_had_preloaded_gets_its_own(
        tmp_path, capsys, monkeypatch, servers):
    # The worker server imports what each program's files name (pydantic here) and keeps it for the next program;
    # a program with a pydantic.py of its own would get the server's, so the server is not used for it.
    first = echo_program(tmp_path, {"models.py": "import pydantic\n"})
    (first / "__main__.py").write_text(ECHO_PROGRAM + "import models\n")
    outputs_of(capsys, first, tmp_path / "first.json")
    (tmp_path / "b").mkdir()
    second = echo_program(tmp_path / "b", {"pydantic.py": "MINE = True\n"})
    (second / "__main__.py").write_text(
        ECHO_PROGRAM + "import pydantic\npulumi.export('own', hasattr(pydantic, 'MINE'))\n")
    spawned = []
    real_spawn = warm.spawn
    monkeypatch.setattr(warm, "spawn", lambda *a, **k: spawned.append(result := real_spawn(*a, **k)) or result)
    warm_outputs = outputs_of(capsys, second, tmp_path / "warm.json")
    assert spawned[0] is None  # the worker: started afresh; spawned[1] is the pack's host
    assert warm_outputs["own"] is True
    monkeypatch.setenv("RAMPART_WARM", "0")
    assert warm_outputs == outputs_of(capsys, second, tmp_path / "cold.json")


@pytest.mark.parametrize("warm_setting", ["0", "1"])
def test_a_program_with_a_module_named_like_one_rampart_imports_runs(tmp_path, capsys, monkeypatch, servers,
                                                                     warm_setting):
    # PyYAML is imported by the engine itself before the program runs, as pulumi imports it under the CLI: the
    # program's own yaml.py must not replace it for the engine (it crashed the program runner).
    monkeypatch.setenv("RAMPART_WARM", warm_setting)
    program = echo_program(tmp_path, {"yaml.py": "MINE = True\n"})
    assert outputs_of(capsys, program, tmp_path / "report.json")["cwd"] == str(program)


def test_a_check_goes_on_when_its_server_is_killed_and_the_next_starts_another(tmp_path, capsys, monkeypatch,
                                                                                servers):
    program = echo_program(tmp_path)
    (program / "__main__.py").write_text("import time\ntime.sleep(2)\n" + ECHO_PROGRAM)
    outputs_of(capsys, program, tmp_path / "start.json")
    killer = subprocess.Popen([sys.executable, "-c", (
        "import os, signal, sys, time\ntime.sleep(0.8)\nos.kill(int(sys.argv[1]), signal.SIGKILL)"),
        str(server_pids(servers)["worker"])])
    outputs = outputs_of(capsys, program, tmp_path / "killed.json")
    killer.wait()
    assert outputs["cwd"] == str(program)
    assert "worker" not in server_pids(servers)
    outputs_of(capsys, program, tmp_path / "after.json")
    assert "worker" in server_pids(servers)


def test_an_idle_server_leaves_and_takes_its_socket(tmp_path, capsys, monkeypatch, servers):
    monkeypatch.setenv("RAMPART_WARM_IDLE_SECONDS", "1")
    outputs_of(capsys, echo_program(tmp_path), tmp_path / "report.json")
    assert server_pids(servers)
    deadline = time.monotonic() + 30
    while (server_pids(servers) or list(servers.glob("*.sock"))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server_pids(servers) == {}
    assert list(servers.glob("*.sock")) == []


def test_a_runtime_directory_others_can_write_is_not_used(tmp_path, capsys, monkeypatch, servers):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("RAMPART_RUNTIME_DIR", str(shared))
    outputs_of(capsys, echo_program(tmp_path), tmp_path / "report.json")
    assert list(shared.iterdir()) == []


def test_the_server_key_follows_what_its_imports_depend_on(tmp_path, monkeypatch):
    package = tmp_path / "rampart"
    package.mkdir()
    module = package / "module.py"
    module.write_text("X = 1\n")
    monkeypatch.setattr(warm, "PACKAGE_DIR", package)
    base = {"HOME": "/home/a", "PATH": "/bin", "RAMPART_SDK_HINTS": "1"}
    key = warm.server_key("worker", base)
    assert warm.server_key("worker", base) == key
    assert warm.server_key("pack", base) != key
    # Read per check, not while importing: the same server.
    assert warm.server_key("worker", {**base, "PULUMI_CONFIG": "{}", "AWS_REGION": "eu-west-1"}) == key
    for changed in ({"RAMPART_SDK_HINTS": "0"}, {"PYTHONHASHSEED": "1"}, {"HOME": "/home/b"}, {"LANG": "C"},
                    {"PATH": "/x"}, {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}, {"GRPC_VERBOSITY": "debug"}):
        assert warm.server_key("worker", {**base, **changed}) != key, changed
    # A server is started with those variables only: no check's secret stays in it.
    assert warm.server_environment({**base, "AWS_SECRET_ACCESS_KEY": "s3cr3t", "GITHUB_TOKEN": "t"}) == base
    os.utime(module, ns=(0, 10**9))
    assert warm.server_key("worker", base) != key
    key = warm.server_key("worker", base)
    installed = tmp_path / "site-packages"
    installed.mkdir()
    monkeypatch.setattr(sys, "path", [sys.path[0], str(installed)])
    key = warm.server_key("worker", base)
    (installed / "new_package").mkdir()  # an install changes the directory's listing
    os.utime(installed, ns=(0, 2 * 10**9))
    assert warm.server_key("worker", base) != key


@pytest.mark.parametrize(("name", "value", "names"), [
    ("RAMPART_WARM", "yes", ("RAMPART_WARM", "expected 0", "or 1")),
    ("RAMPART_WARM_IDLE_SECONDS", "0", ("RAMPART_WARM_IDLE_SECONDS", "seconds")),
    ("RAMPART_WARM_IDLE_SECONDS", "soon", ("RAMPART_WARM_IDLE_SECONDS", "seconds")),
])
def test_a_bad_warm_setting_is_refused_before_anything_starts(tmp_path, capsys, monkeypatch, name, value, names):
    monkeypatch.setenv("RAMPART_WARM", "1")
    monkeypatch.setenv(name, value)
    code = main(["check", "--program", str(echo_program(tmp_path)), "--stack", "dev", "--policy-pack",
                 str(TINY_PACK)])
    output = capsys.readouterr()
    assert code == 2
    assert all(n in output.err for n in names), output.err
    assert "Traceback" not in output.err


def test_a_copy_of_rampart_elsewhere_gets_servers_of_its_own(tmp_path, monkeypatch):
    copy = tmp_path / "rampart"
    shutil.copytree(ROOT / "rampart", copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = dict(os.environ)
    mine = warm.server_key("worker", base)
    monkeypatch.setattr(warm, "PACKAGE_DIR", copy)
    assert warm.server_key("worker", base) != mine


def test_an_answer_and_an_exit_read_at_once_are_both_taken():
    """On a loaded machine the server's `pid` line and the child's `exit` line can arrive in one read: the check
    then must not be taken as unanswered (and run a second time)."""
    ours, theirs = socket.socketpair()
    theirs.sendall(b'{"pid": 4242}\n{"exit": 3}\n')
    answer, rest = warm._first_line(ours, 5)
    exit_read, exit_write = os.pipe()
    os.close(exit_write)
    process = warm.RemoteProcess(ours, answer["pid"], ["rampart"], exit_read, rest)
    assert (answer, process.poll()) == ({"pid": 4242}, 3)
    process.close()
    theirs.close()


def test_a_program_reads_the_same_stdin_served_or_not(tmp_path, servers):
    program = echo_program(tmp_path)
    (program / "__main__.py").write_text(ECHO_PROGRAM + "import sys\npulumi.export('stdin', sys.stdin.read())\n")
    argv = ["--program", str(program), "--stack", "dev", "--policy-pack", str(TINY_PACK)]
    outputs = []
    for setting in ("0", "1", "1"):
        done = subprocess.run([sys.executable, "-m", "rampart", "check", *argv, "--format", "json"], input="piped\n",
                              capture_output=True, text=True, env={**os.environ, "RAMPART_WARM": setting}, check=True)
        outputs.append(json.loads(done.stdout)["stacks"][0]["outputs"]["stdin"])
    assert outputs == ["piped\n"] * 3
    assert served(servers, "worker") == 2


def test_a_relative_pythonpath_is_not_served_and_works_as_without_a_server(tmp_path, servers):
    program = echo_program(tmp_path)
    (program / "lib").mkdir()
    (program / "lib" / "helper.py").write_text("NAME = 'helper'\n")
    (program / "__main__.py").write_text(ECHO_PROGRAM + "import helper\npulumi.export('helper', helper.NAME)\n")
    argv = ["--program", ".", "--stack", "dev", "--policy-pack", str(TINY_PACK), "--format", "json"]
    for setting in ("0", "1", "1"):
        done = subprocess.run([sys.executable, "-m", "rampart", "check", *argv], capture_output=True, text=True,
                              cwd=program, check=False,
                              env={**os.environ, "RAMPART_WARM": setting, "PYTHONPATH": "lib"})
        assert json.loads(done.stdout)["stacks"][0]["outputs"]["helper"] == "helper", done.stderr
    assert served(servers, "worker") == served(servers, "cli") == 0


def test_niceness_and_limits_are_part_of_the_key(monkeypatch):
    import resource

    environ = dict(os.environ)
    key = warm.server_key("worker", environ)
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0 if soft else min(1, hard), hard))
    try:
        assert warm.server_key("worker", environ) != key
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
    assert warm.server_key("worker", environ) == key


def test_under_ci_a_check_starts_no_server_unless_asked(tmp_path, capsys, monkeypatch, servers):
    """A CI job (GitHub Actions sets CI=true; so does .ci/run) runs one check: no server is started or left."""
    assert (warm.enabled({"CI": "true"}), warm.enabled({"CI": "true", "RAMPART_WARM": "1"})) == (False, True)
    assert (warm.enabled({}), warm.enabled({"RAMPART_WARM": "0"})) == (True, False)
    monkeypatch.delenv("RAMPART_WARM")
    monkeypatch.setenv("CI", "true")
    outputs_of(capsys, echo_program(tmp_path), tmp_path / "report.json")
    assert server_pids(servers) == {} and list(servers.iterdir()) == []


@pytest.mark.parametrize(("kind", "modules"), [
    ("worker", ["rampart.engine.worker", "rampart.engine.invokes"]),  # invokes: a program's first data source
    ("pack", ["grpc", "pulumi_policy"]),
    ("cli", ["rampart.engine.analyzer", "rampart.reports.sarif"]),
])
def test_each_server_kind_has_what_its_children_would_import_first(kind, modules):
    probe = (f"import sys; from rampart.engine import warm_kinds; warm_kinds.prepare({kind!r});"
             f"print(*(m in sys.modules for m in {modules!r}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.split() == ["True"] * len(modules)
