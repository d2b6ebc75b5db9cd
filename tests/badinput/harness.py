"""What every bad-input case must show, and the tally the harness prints at the end of the session."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.badinput.cases import SENTINEL


@dataclass
class Tally:
    cases: int = 0
    via: Counter = field(default_factory=Counter)
    """How each case was run: `rampart check` itself, or the engine's config path in process (config_path.py)."""
    exit_codes: Counter = field(default_factory=Counter)
    tracebacks: int = 0
    hangs: int = 0
    secrets: int = 0

    def line(self) -> str:
        codes = ", ".join(f"exit {code}: {count}" for code, count in sorted(self.exit_codes.items(), key=str))
        ways = ", ".join(f"{count} via {way}" for way, count in sorted(self.via.items()))
        return (f"bad-input harness: {self.cases} cases ({ways}; {codes}); tracebacks {self.tracebacks}, "
                f"hangs {self.hangs}, secrets echoed {self.secrets}")


TALLY = Tally()


def judge(code: int | None, message: str, *, expected_code: int, must_name: tuple[str, ...],
          via: str = "the CLI") -> None:
    """Record the case, then assert: the exit code, every name in the one message, no traceback, no secret."""
    TALLY.cases += 1
    TALLY.via[via] += 1
    TALLY.exit_codes[code if code is not None else "hang"] += 1
    TALLY.tracebacks += "Traceback (most recent call last)" in message
    TALLY.hangs += code is None
    TALLY.secrets += SENTINEL in message
    assert code == expected_code, message
    assert "Traceback (most recent call last)" not in message
    assert SENTINEL not in message
    for name in must_name:
        assert name in message, (name, message)
