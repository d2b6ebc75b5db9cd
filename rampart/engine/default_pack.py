"""Where `rampart check` finds its policy pack when no `--policy-pack` is given.

The pack's home is the repository's `policies/` directory: it is a Pulumi policy pack in its own right, run by
`pulumi preview --policy-pack policies` in the workflows. The wheel ships a copy of it inside the package, as
`rampart/_pack` (see pyproject.toml), so an installed `rampart` has the same default pack as a checkout.
"""

from __future__ import annotations

from pathlib import Path

PACK_FILE = "PulumiPolicy.yaml"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def bundled_pack() -> Path | None:
    """The pack shipped with rampart: inside the installed package, else the source checkout's `policies/`
    (an editable install or a run from the repository, where no build copied it into the package)."""
    for candidate in (_PACKAGE_DIR / "_pack", _PACKAGE_DIR.parent / "policies"):
        if (candidate / PACK_FILE).is_file():
            return candidate
    return None


def default_pack(program_dir: Path) -> Path | None:
    """The program's own `policies/` pack if it has one, else the one shipped with rampart."""
    own = program_dir / "policies"
    if (own / PACK_FILE).is_file():
        return own
    return bundled_pack()
