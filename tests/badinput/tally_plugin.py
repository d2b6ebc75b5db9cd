"""The harness's counts for the whole session, with or without pytest-xdist (`make test` runs `-n 2`): each
worker hands its tally to the controller, which prints the sum. Registered by tests/conftest.py, because only a
root conftest's plugins load in the xdist controller, which collects nothing."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.badinput.harness import TALLY

_KEY = "badinput_tally"


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: execnet carries plain dicts
        workeroutput[_KEY] = {"cases": TALLY.cases, "via": dict(TALLY.via), "exit_codes": dict(TALLY.exit_codes),
                              "tracebacks": TALLY.tracebacks, "hangs": TALLY.hangs, "secrets": TALLY.secrets}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001 (the xdist hook's signature)
    tally = getattr(node, "workeroutput", {}).get(_KEY)
    if not tally:
        return
    TALLY.cases += tally["cases"]
    TALLY.via.update(Counter(tally["via"]))
    TALLY.exit_codes.update(Counter(tally["exit_codes"]))
    TALLY.tracebacks += tally["tracebacks"]
    TALLY.hangs += tally["hangs"]
    TALLY.secrets += tally["secrets"]


def pytest_terminal_summary(terminalreporter) -> None:
    if TALLY.cases:
        terminalreporter.write_line(TALLY.line())
