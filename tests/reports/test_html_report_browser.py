"""The HTML report in a real headless browser: Debian's chromium driven by Playwright (`executable_path`; browser
builds cannot be downloaded here). `make test` first runs `make browser`, which installs chromium when it is
missing and it can (root or passwordless sudo, apt-get). Without a browser this test FAILS, naming what to do:
a skipped browser test would let a broken page through CI unnoticed.

The filters are applied one by one and together; the rows left visible must be exactly the findings that match.
The page loads nothing from the network, runs no script but its own, and shows no secret."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rampart.reports import html_report
from tests.support.report_samples import HOSTILE_NAME, sample_report

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "tests" / "fixtures" / "programs" / "audit_report"


def _secrets() -> list[str]:
    """Every value the program's stacks hold as a secret (each names SENTINEL, as does the program's literal
    credential) and the `secure:` ciphertext as written."""
    ciphertexts = [line.split("secure:", 1)[1].split("#", 1)[0].strip()
                   for line in (AUDIT / "Pulumi.production.yaml").read_text().splitlines() if "secure:" in line]
    assert ciphertexts
    return ["SENTINEL", *ciphertexts]


def chromium_path() -> str:
    candidates = [os.environ.get("RAMPART_CHROMIUM", ""), shutil.which("chromium") or "",
                  shutil.which("chromium-browser") or ""]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.fail("no chromium for the HTML report's browser test: run `make browser` (installs Debian's "
                    "chromium with apt-get) or set RAMPART_CHROMIUM to a Chromium binary", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        yield launched
        launched.close()


def _open(browser, path: Path):
    """The page, with every request it makes and every console error collected."""
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, errors


def _visible(page) -> list[tuple[str, str, str, str]]:
    """(stack, state, severity, rule) of each row the browser lays out, read from the cells a reader sees."""
    cells = page.eval_on_selector_all(
        "#findings tbody tr",
        "rows => rows.filter(r => r.getClientRects().length > 0).map(r => Array.from(r.cells, c => c.innerText))",
    )
    return sorted((c[0], c[1].split(" ", 1)[1], c[3], c[4]) for c in cells)


def _select(page, **wanted: str) -> None:
    page.locator("#filters button[type=reset]").click()
    # The page re-filters in a timeout after the reset (the reset event comes before the controls are reset): a
    # timeout queued now runs after it, so the rows are read once the page has applied the reset.
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 0))")
    for name, value in wanted.items():
        page.select_option(f"select[name={name}]", value)


def test_each_filter_leaves_exactly_the_matching_rows(browser, tmp_path):
    report = sample_report()
    path = tmp_path / "report.html"
    path.write_text(html_report.render(report), encoding="utf-8")
    page, requests, errors = _open(browser, path)
    every = sorted((s.stack, f.state, f.severity, f.policy) for s in report.stacks for f in s.findings)
    assert _visible(page) == every and page.locator("#shown").inner_text() == str(len(every))
    position = {"stack": 0, "state": 1, "severity": 2, "rule": 3}
    for name, index in position.items():
        for value in page.locator(f"select[name={name}] option").all_inner_texts()[1:]:
            _select(page, **{name: value})
            expected = [row for row in every if row[index] == value]
            assert expected and _visible(page) == expected, (name, value)
            assert page.locator("#shown").inner_text() == str(len(expected))
    _select(page, stack="production", state="violation", severity="high")
    assert _visible(page) == [("production", "violation", "high", "rds-snapshot-hygiene"),
                              ("production", "violation", "high", "secrets-in-environment")]
    _select(page)
    assert len(_visible(page)) == len(every)
    # nothing the program named ran, nothing was fetched, the page's own script ran under its CSP
    assert page.title() == "rampart check: mandatory violations"
    assert page.locator("tbody img, tbody script").count() == 0
    assert HOSTILE_NAME in page.locator("#findings").inner_text()
    assert requests == [path.as_uri()] and errors == []


def test_rampart_check_format_html_end_to_end(browser, tmp_path):
    out = tmp_path / "audit.html"
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(AUDIT), "--policy-pack", str(ROOT / "policies"),
         "--policy-config-dir", str(AUDIT / "pack-config"), "--format", "html", "--output", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    page, requests, errors = _open(browser, out)
    content = page.content() + out.read_text(encoding="utf-8") + completed.stdout + completed.stderr
    assert not [secret for secret in _secrets() if secret in content]
    assert requests == [out.as_uri()] and errors == [] and page.title() == "rampart check: mandatory violations"
    rows = _visible(page)
    assert {row[0] for row in rows} == {"production", "staging"}
    # the misconfigured database: one row per rule, each listing every failing property
    hygiene = page.locator("#findings tbody tr[data-rule='rds-snapshot-hygiene'][data-stack='production']")
    assert hygiene.count() == 1 and hygiene.locator("li").count() >= 3
    _select(page, state="waived")
    [waived] = page.locator("#findings tbody tr:visible").all()
    assert "rds-multi-az" in waived.inner_text() and "expires 2099-12-31" in waived.inner_text()
    assert "single AZ is accepted <b>until</b> the move" in waived.inner_text()  # markup shown as text
    _select(page, stack="staging", state="undeterminable")
    assert {row[3] for row in _visible(page)} >= {"iam-no-admin"}
    assert all(row[:2] == ("staging", "undeterminable") for row in _visible(page))
