"""`python -m tests.faults.table`: the whole commands × faults table, SIGINT at each AWS call included.

The test suite runs a representative part (tests/faults/test_matrix.py, test_sigint.py); this runs every case,
each in a fresh moto world behind a fresh proxy, and prints the markdown table the README quotes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.faults.conftest import quick_retries
from tests.faults.matrix import CASES, Outcome, run_case, table
from tests.faults.proxy import FaultProxy
from tests.faults.scenarios import (
    DeployScenario,
    MigrateScenario,
    RestoreScenario,
    SnapshotScenario,
    VerifyScenario,
    program_dir,
)
from tests.faults.sigint import Interrupted, interrupt_at, interrupt_during_startup, reset_moto
from tests.ops.conftest import REGION


def _environment(patch: pytest.MonkeyPatch, endpoint: str, tmp: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        patch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                        "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
                        "MOTO_ECS_SERVICE_RUNNING": "2", "AWS_ENDPOINT_URL": endpoint}.items():
        patch.setenv(name, value)


def _faults(endpoint: str, tmp: Path, patch: pytest.MonkeyPatch) -> list[Outcome]:
    direct = lambda service: boto3.client(service, region_name=REGION, endpoint_url=endpoint)  # noqa: E731
    outcomes = []
    for index, case in enumerate(CASES):
        reset_moto(endpoint)
        proxy = FaultProxy(endpoint).start()
        patch.setenv("AWS_ENDPOINT_URL", proxy.url)
        try:
            (tmp / f"case{index}").mkdir()
            outcomes.append(run_case(case, direct, proxy, tmp / f"case{index}"))
        finally:
            proxy.stop()
        print(f"  {case.command:<9} {case.fault:<14} exit {outcomes[-1].code}", file=sys.stderr)
    return outcomes


def _sigint(endpoint: str, tmp: Path, patch: pytest.MonkeyPatch) -> list[Interrupted]:
    direct = lambda service: boto3.client(service, region_name=REGION, endpoint_url=endpoint)  # noqa: E731
    results: list[Interrupted] = []
    for make in (SnapshotScenario, MigrateScenario, DeployScenario, RestoreScenario,
                 lambda: VerifyScenario(program_dir(tmp))):
        baseline = make()
        proxy = FaultProxy(endpoint).start()
        patch.setenv("AWS_ENDPOINT_URL", proxy.url)
        try:
            case = next(c for c in CASES if c.command == baseline.command and c.fault == "none")
            reset_moto(endpoint)
            (tmp / f"base-{baseline.command}").mkdir()
            run_case(case, direct, proxy, tmp / f"base-{baseline.command}")
            # Each kind of call the command makes, at its first occurrence (a poll repeated N times is one step).
            actions = list(dict.fromkeys(proxy.actions()))
            for step, action in enumerate(actions, start=1):
                (tmp / f"{baseline.command}-{step}").mkdir()
                results.append(interrupt_at(1, make(), direct, proxy, tmp / f"{baseline.command}-{step}",
                                            action=action))
                print(f"  SIGINT {baseline.command} {step}/{len(actions)} {action}: exit {results[-1].code}",
                      file=sys.stderr)
        finally:
            proxy.stop()
    return results


def sigint_table(results: list[Interrupted], startup: list[tuple[int, bool]]) -> str:
    rows = ["| command | SIGINT at | runs | exit codes | tracebacks | all named | foreign intact |",
            "|---|---|---|---|---|---|---|"]
    for command in dict.fromkeys(r.command for r in results):
        mine = [r for r in results if r.command == command]
        codes = Counter(r.code for r in mine)
        rows.append(f"| {command} | each AWS call ({', '.join(r.action for r in mine)}) | {len(mine)} | "
                    f"{', '.join(f'{c}×{n}' for c, n in codes.items())} | {sum(r.traceback for r in mine)} | "
                    f"{'yes' if all(not r.unnamed for r in mine) else 'NO'} | "
                    f"{'yes' if all(r.foreign_intact for r in mine) else 'NO'} |")
    if startup:
        codes = Counter(code for code, _ in startup)
        rows.append(f"| snapshot | start-up (0.2–1.0 s after launch) | {len(startup)} | "
                    f"{', '.join(f'{c}×{n}' for c, n in codes.items())} | {sum(t for _, t in startup)} | – | – |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.table")
    parser.add_argument("--no-sigint", action="store_true", help="skip the subprocess SIGINT runs")
    args = parser.parse_args(argv)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    patch = pytest.MonkeyPatch()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        _environment(patch, endpoint, tmp)
        quick_retries(patch)
        try:
            outcomes = _faults(endpoint, tmp, patch)
            print(table(outcomes), flush=True)
            interrupted = [] if args.no_sigint else _sigint(endpoint, tmp, patch)
            startup: list[tuple[int, bool]] = []
            if not args.no_sigint:
                proxy = FaultProxy(endpoint).start()
                for delay in (0.2, 0.5, 1.0):
                    code, err = interrupt_during_startup(delay, ["snapshot", "--db-instance", "app-db"], proxy)
                    startup.append((code, "Traceback" in err))
                proxy.stop()
        finally:
            patch.undo()
            server.stop()
    if interrupted or startup:
        print()
        print(sigint_table(interrupted, startup))
    failed = [o for o in outcomes if not o.passed] + [r for r in interrupted if not r.passed]
    failed_startup = [s for s in startup if s != (130, False)]
    runs = len(outcomes) + len(interrupted) + len(startup)
    print(f"\n{runs} runs: {runs - len(failed) - len(failed_startup)} as expected; "
          f"{sum(not o.foreign_intact for o in outcomes) + sum(not r.foreign_intact for r in interrupted)} with a "
          f"foreign resource touched; {sum(bool(o.unlabelled) for o in outcomes)} with something unlabelled; "
          f"{sum('TRACEBACK' in o.message for o in outcomes) + sum(r.traceback for r in interrupted)} tracebacks")
    return 1 if failed or failed_startup else 0


if __name__ == "__main__":
    sys.exit(main())
