"""The secret scan fails on a finding the audited baseline lacks, and never because a known one moved."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import scan_secrets  # noqa: E402

BASELINE = json.loads((ROOT / ".secrets.baseline").read_text())


def test_the_tree_matches_its_audited_baseline():
    assert scan_secrets.main([]) == 0


def test_a_known_finding_on_another_line_passes(monkeypatch):
    moved = copy.deepcopy(BASELINE)
    for found in moved["results"].values():
        for finding in found:
            finding["line_number"] += 7
    monkeypatch.setattr(scan_secrets, "scan", lambda: moved)
    assert scan_secrets.main([]) == 0


def test_a_new_finding_fails(monkeypatch, capsys):
    extra = copy.deepcopy(BASELINE)
    extra["results"].setdefault("infra/stack.py", []).append(
        {"type": "AWS Access Key", "filename": "infra/stack.py", "hashed_secret": "0" * 40, "is_verified": False,
         "line_number": 12})
    monkeypatch.setattr(scan_secrets, "scan", lambda: extra)
    assert scan_secrets.main([]) == 1
    assert "infra/stack.py:12: possible secret (AWS Access Key)" in capsys.readouterr().err
