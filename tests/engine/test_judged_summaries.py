"""Each resource's report summary (its redacted inputs) is built as the program declares it, while the pack judges
it, not after the program ends; AnalyzeStack is sent before the exports are redacted, so the pack and this process
work at once. The redactor's contract holds all the same: it has seen every input and every export before it scrubs
a finding's message (a secret that only an export holds is still scrubbed from a stack finding that quotes it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rampart.engine import check
from rampart.engine.pack_info import Diagnostic, PackInfo
from rampart.engine.values import SECRET_SIG, SECRET_SIG_KEY, Registration
from rampart.reports.model import StackResult
from rampart.reports.redaction import CREDENTIAL_MARKER, SECRET_MARKER, Redactor

INPUT_SECRET = "input-only-secret-value"  # noqa: S105 (a fixture value)
EXPORT_SECRET = "export-only-secret-value"  # noqa: S105


def _declared(name: str) -> dict[str, Any]:
    registration = Registration(
        urn=f"urn:pulumi:dev::p::aws:s3/bucket:Bucket::{name}", type="aws:s3/bucket:Bucket", name=name, custom=True,
        parent="", dependencies=(), property_dependencies={}, protect=False, ignore_changes=(),
        delete_before_replace=False, retain_on_delete=False, aliases=(), custom_timeouts={}, provider="",
        additional_secret_outputs=(), replace_on_changes=(),
        inputs={"bucket": name, "masterPassword": INPUT_SECRET if name == "a" else "", "acl": "private"},
    )
    return dataclasses.asdict(registration)  # as the worker streams it


class _Runs:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def registrations(self, stack: str) -> Iterator[dict[str, Any]]:
        for name in ("a", "b", "c"):
            self.log.append(f"declared {name}")
            yield _declared(name)

    def result(self, stack: str) -> dict[str, Any]:
        self.log.append("program result")
        return {"outputs": {"dbPassword": {SECRET_SIG_KEY: SECRET_SIG, "value": EXPORT_SECRET}}, "stackFile": ""}


class _Pack:
    stack = ""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def configure(self, config: Any) -> dict[str, str]:
        return {}

    def analyze_all(self, registrations: Iterator[Registration]) -> list[Diagnostic]:
        for registration in registrations:
            self.log.append(f"Analyze {registration.name}")
        return [Diagnostic("input-rule", f"quotes {INPUT_SECRET}", "advisory", "low", "urn:a", "urn:a")]

    def start_analyze_stack(self, registrations: list[Registration]) -> Callable[[], list[Diagnostic]]:
        self.log.append(f"AnalyzeStack sent ({len(registrations)})")

        def answer() -> list[Diagnostic]:
            self.log.append("AnalyzeStack answered")
            return [Diagnostic("stack-rule", f"quotes {EXPORT_SECRET} and {INPUT_SECRET}", "advisory", "low", "")]

        return answer


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    entries: list[str] = []

    class Spy(Redactor):
        def redact(self, value: Any) -> Any:
            entries.append(f"redact {value.get('bucket', 'exports')}")
            return super().redact(value)

        def scrub(self, text: str) -> str:
            entries.append("scrub a message")
            return super().scrub(text)

    monkeypatch.setattr(check, "Redactor", Spy)
    return entries


def _check(log: list[str], tmp_path: Path) -> StackResult:
    pack, runs = _Pack(log), _Runs(log)
    judged, data = check._judge_while_running(pack, runs, "dev", {}, tmp_path)  # type: ignore[arg-type]
    result = StackResult(stack="dev")
    check._analyze(pack, PackInfo("p", "1", {}), result, data, judged, lambda _: None)  # type: ignore[arg-type]
    return result


def test_summaries_are_built_as_resources_stream_in_and_exports_while_the_pack_judges_the_stack(log, tmp_path):
    _check(log, tmp_path)
    assert log[:log.index("program result")] == [
        "declared a", "Analyze a", "redact a",  # each one summarised once the pack has it, before the next
        "declared b", "Analyze b", "redact b",
        "declared c", "Analyze c", "redact c",
    ]
    after = log[log.index("program result"):]
    assert after[:4] == ["program result", "AnalyzeStack sent (3)", "redact exports", "AnalyzeStack answered"]
    assert after[4:] and set(after[4:]) == {"scrub a message"}  # only then: every input and export seen


def test_findings_are_scrubbed_of_secrets_only_an_export_or_only_an_input_holds(log, tmp_path):
    result = _check(log, tmp_path)
    messages = {f.policy: f.message for f in result.findings}
    assert messages == {"stack-rule": f"quotes {SECRET_MARKER} and {CREDENTIAL_MARKER}",
                        "input-rule": f"quotes {CREDENTIAL_MARKER}"}
    assert [r.name for r in result.resources] == ["a", "b", "c"]
    assert result.resources[0].inputs["masterPassword"] == CREDENTIAL_MARKER
    assert result.outputs == {"dbPassword": SECRET_MARKER}
