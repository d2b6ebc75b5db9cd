"""The GitHub App key step: masked line by line, handed to the token step as step outputs only, never to
$GITHUB_ENV (where the Pulumi program, the pack and every later step would inherit it), never printed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".github" / "scripts" / "github_app_key.py"
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsentinelKEYline1\nMIIEsentinelKEYline2\n-----END RSA PRIVATE KEY-----"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rampart/github-app-Xy12Ab"


def run(tmp_path: Path, secret_string: str | None, argv: tuple[str, ...] = (ARN,)) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    aws = bin_dir / "aws"
    if secret_string is None:
        aws.write_text("#!/bin/sh\necho 'An error occurred (AccessDeniedException) when calling the "
                       "GetSecretValue operation: not authorized' >&2\nexit 254\n")
    else:
        (tmp_path / "secret.txt").write_text(secret_string)
        aws.write_text(f"#!/bin/sh\ncat '{tmp_path / 'secret.txt'}'\n")
    aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_ENV": str(tmp_path / "env")}
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, env=env, check=False)


def test_key_goes_to_step_outputs_masked_and_nowhere_else(tmp_path):
    done = run(tmp_path, json.dumps({"appId": "123456", "privateKey": KEY}))
    assert done.returncode == 0, done.stderr
    masks = [line for line in done.stdout.splitlines() if line.startswith("::add-mask::")]
    assert masks == [f"::add-mask::{line}" for line in KEY.splitlines()]
    assert done.stdout.replace("".join(f"::add-mask::{line}\n" for line in KEY.splitlines()), "") == ""
    outputs = (tmp_path / "output").read_text()
    assert outputs.startswith("app-id=123456\nprivate-key<<")
    assert KEY in outputs
    assert not (tmp_path / "env").exists(), "the key must never reach $GITHUB_ENV"
    assert "sentinel" not in done.stderr


@pytest.mark.parametrize("secret", ["not json", json.dumps({"appId": "1"}), json.dumps(["x"])])
def test_a_malformed_secret_says_what_is_expected_without_echoing_it(tmp_path, secret):
    done = run(tmp_path, secret.replace("x", "sentinel"))
    assert done.returncode == 1
    assert "appId and privateKey" in done.stderr and "sentinel" not in done.stderr + done.stdout


def test_a_denied_read_names_the_failure(tmp_path):
    done = run(tmp_path, None)
    assert done.returncode == 1
    assert "AccessDeniedException" in done.stderr and "GetSecretValue" in done.stderr


def test_usage(tmp_path):
    assert run(tmp_path, "{}", argv=()).returncode == 2
    assert run(tmp_path, "{}", argv=("rampart/github-app",)).returncode == 2


def test_every_app_token_step_takes_its_key_from_this_script():
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        if "create-github-app-token" in text:
            assert "python3 .github/scripts/github_app_key.py" in text, path.name
            assert "steps.github-app-key.outputs.private-key" in text, path.name
            assert "GITHUB_APP_PRIVATE_KEY" not in text, f"{path.name}: the key must not travel through the env"
