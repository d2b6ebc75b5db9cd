"""The wheel as a user installs it: only the CLI, the default pack inside, `rampart check` outside this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".bootstrap" / "bin" / "uv"
PROGRAM = '''
import pulumi
import pulumi_aws as aws

bucket = aws.s3.Bucket("assets")
pulumi.export("bucket", bucket.bucket)
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not UV.exists():
        pytest.skip(f"{UV} missing: run `make setup`")
    out = tmp_path_factory.mktemp("dist")
    # Offline first (the build backend from uv's cache, as after `make setup`); CI may fetch it.
    for extra in (["--offline"], []):
        built = subprocess.run([str(UV), "build", "--wheel", "--quiet", *extra, "--out-dir", str(out), str(ROOT)],
                               capture_output=True, text=True, check=False, timeout=120)
        if built.returncode == 0:
            return next(out.glob("rampart-*.whl"))
    pytest.skip(f"no way to build the wheel here: {built.stderr.strip()[-500:]}")


def test_wheel_holds_only_the_cli_and_its_default_pack(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"rampart", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    assert "rampart/_pack/PulumiPolicy.yaml" in names
    assert "rampart/_pack/guardrails/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("rampart/_pack/venv/")]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed without dependencies; they come from the project's venv through a
    .pth (which does not process the editable install's own .pth, so only the wheel's rampart is importable)."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([str(UV), "pip", "install", "--quiet", "--offline", "--no-deps", "--python", str(python),
                    str(wheel)], check=True, timeout=120)
    return venv


def test_installed_package_has_no_top_level_program_packages(installed):
    python = installed / "bin" / "python"
    probe = ("import importlib.util, json, rampart; print(json.dumps({'rampart': rampart.__file__, "
             "'infra': importlib.util.find_spec('infra') is not None, "
             "'components': importlib.util.find_spec('components') is not None}))")
    found = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True,
                                      cwd=installed).stdout)
    assert found == {"rampart": found["rampart"], "infra": False, "components": False}
    assert Path(found["rampart"]).is_relative_to(installed)


def test_installed_rampart_checks_a_program_outside_the_repository(installed, tmp_path):
    program = tmp_path / "site"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: site\nruntime: python\n", encoding="utf-8")
    (program / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    (program / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    completed = subprocess.run([str(installed / "bin" / "rampart"), "check", "--format", "json"], cwd=program,
                               capture_output=True, text=True, check=False, env=env, timeout=120)
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    (stack,) = report["stacks"]
    assert stack["stack"] == "dev" and not stack.get("error")
    assert any(r["type"] == "aws:s3/bucket:Bucket" for r in stack["resources"])
    assert "PulumiPolicy.yaml" not in completed.stderr
