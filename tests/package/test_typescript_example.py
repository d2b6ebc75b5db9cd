"""The TypeScript example (examples/ts-network) type-checks with `tsc` against declarations generated from the
schema the real provider serves (tools/schema_to_dts.py), and stops type-checking when the schema changes in a way
that breaks callers: in the same `tsc` run, a copy of the example is checked against a schema with a required
input renamed and an enum value removed, and must fail naming both."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.package.conftest import ROOT
from tools.schema_to_dts import write_sdk

EXAMPLE = ROOT / "examples" / "ts-network"
INSTALL_TARGET = "examples/ts-network/node_modules/.installed"


@pytest.fixture(scope="module")
def tsc() -> Path:
    """The example's locked `tsc`, installed with `npm ci` through the Makefile rule once (then kept)."""
    if shutil.which("npm") is None or shutil.which("make") is None:
        pytest.fail(f"npm and make are needed to install the TypeScript example's tools: `make {INSTALL_TARGET}`")
    done = subprocess.run(["make", "-s", INSTALL_TARGET], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"make {INSTALL_TARGET} failed:\n{done.stdout}\n{done.stderr}"
    return EXAMPLE / "node_modules" / ".bin" / "tsc"


def broken(schema: dict) -> dict:
    """The schema after two caller-breaking changes: Network's required `cidr` renamed, and "ECS" dropped from
    BlueGreenService's traffic control."""
    changed = copy.deepcopy(schema)
    network = changed["resources"]["rampart:index:Network"]
    network["inputProperties"]["cidrBlock"] = network["inputProperties"].pop("cidr")
    network["requiredInputs"] = ["cidrBlock" if name == "cidr" else name for name in network["requiredInputs"]]
    traffic = changed["types"]["rampart:index:TrafficControl"]
    traffic["enum"] = [value for value in traffic["enum"] if value["value"] != "ECS"]
    return changed


def test_example_type_checks_against_the_schema_and_breaks_with_it(schema, tsc, tmp_path):
    write_sdk(schema, tmp_path / "sdks" / "rampart")
    write_sdk(broken(schema), tmp_path / "sdks" / "rampart-broken")
    copied = tmp_path / "broken" / "index.ts"
    copied.parent.mkdir()
    source = (EXAMPLE / "index.ts").read_text()
    assert 'from "@pulumi/rampart";' in source
    copied.write_text(source.replace('from "@pulumi/rampart";', 'from "@pulumi/rampart-broken";'))
    config = {
        "extends": str(EXAMPLE / "tsconfig.json"),
        "compilerOptions": {
            # Where `pulumi package add` would have put the generated SDK; @pulumi/pulumi from the example's own
            # node_modules, for the copy outside it too.
            "paths": {
                "@pulumi/rampart": [str(tmp_path / "sdks" / "rampart" / "index.ts")],
                "@pulumi/rampart-broken": [str(tmp_path / "sdks" / "rampart-broken" / "index.ts")],
                "@pulumi/pulumi": [str(EXAMPLE / "node_modules" / "@pulumi" / "pulumi")],
            },
            "typeRoots": [str(EXAMPLE / "node_modules" / "@types")],
        },
        "files": [str(EXAMPLE / "index.ts"), str(copied)],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config, indent=2))
    done = subprocess.run([str(tsc), "-p", str(tmp_path / "tsconfig.json")], capture_output=True, text=True,
                          timeout=300)
    errors = [line for line in done.stdout.splitlines() if "error TS" in line]
    example_errors = [line for line in errors if "broken/index.ts" not in line]
    assert example_errors == [], "\n".join(example_errors)
    broken_errors = "\n".join(line for line in errors if "broken/index.ts" in line)
    assert "'cidr' does not exist in type 'NetworkArgs'" in broken_errors, done.stdout
    assert """Type '"ECS"' is not assignable to type '"CODE_DEPLOY"'""" in broken_errors, done.stdout
    assert done.returncode != 0
    # Every error is one of the two changes (nothing else in the generated declarations is wrong).
    assert len(errors) == 2, done.stdout
