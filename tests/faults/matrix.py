"""The commands × faults matrix: each case runs one ops command in-process behind the fault proxy and records the
exit code, what the command said it left behind, and the proofs (foreign things intact, everything it made
labelled and named in its report, no write outside its own)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.faults.proxy import FaultProxy, Rule
from tests.faults.scenarios import (
    SUCCEEDED,
    WRITE_PREFIXES,
    DeployScenario,
    MigrateScenario,
    RestoreScenario,
    Scenario,
    SmokeScenario,
    SnapshotScenario,
    VerifyScenario,
)

ONCE, ALWAYS = 1, None


@dataclass(frozen=True)
class Case:
    command: str
    fault: str
    rules: tuple[Rule, ...]
    expect: int
    """Exit code: 0 when botocore's retries ride the fault out, 1 when it persists, 2 for bad input."""
    extra: tuple[str, ...] = ()
    quick: bool = False
    """In the test suite; the others run in `python -m tests.faults.table` (the whole table, SIGINT included)."""


@dataclass
class Outcome:
    case: Case
    code: int
    left_behind: list[str]
    foreign_intact: bool
    unlabelled: list[str]
    unnamed: list[str]
    stray_writes: list[str]
    message: str

    @property
    def passed(self) -> bool:
        return (self.code == self.case.expect and self.foreign_intact and not self.unlabelled and not self.unnamed
                and not self.stray_writes)


RESULTS: list[Outcome] = []
"""Filled by the test run, printed as the table in pytest's terminal summary."""


def _r(action: str, fault: str, times: int | None = ALWAYS, **more: Any) -> Rule:
    return Rule(action, fault, times=times, **more)


SLOW = {"delay": 2.5}  # beyond the 1 s read timeout the tests give botocore
DEPLOY_ANSWER = _r("GetDeployment", "answer", body=SUCCEEDED)  # moto never moves a deployment past Created

CASES: tuple[Case, ...] = (
    Case("snapshot", "none", (), 0),
    Case("snapshot", "throttle once", (_r("DescribeDBInstances", "throttle", ONCE),), 0),
    Case("snapshot", "throttle", (_r("DescribeDBInstances", "throttle"),), 1, quick=True),
    Case("snapshot", "500", (_r("CreateDBSnapshot", "500"),), 1),
    Case("snapshot", "503 once", (_r("DescribeDBSnapshots", "503", ONCE),), 0),
    Case("snapshot", "AccessDenied", (_r("DeleteDBSnapshot", "denied"),), 1),
    Case("snapshot", "reset", (_r("DeleteDBSnapshot", "reset", resource="20200101"),), 1),
    Case("snapshot", "slow once", (_r("CreateDBSnapshot", "slow", ONCE, **SLOW),), 0),
    Case("snapshot", "endpoint gone", (_r("DeleteDBSnapshot", "gone"),), 1, quick=True),
    Case("snapshot", "response lost", (_r("CreateDBSnapshot", "lost"),), 0, quick=True),
    Case("snapshot", "bad input", (), 2, ("--keep", "0"), quick=True),
    Case("migrate", "none", (), 0),
    Case("migrate", "throttle once", (_r("RunTask", "throttle", ONCE),), 0, quick=True),
    Case("migrate", "AccessDenied", (_r("RunTask", "denied"),), 1),
    Case("migrate", "503", (_r("DescribeTasks", "503"),), 1),
    Case("migrate", "endpoint gone", (_r("DescribeTasks", "gone"),), 1, quick=True),
    Case("migrate", "bad input", (), 2, ("--timeout", "0")),
    Case("deploy", "none", (DEPLOY_ANSWER,), 0),
    Case("deploy", "throttle once", (_r("RegisterTaskDefinition", "throttle", ONCE), DEPLOY_ANSWER), 0),
    Case("deploy", "AccessDenied", (_r("CreateDeployment", "denied"), DEPLOY_ANSWER), 1, quick=True),
    Case("deploy", "reset", (_r("GetDeployment", "reset"),), 1, quick=True),
    # CreateDeployment takes no idempotency token: a retry after a lost answer must not start a second one.
    Case("deploy", "response lost", (_r("CreateDeployment", "lost", ONCE), DEPLOY_ANSWER), 0, quick=True),
    Case("deploy", "endpoint gone", (_r("GetDeployment", "gone"),), 1),
    Case("deploy", "bad input", (DEPLOY_ANSWER,), 2, ("--poll", "-1")),
    Case("restore", "none", (), 0),
    Case("restore", "AccessDenied", (_r("RestoreDBInstanceToPointInTime", "denied"),), 1, quick=True),
    Case("restore", "reset", (_r("RestoreDBInstanceToPointInTime", "reset"),), 1),
    # The target id makes a second copy impossible (RDS refuses a taken id), but the retry's refusal must not
    # read as failure: the run describes the target and carries on with its own copy.
    Case("restore", "response lost", (_r("RestoreDBInstanceToPointInTime", "lost", ONCE),), 0, quick=True),
    Case("restore", "503 once", (_r("DescribeDBInstances", "503", ONCE, resource=RestoreScenario.TARGET,
                                    nth=2),), 0),
    # run in the suite by tests/faults/test_restore_faults.py, with the message and leftBehind checked too
    Case("restore", "throttle", (_r("DescribeDBInstances", "throttle", resource=RestoreScenario.TARGET, nth=2),),
         1),
    Case("restore", "endpoint gone", (_r("DescribeDBInstances", "gone", resource=RestoreScenario.TARGET, nth=2),),
         1),
    Case("restore", "bad input", (), 2, ("--wait-delay", "0")),
    Case("verify", "none", (), 1),  # the world has an alarm in ALARM: drift, exit 1, by design
    Case("verify", "throttle once", (_r("DescribeAlarms", "throttle", ONCE),), 1),
    Case("verify", "AccessDenied", (_r("GetDeploymentGroup", "denied"),), 1, quick=True),
    Case("verify", "reset", (_r("DescribeDBInstances", "reset"),), 1),
    Case("verify", "endpoint gone", (_r("DescribeServices", "gone"),), 1, quick=True),
    Case("smoke", "none", (), 0),
    Case("smoke", "503", (_r("/health", "503"),), 1, quick=True),
    Case("smoke", "reset", (_r("/health", "reset"),), 1),
    Case("smoke", "slow", (_r("/health", "slow", **SLOW),), 1, quick=True),
    Case("smoke", "endpoint gone", (_r("/health", "gone"),), 1),
)


