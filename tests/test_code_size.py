"""No file over about 400 lines: every Python file in policies/, components/, infra/ and rampart/ has at most
MAX_LINES lines, so a module holds one concern and can be read whole. A file that grows past it is split by concern
(the policy pack's groups show the pattern: `guardrails/<group>.py` assembles `POLICIES` from
`guardrails/<group>_<concern>.py`). Generated data (policies/config/*.json) is not code and is not counted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("policies", "components", "infra", "rampart")
MAX_LINES = 400

# Files other people are splitting right now. Remove an entry when its split lands; never add one to dodge a split.
ALLOWED: dict[str, str] = {}


def line_count(text: str) -> int:
    return len(text.splitlines())


def too_long(files: dict[str, str], max_lines: int = MAX_LINES) -> list[str]:
    """`path (N lines)` for every file (path -> text) longer than max_lines and not allow-listed."""
    return [
        f"{path} ({line_count(text)} lines)"
        for path, text in sorted(files.items())
        if line_count(text) > max_lines and path not in ALLOWED
    ]


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_no_file_is_longer_than_about_400_lines():
    offenders = too_long(_sources())
    assert offenders == [], f"files longer than {MAX_LINES} lines (split them by concern): {offenders}"


def test_the_scan_sees_every_package():
    """Guards against a vacuous pass: each package is there and holds Python files."""
    sources = _sources()
    for package in PACKAGES:
        assert any(path.startswith(f"{package}/") for path in sources), package


@pytest.mark.parametrize("lines, flagged", [(MAX_LINES, False), (MAX_LINES + 1, True)])
def test_the_limit_is_on_lines(lines, flagged):
    text = "".join(f"x{i} = {i}\n" for i in range(lines))
    assert too_long({"policies/guardrails/big.py": text}) == (
        [f"policies/guardrails/big.py ({MAX_LINES + 1} lines)"] if flagged else []
    )


def test_allow_listed_files_are_exempt_and_only_they(monkeypatch):
    monkeypatch.setitem(ALLOWED, "rampart/engine/recorder.py", "an entry for this test")
    text = "x = 1\n" * (MAX_LINES + 1)
    assert too_long({"rampart/engine/recorder.py": text, "rampart/engine/other.py": text}) == [
        f"rampart/engine/other.py ({MAX_LINES + 1} lines)"
    ]


def test_allow_list_entries_name_real_files():
    """A stale entry (renamed or deleted file) would exempt nothing and hide that the split landed."""
    assert [path for path in ALLOWED if not (ROOT / path).is_file()] == []
