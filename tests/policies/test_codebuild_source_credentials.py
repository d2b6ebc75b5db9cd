"""codebuild-source-credential-by-reference (found by a new-user trial on public programs): an
aws.codebuild.SourceCredential holding a GitHub personal access token put a long-lived token into the program and
the Pulumi state, and no rule said so. CodeBuild reaches the source provider through a CodeConnections connection
or a Secrets Manager secret, named by ARN; a token or password stored with the credential fails whether or not the
program marked it secret (the pack sees secrets unwrapped, and a stored PAT is long-lived either way). The token is
never echoed."""

from __future__ import annotations

import json

import pytest
from guardrails import iam

from rampart.engine.values import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN
from tests.support.checked_programs import check_production, write_program
from tests.support.pack import analyze
from tests.support.rules import DROP, changed, resource_messages
from tests.support.service_pack import hits

RULE_NAME = "codebuild-source-credential-by-reference"
CREDENTIAL = "aws:codebuild/sourceCredential:SourceCredential"
PAT = "ghp_Trial0123456789abcdefghijABCDEFGH"  # pragma: allowlist secret (test value)
CONNECTION_ARN = "arn:aws:codeconnections:eu-west-1:111111111111:connection/7d2d1b4e-0000-4000-8000-000000000000"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ci/github-token-AbCdEf"
BASE = {"authType": "CODECONNECTIONS", "serverType": "GITHUB", "token": CONNECTION_ARN}
EXPECTED = ("expected CODECONNECTIONS (token = a connection ARN) or SECRETS_MANAGER (token = a Secrets Manager "
            "secret ARN)")


def messages(props):
    [rule] = [r for r in iam.POLICIES if r.name == RULE_NAME]
    return resource_messages(rule, CREDENTIAL, props)


def test_a_connection_passes():
    assert messages(BASE) == []


def test_through_the_pack_a_connection_whose_arn_is_unknown_passes(policy_pack):
    # `token=connection.arn` on a first preview: nothing but a connection's ARN fits there.
    assert hits(analyze(policy_pack, CREDENTIAL, changed(BASE, token=UNKNOWN)), RULE_NAME) == []


def test_a_connection_given_a_literal_token_fails_without_echoing_it():
    [message] = messages(changed(BASE, token=PAT))
    assert message == f"authType CODECONNECTIONS with a token that is not a connection ARN; {EXPECTED}"


def test_a_secrets_manager_secret_named_by_arn_passes():
    assert messages(changed(BASE, authType="SECRETS_MANAGER", token=SECRET_ARN)) == []


@pytest.mark.parametrize(("props", "expected"), [
    (changed(BASE, authType="PERSONAL_ACCESS_TOKEN", token=PAT),
     "authType PERSONAL_ACCESS_TOKEN stores a long-lived GITHUB token with the credential (and in the Pulumi "
     f"state); {EXPECTED}"),
    (changed(BASE, authType="BASIC_AUTH", serverType="BITBUCKET", userName="ci", token="app-password-value"),
     "authType BASIC_AUTH stores a long-lived BITBUCKET password with the credential (and in the Pulumi "
     f"state); {EXPECTED}"),
    (changed(BASE, authType="SECRETS_MANAGER", token=PAT),
     f"authType SECRETS_MANAGER with a token that is not a Secrets Manager secret ARN; {EXPECTED}"),
    (changed(BASE, authType=DROP), f"authType is not set; {EXPECTED}"),
], ids=["literal-pat", "bitbucket-password", "secrets-manager-with-a-literal", "no-auth-type"])
def test_a_stored_token_or_password_fails_without_echoing_it(props, expected):
    found = messages(props)
    assert found == [expected]
    assert not any(PAT in message for message in found)


# --- through the real pack -------------------------------------------------------------------------------------------


def test_through_the_pack_a_pat_fails_secret_or_not_and_an_unknown_secret_arn_is_undeterminable(policy_pack):
    plain = changed(BASE, authType="PERSONAL_ACCESS_TOKEN", token=PAT)
    secret = changed(plain, token={SECRET_SIG_KEY: SECRET_SIG, "value": PAT})
    for props in (plain, secret, changed(plain, token=UNKNOWN)):
        [finding] = hits(analyze(policy_pack, CREDENTIAL, props), RULE_NAME)
        assert finding.enforcement == "mandatory" and finding.severity == "critical"
        assert "can't run policy" not in finding.message and PAT not in finding.message
    assert hits(analyze(policy_pack, CREDENTIAL, BASE), RULE_NAME) == []
    assert hits(analyze(policy_pack, CREDENTIAL, changed(BASE, token=UNKNOWN)), RULE_NAME) == []
    [unknown] = hits(analyze(policy_pack, CREDENTIAL, changed(BASE, authType="SECRETS_MANAGER", token=UNKNOWN)),
                     RULE_NAME)
    assert "can't run policy" in unknown.message and unknown.enforcement == "advisory"


def test_rampart_check_flags_the_trial_program(tmp_path):
    """The public program's shape, through `rampart check --program` under the production pack config."""
    program = write_program(tmp_path / "program", (
        "import pulumi_aws as aws\n"
        f"aws.codebuild.SourceCredential('github', auth_type='PERSONAL_ACCESS_TOKEN', server_type='GITHUB',\n"
        f"                               token={PAT!r})\n"
    ), "codebuild-pat", "  aws:region: us-east-1\n")
    report = tmp_path / "report.json"
    completed = check_production(program, report)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    [stack] = json.loads(report.read_text())["stacks"]
    assert [(v["policy"], v["enforcement"], v["urn"].rsplit("::", 1)[-1]) for v in stack["violations"]
            if v["policy"] == RULE_NAME] == [(RULE_NAME, "mandatory", "github")]
    assert PAT not in report.read_text() and PAT not in completed.stdout + completed.stderr
