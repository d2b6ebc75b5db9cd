"""A user's error is shown at the user's line, and findings point at the line that declared the resource.

The `failing` fixture fails one way per stack (config `failing:mode`), so one `rampart check` run covers them all:
plain code, an apply callback (the program's own and a library function), a bad argument the SDK rejects while
registering, a helper module, and a secret in the message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rampart.engine.stackfile import SECRET_PLACEHOLDER_PREFIX

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FAILING = FIXTURES / "programs" / "failing"
TINY = FIXTURES / "programs" / "tiny"
TINY_PACK = FIXTURES / "packs" / "tiny"
REPOSITORY = Path(__file__).resolve().parents[2]


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rampart", "check", *args], capture_output=True, text=True,
                          env=dict(os.environ), check=False)


@pytest.fixture(scope="module")
def failures() -> dict[str, str]:
    completed = check("--program", str(FAILING), "--policy-pack", str(TINY_PACK), "--format", "json")
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    return {s["stack"]: s["error"] for s in json.loads(completed.stdout)["stacks"]}


def headline(error: str) -> str:
    return error.splitlines()[0]


def test_plain_code_error_names_the_line_and_its_source(failures):
    error = failures["plain"]
    assert headline(error) == "the program failed for Pulumi.plain.yaml at __main__.py:14: KeyError: 'large'"
    assert '__main__.py:14 in <module>: size = sizes["large"]' in error


def test_error_in_an_apply_callback_is_shown_at_the_callback(failures):
    error = failures["apply"]
    assert headline(error).startswith("the program failed for Pulumi.apply.yaml at __main__.py:16: TypeError: ")
    assert "__main__.py:16 in <lambda>: aws.s3.Bucket(" in error


def test_error_in_a_library_callback_is_shown_where_the_program_called_apply(failures):
    # json.dumps raises inside the standard library, in a task: only the apply call site is the user's.
    error = failures["apply-library-callback"]
    assert headline(error) == ("the program failed for Pulumi.apply-library-callback.yaml at __main__.py:18: "
                               "TypeError: Object of type set is not JSON serializable")
    # Both the apply's task and the Policy's registration (which awaits it) fail with this error; the earlier task
    # (the apply, remembered with its call site) is the one named, whatever the order of the SDK's task set.
    assert '__main__.py:18 in <module>: aws.iam.Policy("readers", policy=policy.apply(json.dumps))' in error
    assert "outside the program" not in error


def test_argument_the_sdk_rejects_is_shown_at_the_resource_declaration(failures):
    # The SDK serialises inputs in a task after the constructor returned: the stack it captured at declaration
    # is the only link back to the program.
    error = failures["sdk-argument"]
    assert headline(error).startswith("the program failed for Pulumi.sdk-argument.yaml at __main__.py:20: ValueError")
    assert "unexpected input of type set" in error
    assert '__main__.py:20: aws.ec2.Instance("web"' in error


def test_error_in_an_imported_module_is_shown_there_with_the_call_that_led_to_it(failures):
    error = failures["module"]
    assert headline(error).startswith("the program failed for Pulumi.module.yaml at naming.py:5: TypeError: ")
    assert error.index('__main__.py:22 in <module>: naming.queue_name("orders"') < error.index("naming.py:5 in")


def test_no_secret_value_in_an_error_message(failures):
    error = failures["secret"]
    assert SECRET_PLACEHOLDER_PREFIX not in error
    assert headline(error).startswith("the program failed for Pulumi.secret.yaml at __main__.py:24: ValueError: ")
    assert "[secret]" in error


def test_no_engine_frames_or_tracebacks_in_any_error(failures):
    for error in failures.values():
        assert "rampart/engine" not in error and "site-packages" not in error and "Traceback" not in error


@pytest.fixture(scope="module")
def tiny_reports(tmp_path_factory) -> tuple[dict, dict]:
    out = tmp_path_factory.mktemp("reports")
    for fmt in ("json", "sarif"):
        check("--program", str(TINY), "--policy-pack", str(TINY_PACK), "--stack", "production", "--format", fmt,
              "--output", str(out / f"report.{fmt}"))
    return json.loads((out / "report.json").read_text()), json.loads((out / "report.sarif").read_text())


def test_json_finding_carries_the_declaring_file_and_line(tiny_reports):
    document, _ = tiny_reports
    findings = document["stacks"][0]["violations"]
    db = next(f for f in findings if f["policy"] == "database-not-public")
    assert db["source"] == {"file": "tests/fixtures/programs/tiny/__main__.py", "line": 21}
    # A child of a component points at the component's line that declared it: that is what the SDK records.
    bucket = next(f for f in findings if f["resourceName"] == "storage-bucket")
    assert bucket["source"] == {"file": "tests/fixtures/programs/tiny/__main__.py", "line": 14}


def test_sarif_location_is_the_declaring_line_relative_to_the_repository(tiny_reports):
    _, sarif = tiny_reports
    run = sarif["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "database-not-public")
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "tests/fixtures/programs/tiny/__main__.py",
                                            "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 21}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == REPOSITORY.as_uri() + "/"


def test_a_program_outside_any_repository_is_located_relative_to_its_directory(tmp_path):
    from rampart.engine.check import source_root

    assert source_root(tmp_path) == tmp_path.resolve()
    assert source_root(TINY) == REPOSITORY


def test_text_report_prints_an_error_quoting_brackets_as_text():
    # Rich markup swallowed "[secret]" (and any subscript the program's line quotes) in the terminal report.
    completed = check("--program", str(FAILING), "--policy-pack", str(TINY_PACK), "--stack", "secret")
    assert completed.returncode == 2
    assert "ValueError: [secret] (message withheld" in completed.stdout


def test_sarif_escapes_paths_and_falls_back_to_the_stack_file_under_the_program_directory():
    from rampart.reports import sarif
    from rampart.reports.model import CheckReport, Finding, SourceLocation, StackResult

    def finding(source: SourceLocation | None) -> Finding:
        return Finding(policy="p", urn="urn:pulumi:dev::x::aws:s3/bucket:Bucket::b", message="m",
                       enforcement="advisory", severity="low", state="violation", source=source)

    stack = StackResult(stack="dev", stack_file="Pulumi.dev.yaml",
                        findings=[finding(SourceLocation("my app/__main__.py", 7)), finding(None)])
    document = json.loads(sarif.render(CheckReport(pack=None, stacks=[stack], source_root="/repo",
                                                   program_path="my app")))
    declared, fallback = (r["locations"][0]["physicalLocation"] for r in document["runs"][0]["results"])
    assert declared == {"artifactLocation": {"uri": "my%20app/__main__.py", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 7}}
    assert fallback["artifactLocation"]["uri"] == "my%20app/Pulumi.dev.yaml"
    assert fallback["region"] == {"startLine": 1}


def test_an_invokes_failure_names_the_program_line_that_called_the_data_source(tmp_path):
    """The SDK builds an invoke's result type inside an RPC task, whose traceback never reaches the program."""
    (tmp_path / "Pulumi.yaml").write_text("name: invoking\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi_aws as aws\n\n\ndef lookup():\n"
        "    return aws.ec2.get_ami(most_recent='maybe', owners=['amazon'])\n\n\nami = lookup()\n")
    completed = check("--program", str(tmp_path), "--stack", "dev", "--format", "json", "--no-cache")
    assert completed.returncode == 2, completed.stderr
    (stack,) = json.loads(completed.stdout)["stacks"]
    assert headline(stack["error"]) == ("the program failed for Pulumi.dev.yaml at __main__.py:5: TypeError: "
                                        "Expected argument 'most_recent' to be a bool")
