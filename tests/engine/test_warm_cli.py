"""`rampart check` served by the CLI's warm server (rampart.engine.warm.run_cli): what the user sees (stdout,
stderr, exit code) is what a check run in its own process shows, and Ctrl-C still interrupts it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.warm_servers import served, server_pids, warm_servers

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TINY = ["--program", str(FIXTURES / "programs" / "tiny"), "--policy-pack", str(FIXTURES / "packs" / "tiny")]


@pytest.fixture
def servers(monkeypatch):
    with warm_servers(monkeypatch) as directory:
        yield directory


def rampart(*argv: str, warm: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rampart", *argv], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "RAMPART_WARM": warm}, check=False, timeout=300)


def shown(done: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    timing = re.compile(r"\(\d+\.\d+s\)|in \d+\.\d+s")
    return done.returncode, timing.sub("(T)", done.stdout), timing.sub("(T)", done.stderr)


@pytest.mark.parametrize("argv", [
    ("check", *TINY, "--stack", "staging"),                        # a text report
    ("check", *TINY, "--stack", "staging", "--format", "json"),    # a JSON report on stdout
    ("check", "--stack", "production", "--format", "markdown"),     # the project's own stack: exit 0 or 1
    ("check", *TINY, "--stack", "nowhere"),                         # a usage error: exit 2, one message
])
def test_a_served_check_shows_what_a_check_in_its_own_process_shows(servers, argv):
    cold = shown(rampart(*argv, warm="0"))
    first = rampart(*argv, warm="1")
    assert served(servers, "cli") == 1  # the first one started the servers, and was served
    second = shown(rampart(*argv, warm="1"))
    assert served(servers, "cli") == 2
    assert shown(first) == cold
    assert second == cold
    assert "Traceback" not in second[2]


def test_help_and_other_commands_are_not_served(servers):
    assert rampart("check", "--help", warm="1").returncode == 0
    assert rampart("--help", warm="1").returncode == 0
    assert server_pids(servers) == {}


def test_ctrl_c_interrupts_a_served_check_and_leaves_nothing_running(tmp_path, servers):
    program = tmp_path / "slow"
    program.mkdir()
    (program / "__main__.py").write_text("import time\nimport pulumi\ntime.sleep(60)\n")
    (program / "Pulumi.yaml").write_text("name: slow\nruntime: python\n")
    (program / "Pulumi.dev.yaml").write_text("config: {}\n")
    argv = ["check", "--program", str(program), "--stack", "dev", "--policy-pack", str(FIXTURES / "packs" / "tiny")]
    rampart(*argv, "--program-timeout", "1", warm="1")  # starts the servers
    servers_before = server_pids(servers)
    client = subprocess.Popen([sys.executable, "-m", "rampart", *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "RAMPART_WARM": "1"})
    time.sleep(3)  # the program is asleep by now
    client.send_signal(signal.SIGINT)
    _, stderr = client.communicate(timeout=60)
    assert client.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert server_pids(servers) == servers_before
    deadline = time.monotonic() + 10
    while _children_of(servers_before.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _children_of(servers_before.values()) == []


def _children_of(parents) -> list[int]:
    parents = set(parents)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in parents and fields[0] != "Z":
                found.append(int(entry))
    return found


def slow_program(tmp_path: Path, seconds: float) -> list[str]:
    program = tmp_path / "slow"
    program.mkdir()
    (program / "__main__.py").write_text(f"import time\nimport pulumi\ntime.sleep({seconds})\npulumi.export('x', 1)\n")
    (program / "Pulumi.yaml").write_text("name: slow\nruntime: python\n")
    (program / "Pulumi.dev.yaml").write_text("config: {}\n")
    return ["check", "--program", str(program), "--stack", "dev", "--policy-pack", str(FIXTURES / "packs" / "tiny"),
            "--format", "json"]


def test_a_check_whose_cli_server_dies_midway_still_ends_with_its_own_code(tmp_path, servers):
    argv = slow_program(tmp_path, 4)
    cold = rampart(*argv, warm="0")
    rampart(*argv, warm="1")  # starts the servers
    cli_server = server_pids(servers)["cli"]
    client = subprocess.Popen([sys.executable, "-m", "rampart", *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "RAMPART_WARM": "1"})
    time.sleep(2)
    os.kill(cli_server, signal.SIGKILL)
    stdout, stderr = client.communicate(timeout=120)
    assert (client.returncode, stdout) == (cold.returncode, cold.stdout), stderr
    assert served(servers, "cli") == 2


def test_a_check_that_ignores_hangup_keeps_ignoring_it_when_served(tmp_path, servers):
    """`nohup rampart check ... &`: a hangup neither stops the stand-in nor reaches the check."""
    argv = slow_program(tmp_path, 3)
    cold = rampart(*argv, warm="0")
    rampart(*argv, warm="1")
    client = subprocess.Popen([sys.executable, "-m", "rampart", *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "RAMPART_WARM": "1"},
                              preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # noqa: PLW1509
    time.sleep(1.5)
    client.send_signal(signal.SIGHUP)
    stdout, stderr = client.communicate(timeout=120)
    assert (client.returncode, stdout) == (cold.returncode, cold.stdout), stderr
    assert served(servers, "cli") == 2


def test_a_new_file_in_the_directory_a_served_check_runs_in_starts_no_new_server(tmp_path, servers):
    """`python -m rampart` puts its working directory first on the path; a served CLI's key for the worker and pack
    servers must not depend on it (each new file there started two new servers)."""
    argv = slow_program(tmp_path, 0)
    program = Path(argv[2])
    for name in ("first.json", "second.json", "third.json"):
        rampart(*argv, "--output", name, warm="1", cwd=program)
    assert len(list(servers.glob("worker-*.sock"))) == len(list(servers.glob("pack-*.sock"))) == 1
    assert served(servers, "worker") == served(servers, "cli") == 3