def scenario_for(command: str, tmp: Path) -> Scenario:
    from tests.faults.scenarios import program_dir

    return {"snapshot": SnapshotScenario, "deploy": DeployScenario, "migrate": MigrateScenario,
            "smoke": SmokeScenario, "restore": RestoreScenario}.get(command, lambda: VerifyScenario(program_dir(tmp)))()


def run_case(case: Case, direct: Callable[[str], Any], aws_proxy: FaultProxy, tmp: Path) -> Outcome:
    from rampart.cli import main

    scenario = scenario_for(case.command, tmp)
    argv = [*scenario.arrange(direct, tmp), *case.extra, "--format", "json"]
    proxy = aws_proxy
    if isinstance(scenario, SmokeScenario):
        proxy = FaultProxy(scenario.upstream()).start()
        argv = [proxy.url if arg == "{proxy}" else arg for arg in argv]
    proxy.reset(*case.rules)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        return _judge(case, scenario, direct, proxy, code, out.getvalue(), err.getvalue())
    finally:
        scenario.close()
        if proxy is not aws_proxy:
            proxy.stop()
        aws_proxy.rules = []  # the call log stays, for whoever wants the steps


def _judge(case: Case, scenario: Scenario, direct: Callable[[str], Any], proxy: FaultProxy, code: int,
           out: str, err: str) -> Outcome:
    report = json.loads(out) if out.strip() else {}
    text = out + err
    created = scenario.created(direct)
    left = list(report.get("result", {}).get("leftBehind") or [])
    failures = [s["detail"] for s in report.get("steps", []) if s.get("status") == "fail"]
    message = (failures[-1] if failures else err.strip().splitlines()[-1] if err.strip() else "ok")
    writes = {c.action for c in proxy.calls if c.action.startswith(WRITE_PREFIXES)}
    return Outcome(
        case=case, code=code, left_behind=left, foreign_intact=scenario.foreign_intact(direct),
        unlabelled=sorted(name for name, labelled in created.items() if not labelled),
        unnamed=sorted(name for name in created if name not in text),
        stray_writes=sorted(writes - scenario.writes),
        message=message if "Traceback" not in text else "TRACEBACK: " + message,
    )


def table(outcomes: list[Outcome]) -> str:
    """Markdown: one row per case, the proofs as yes/no."""
    rows = ["| command | fault | exit (expected) | left behind | foreign intact | all labelled | all named | "
            "message |", "|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        left = "; ".join(item.split(" (", 1)[0] for item in o.left_behind) or "nothing"
        rows.append(f"| {o.case.command} | {o.case.fault} | {o.code} ({o.case.expect}) | {_short(left, 60)} | "
                    f"{'yes' if o.foreign_intact else 'NO'} | {'yes' if not o.unlabelled else 'NO'} | "
                    f"{'yes' if not o.unnamed else 'NO'} | {_short(o.message, 70)} |")
    return "\n".join(rows)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.replace("|", "/").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
