"""SIGINT at every step: the command runs as `python -m rampart` in a subprocess, and the proxy interrupts it
when it sees the Nth AWS call (before forwarding it, so the signal lands while the command waits on that call)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.faults.matrix import DEPLOY_ANSWER
from tests.faults.proxy import FaultProxy, Rule
from tests.faults.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Interrupted:
    command: str
    step: int
    action: str
    code: int
    traceback: bool
    left_behind: list[str]
    unnamed: list[str]
    unlabelled: list[str]
    foreign_intact: bool

    @property
    def passed(self) -> bool:
        return (self.code == 130 and not self.traceback and not self.unnamed and not self.unlabelled
                and self.foreign_intact)


def reset_moto(endpoint: str) -> None:
    host, _, port = endpoint.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "/moto-api/reset")
    connection.getresponse().read()
    connection.close()


def rampart(argv: list[str], endpoint: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "rampart", *argv], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def interrupt_at(step: int, scenario: Scenario, direct: Callable[[str], Any], proxy: FaultProxy,
                 tmp: Path, action: str = "*") -> Interrupted:
    """Arrange the world afresh, run the command, SIGINT it at its `step`-th AWS call (of `action`, or of any),
    and judge what is left."""
    reset_moto(proxy.upstream)
    argv = [*scenario.arrange(direct, tmp), "--format", "json"]
    answers = (DEPLOY_ANSWER,) if scenario.command == "deploy" else ()
    proxy.reset(Rule(action, "sigint", nth=step, times=1), *answers)
    process = rampart(argv, proxy.url)
    proxy.sigint_pid = process.pid
    out, err = process.communicate(timeout=120)
    report = json.loads(out) if out.strip() else {}
    created = scenario.created(direct)
    text = out + err
    # A create cut off before its answer has no id to name: the report saying "it may exist" is the honest answer.
    unsure = any("may exist" in item for item in report.get("result", {}).get("leftBehind") or [])
    fired = [call.action for call in proxy.calls if call.fault == "sigint"]
    return Interrupted(
        command=scenario.command, step=step, action=fired[0] if fired else "(never reached)",
        code=process.returncode, traceback="Traceback" in err,
        left_behind=list(report.get("result", {}).get("leftBehind") or []),
        unnamed=sorted(name for name in created if name not in text and not unsure),
        unlabelled=sorted(name for name, labelled in created.items() if not labelled),
        foreign_intact=scenario.foreign_intact(direct),
    )


def interrupt_during_startup(delay: float, argv: list[str], proxy: FaultProxy,
                             with_stdout: bool = False) -> tuple[Any, ...]:
    """SIGINT `delay` seconds after launch, while every AWS call is held: (exit code, stderr[, stdout])."""
    proxy.reset(Rule("*", "slow", times=None, delay=30))
    process = rampart(argv, proxy.url)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return (process.returncode, err, out) if with_stdout else (process.returncode, err)
