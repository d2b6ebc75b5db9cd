"""The workflows read only variables the stacks publish: environment variables from GithubEnvironment and
per-stack repository variables from GithubRepositoryVariables, all named in infra/outputs.py. No secrets."""

from __future__ import annotations

import re
from pathlib import Path

from infra import outputs

WORKFLOW_DIR = Path(__file__).resolve().parents[2] / ".github" / "workflows"
TEXT = {path.name: path.read_text() for path in WORKFLOW_DIR.glob("*.yml")}


def referenced_variables() -> set[str]:
    names = set()
    for text in TEXT.values():
        names |= set(re.findall(r"vars\.([A-Z0-9_]+)", text))
        for prefix in re.findall(r"vars\[format\('([A-Z0-9_]+)_\{0\}'", text):
            names.add(prefix + "_{STACK}")
    return names


def test_every_variable_a_workflow_reads_is_published_by_a_stack():
    published = set(outputs.GITHUB_ENVIRONMENT_VARIABLES) | set(outputs.GITHUB_REPOSITORY_VARIABLE_FORMATS)
    assert referenced_variables() <= published, referenced_variables() - published


def secret_reads(text: str) -> list[str]:
    """Expressions that read the secrets context (`secrets.X`, `secrets['X']`, `toJSON(secrets)`), in `${{ }}` or
    in an `if:` (GitHub evaluates it as an expression); a file name like tools/scan_secrets.py is not one."""
    expressions = re.findall(r"\$\{\{(.*?)\}\}", text, re.S) + re.findall(r"^\s*(?:-\s*)?if:(.*)$", text, re.M)
    return [e.strip() for e in expressions if re.search(r"(?<![\w.-])secrets\b", e)]


def test_secret_reads_are_found_in_every_form():
    for read in ("${{ secrets.TOKEN }}", "${{ secrets['TOKEN'] }}", "${{ toJSON(secrets) }}", "if: secrets.X != ''"):
        assert secret_reads(f"steps:\n  - {read}\n"), read
    assert not secret_reads("run: .venv/bin/python tools/scan_secrets.py  # no secrets, no cloud\n")


def test_no_workflow_needs_a_repository_secret():
    for name, text in TEXT.items():
        assert not secret_reads(text), f"{name} reads a secret: the workflows run on OIDC and published variables"


def test_repository_variable_names_carry_the_stack():
    assert outputs.repository_variable("RAMPART_PREVIEW_ROLE_ARN_{STACK}", "production") == (
        "RAMPART_PREVIEW_ROLE_ARN_PRODUCTION")
    assert {fmt.endswith("_{STACK}") for fmt in outputs.GITHUB_REPOSITORY_VARIABLE_FORMATS} == {True}
