"""The `rampart` component package's provider: what the engine runs (`python provider <engine address>`) when a
program in any language constructs `rampart:index:<Component>`. It prints its gRPC port and serves `GetSchema`
and `Construct` through Pulumi's component provider host (pulumi.provider.experimental)."""

import sys
import tomllib
from pathlib import Path

# The language host runs this directory, not the repository root: `components` lives one level up.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from components.package import PACKAGE_NAME, hosted_components  # noqa: E402


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


if __name__ == "__main__":
    component_provider_host(hosted_components(), name=PACKAGE_NAME, version=_version())
