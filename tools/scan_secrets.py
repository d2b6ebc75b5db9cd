"""Secret scan over every tracked file: fail on any finding that is not in the audited `.secrets.baseline`.

detect-secrets' own hook rewrites the baseline whenever a known finding moves to another line and then fails,
which makes a clean checkout fail after any edit above a test fixture. This compares findings by file, type and
hashed value only, so moving code never fails and a new secret always does.

    python tools/scan_secrets.py            # exit 1 on a finding missing from the baseline
    python tools/scan_secrets.py --update   # re-audit: write the current findings as the baseline
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".secrets.baseline"
# `secure:` values in Pulumi.<stack>.yaml are ciphertext, not secrets.
EXCLUDE_LINES = r"^\s+secure:\s"
EXCLUDE_FILES = r"^(uv\.lock|\.secrets\.baseline)$"


def scan() -> dict:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    detect = Path(sys.executable).with_name("detect-secrets")
    completed = subprocess.run(
        [str(detect), "scan", "--exclude-lines", EXCLUDE_LINES, "--exclude-files", EXCLUDE_FILES, *files],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(completed.stdout)


def fingerprints(results: dict) -> set[tuple[str, str, str]]:
    return {(path, f["type"], f["hashed_secret"]) for path, found in results.items() for f in found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="write the current findings as the baseline")
    args = parser.parse_args(argv)
    current = scan()
    if args.update:
        BASELINE.write_text(json.dumps(current, indent=2) + "\n")
        return 0
    audited = fingerprints(json.loads(BASELINE.read_text())["results"])
    new = sorted(fingerprints(current["results"]) - audited)
    for path, kind, _ in new:
        lines = sorted(f["line_number"] for f in current["results"][path] if f["type"] == kind)
        print(f"{path}:{','.join(map(str, lines))}: possible secret ({kind}) not in .secrets.baseline",
              file=sys.stderr)
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
