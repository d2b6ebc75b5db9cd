"""The HTML page as text: self-contained (nothing to fetch), every value from the program escaped, inline blocks
allowed by hash only. How it behaves in a browser: tests/reports/test_html_report_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rampart.reports import html_report
from tests.support.report_samples import HOSTILE_NAME, sample_report


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.tags


def test_nothing_is_loaded_from_anywhere():
    page = html_report.render(sample_report())
    tags = _elements(page)
    assert not [t for t, a in tags if t in ("link", "img", "iframe", "object", "embed")]
    assert not [a for t, a in tags if t == "script" and "src" in a]
    assert "@import" not in page and "url(" not in page
    [csp] = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-") and "script-src 'sha256-" in csp


def test_only_the_pages_own_script_and_style_are_allowed_by_hash():
    page = html_report.render(sample_report())
    assert page.count("<script>") == 1 and page.count("<style>") == 1
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert html_report._csp_hash(script) in html_report.CONTENT_SECURITY_POLICY


def test_names_messages_and_waivers_are_text():
    page = html_report.render(sample_report())
    assert HOSTILE_NAME not in page
    assert 'db&quot;&gt;&lt;img src=x onerror=&quot;document.title=&#x27;injected&#x27;&quot;&gt;' in page
    assert "single AZ accepted &lt;until&gt; the move" in page
    # one data attribute per filter on every row, values quoted and escaped
    rows = [a for t, a in _elements(page) if t == "tr" and "data-stack" in a]
    assert len(rows) == sum(len(s.findings) for s in sample_report().stacks)
    assert {r["data-state"] for r in rows} == {"violation", "undeterminable", "waived"}


def test_waivers_show_reason_approver_and_expiry():
    page = html_report.render(sample_report())
    assert re.search(r"single AZ accepted &lt;until&gt; the move<br><span class=\"muted\">approved by "
                     r"head-of-platform, expires <time>2099-12-31</time>", page)
