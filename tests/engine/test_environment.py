"""A program runs under the interpreter its Pulumi.yaml names (runtime.options), as under the Pulumi CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from rampart.engine import environment
from rampart.engine.check import CheckOptions, run_check
from rampart.errors import UsageError

TINY_PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tiny"
PROGRAM = '''
import sys
import pulumi

class Site(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("example:web:Site", name)
        pulumi.CustomResource("aws:s3/bucket:Bucket", f"{name}-bucket", {"bucket": name},
                              opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})

Site("site")
pulumi.export("prefix", sys.prefix)
try:
    import pydantic  # Rampart's dependency, not the program's
    pulumi.export("sees_rampart_site_packages", True)
except ImportError:
    pulumi.export("sees_rampart_site_packages", False)
'''


def write_program(directory: Path, options: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    runtime = f"runtime:\n  name: python\n  options:\n{options}" if options else "runtime: python\n"
    (directory / "Pulumi.yaml").write_text(f"name: site\n{runtime}", encoding="utf-8")
    (directory / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    (directory / "Pulumi.dev.yaml").write_text("config: {}\n", encoding="utf-8")
    return directory


def venv_with_pulumi_only(path: Path, *, fake_pulumi_version: str | None = None) -> Path:
    """A fresh venv whose only packages are the pulumi SDK and its dependencies (borrowed from Rampart's venv
    through a .pth; the editable rampart install's own .pth is not processed from there) and nothing else of
    Rampart's: pydantic is hidden by a stub that refuses to import."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    purelib = Path(subprocess.run([str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                   "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "pydantic.py").write_text("raise ImportError('not in this environment')\n", encoding="utf-8")
    if fake_pulumi_version:
        (purelib / f"pulumi-{fake_pulumi_version}.dist-info").mkdir()
        (purelib / f"pulumi-{fake_pulumi_version}.dist-info" / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: pulumi\nVersion: {fake_pulumi_version}\n", encoding="utf-8")
    else:
        (purelib / "rampart-test-borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return path


def check(program: Path) -> tuple[int, dict]:
    report = run_check(CheckOptions(program_dir=program, pack_dir=TINY_PACK))
    (result,) = report.stacks
    return report.exit_code, {"error": result.error, "outputs": result.outputs}


def test_a_program_without_an_environment_runs_in_ramparts_interpreter(tmp_path):
    resolved = environment.resolve(write_program(tmp_path / "p"))
    assert resolved.python is None and resolved.is_own()


def test_the_named_virtualenv_runs_the_program_with_only_the_engine_injected(tmp_path):
    venv = venv_with_pulumi_only(tmp_path / "p" / "venv")
    program = write_program(tmp_path / "p", "    virtualenv: venv\n")
    code, result = check(program)
    assert result["error"] is None
    assert code == 0
    assert Path(result["outputs"]["prefix"]).resolve() == venv.resolve()
    assert result["outputs"]["sees_rampart_site_packages"] is False


def test_uv_toolchain_uses_the_venv_beside_the_nearest_uv_lock(tmp_path):
    venv = venv_with_pulumi_only(tmp_path / ".venv")
    (tmp_path / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    program = write_program(tmp_path / "infra" / "site", "    toolchain: uv\n")
    assert environment.resolve(program).python == venv.absolute() / "bin" / "python"
    code, result = check(program)
    assert (code, result["error"]) == (0, None)
    assert Path(result["outputs"]["prefix"]).resolve() == venv.resolve()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("    virtualenv: venv\n", "Pulumi.yaml runtime.options.virtualenv: {dir}/venv is not a virtual environment"),
        ("    toolchain: uv\n", "Pulumi.yaml runtime.options.toolchain: uv: {dir}/.venv is not a virtual environment"),
        ("    toolchain: uv\n    virtualenv: env\n", "Pulumi.yaml runtime.options.virtualenv: {dir}/env is not"),
        ("    toolchain: conda\n", "Pulumi.yaml runtime.options.toolchain: expected one of pip, poetry, uv"),
    ],
)
def test_a_missing_environment_is_one_message_naming_the_key_and_path(tmp_path, options, expected):
    program = write_program(tmp_path / "p", options)
    with pytest.raises(UsageError) as raised:
        environment.resolve(program)
    assert str(raised.value).startswith(expected.format(dir=program))


def test_a_missing_environment_exits_2_without_traceback(tmp_path):
    program = write_program(tmp_path / "p", "    virtualenv: venv\n")
    completed = subprocess.run([sys.executable, "-m", "rampart", "check", "--program", str(program)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 2
    assert "runtime.options.virtualenv" in completed.stderr and str(program / "venv") in completed.stderr
    assert "Traceback" not in completed.stderr


def test_poetry_without_poetry_on_path_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match=r"runtime.options.toolchain: poetry, but no `poetry` on PATH"):
        environment.resolve(write_program(tmp_path / "p", "    toolchain: poetry\n"))


def test_poetry_environment_is_the_one_poetry_names(tmp_path, monkeypatch):
    venv = venv_with_pulumi_only(tmp_path / "poetry-env")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "poetry").write_text(f"#!/bin/sh\n[ \"$*\" = 'env info --path' ] && echo {venv}\n", encoding="utf-8")
    (tools / "poetry").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    program = write_program(tmp_path / "p", "    toolchain: poetry\n")
    assert environment.resolve(program).python == venv / "bin" / "python"


def test_an_unsupported_pulumi_in_the_programs_environment_is_a_clear_error(tmp_path):
    venv_with_pulumi_only(tmp_path / "p" / "venv", fake_pulumi_version="3.200.0")
    code, result = check(write_program(tmp_path / "p", "    virtualenv: venv\n"))
    assert code == 2
    assert "pulumi 3.200.0 (rampart check supports pulumi >= 3.256, < 4)" in result["error"]


@pytest.mark.parametrize("version", ["3.256.0", "3.272.0"])  # the ends of the supported range that exist today
def test_the_ends_of_the_supported_pulumi_range_run_a_program(tmp_path, version):
    uv = Path(__file__).resolve().parents[2] / ".bootstrap" / "bin" / "uv"
    venv = tmp_path / "p" / "venv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    installed = subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                                f"pulumi=={version}"], capture_output=True, text=True, check=False, timeout=60)
    if installed.returncode != 0:
        pytest.skip(f"pulumi=={version} not installable here (no PyPI?): {installed.stderr.strip()[-300:]}")
    code, result = check(write_program(tmp_path / "p", "    virtualenv: venv\n"))
    assert (code, result["error"]) == (0, None)
    assert Path(result["outputs"]["prefix"]).resolve() == venv.resolve()
