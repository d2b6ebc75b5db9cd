"""Run an ops command body: live status, failures recorded as a step, the report rendered either way."""

from __future__ import annotations

from collections.abc import Callable

from rampart.errors import OperationFailed
from rampart.ops.aws import AWS_FAILURES, last_call, translate
from rampart.ops.report import Report


def execute(report: Report, fmt: str, body: Callable[[Report], None],
            extra_text: Callable[[], list[str]] | None = None) -> int:
    # UsageError propagates (exit 2, message printed by the CLI); an operational failure still renders the steps
    # done so far, so CI logs and --format json show how far it got.
    try:
        with report.live():
            body(report)
    except OperationFailed as exc:
        report.fail("error", str(exc))
    except AWS_FAILURES as exc:  # a call outside any `calling(...)`: still a message, not a trace
        report.fail("error", str(translate(exc, *last_call())))
    except KeyboardInterrupt:
        # CI cancels a job with SIGINT: say what this run had already made, so nobody has to guess what to clean.
        left = report.result.get("leftBehind") or []
        report.fail("interrupted", "SIGINT: stopped; " + ("left behind: " + "; ".join(left) if left
                                                           else "nothing created"))
        report.exit_code_override = 130
    report.render(fmt, extra_text() if extra_text else None)
    return report.exit_code
