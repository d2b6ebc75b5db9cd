"""The report redactor on its own: what it withholds (credential names word by word, credential shapes, known
password-bearing properties, secrets), what it keeps (references, booleans, tag and object keys, IAM condition
keys, JSON documents with nothing to withhold), and that it scrubs withheld values from messages."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from rampart.engine.recorder import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN
from rampart.reports.model import Finding
from rampart.reports.redaction import CREDENTIAL_MARKER, Redactor, credentials, scrub_text

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"  # pragma: allowlist secret
X = CREDENTIAL_MARKER


def _secret(value):
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def test_credential_names_word_by_word_and_known_password_properties():
    assert Redactor().redact({
        "masterPassword": "p4ss-word-1",  # pragma: allowlist secret
        "authToken": "tok-123456",  # pragma: allowlist secret
        "privateKey": "k3y-material",  # pragma: allowlist secret
        "plaintextValue": "plain-1234",  # pragma: allowlist secret
        "apiKey": "abc-123-def",  # pragma: allowlist secret
        "username": "app", "port": "5432",
    }) == {"masterPassword": X, "authToken": X, "privateKey": X, "plaintextValue": X, "apiKey": X,
           "username": "app", "port": "5432"}


def test_name_value_pairs_are_judged_by_the_name_beside_the_value():
    pairs = [{"name": "JWT_SIGNING_KEY", "value": "s1gn-me"}, {"name": "LOG_LEVEL", "value": "info"},
             {"key": "MYSQL_PWD", "value": "pw-12345"}, {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}]
    assert [p["value"] for p in Redactor().redact(pairs)] == [X, "info", X, "/run/secrets/db"]


def test_github_variables_follow_the_pack_rule_a_reference_is_not_a_credential():
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
    assert Redactor().redact({"variableName": "DB_PASSWORD_URL", "value": "hunter2-x"})["value"] == X
    assert Redactor().redact({"variableName": "DB_PASSWORD", "value": arn})["value"] == arn
    assert Redactor().redact({"variableName": "HELPER", "value": TOKEN})["value"] == X


def test_private_before_a_network_word_names_a_place_not_a_secret():
    # `privateIp` of an instance, `privateDnsName`, `privateSubnetIds`: an auditor needs them; keys stay withheld.
    kept = {"privateIp": "10.0.1.5", "privateDnsName": "ip-10-0-1-5.ec2.internal",
            "privateSubnetIds": ["subnet-0a1b2c3d"], "privateIpAddress": "10.0.1.6"}
    assert Redactor().redact(kept) == kept
    withheld = {"privateKey": "k3y-material", "sshPrivate": "k3y-material-2"}  # pragma: allowlist secret
    assert Redactor().redact(withheld) == {"privateKey": X, "sshPrivate": X}
    assert credentials().is_credential_name("PRIVATE_TOKEN_IP")  # another credential word still counts


def test_credential_shapes_are_withheld_whatever_the_name():
    url = "postgres://app:pw-in-url@db.internal/app"  # pragma: allowlist secret
    assert Redactor().redact({"mode": url, "list": [TOKEN, "plain"]}) == {"mode": X, "list": [X, "plain"]}


def test_what_is_not_a_credential_is_kept():
    kept = {
        "skipCredentialsValidation": "true",  # pragma: allowlist secret
        "secretArn": "arn:aws:secretsmanager:eu-west-1:1:secret:x",  # pragma: allowlist secret
        "tokenSecret": "arn:aws:ssm:eu-west-1:123456789012:parameter/x",  # pragma: allowlist secret
        "key": "reports/index.html",
        "passwordLength": 32, "manageMasterUserPassword": True, "publicKey": "ssh-ed25519 AAAA", "authToken": "",
        "masterPassword": UNKNOWN,
    }
    assert Redactor().redact(kept) == {**kept, "masterPassword": "[unknown]"}


def test_json_documents_are_judged_inside_and_kept_as_written_when_nothing_is_withheld():
    policy = json.dumps({"Statement": [{"Condition": {"StringEquals": {
        "token.actions.githubusercontent.com:sub": "repo:org/app:environment:production"}}}]}, indent=1)
    assert Redactor().redact({"policy": policy}) == {"policy": policy}
    task = json.dumps([{"name": "app", "environment": [{"name": "API_TOKEN", "value": "t0ken-value"}]}])
    [container] = json.loads(Redactor().redact({"containerDefinitions": task})["containerDefinitions"])
    assert container["environment"] == [{"name": "API_TOKEN", "value": X}]


def test_messages_are_scrubbed_of_withheld_values_in_every_quoted_form():
    redactor = Redactor()
    redactor.redact({"password": "it's-a-secret\\", "image": _secret(json.dumps([{"image": "reg/app:latest"}])),
                     "authType": "NON"})
    finding = Finding(policy="p", urn="u", enforcement="mandatory", severity="high", state="violation",
                      message=f"image 'reg/app:latest'; {'it' + chr(39) + 's-a-secret' + chr(92)!r}; mode NON",
                      details=("image 'reg/app:latest'",))
    scrubbed = redactor.finding(finding)
    assert scrubbed.message == f'image \'[secret]\'; "{X}"; mode NON'  # shorter than 4: never scrubbed
    assert scrubbed.details == ("image '[secret]'",)


def test_error_text_is_scrubbed_of_credential_shapes():
    assert scrub_text(f"bad value {TOKEN} in config") == f"bad value {X} in config"


def test_the_credential_test_is_the_packs_own_and_imports_only_the_standard_library():
    """rampart loads guardrails/credentials.py by path (default_pack.bundled_pack): an import of anything else
    from the pack would fail there, or run pack code inside rampart."""
    module = credentials()
    assert Path(module.__file__).resolve() == ROOT / "policies" / "guardrails" / "credentials.py"
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "re"}


def test_a_value_or_name_seen_again_is_judged_as_the_first_time():
    """The redactor remembers each distinct name's and value's verdict (a stack repeats most of them): a credential
    met a second time, in another resource or under another name, is withheld again, and plain values are kept."""
    redactor = Redactor()
    first = redactor.redact({"mode": TOKEN, "dbPassword": "pw-one-1234", "region": "eu-west-1",
                             "DB_PASSWORD_URL": "https://vault.internal/db"})
    again = redactor.redact({"other": TOKEN, "dbPassword": "pw-two-5678", "region": "eu-west-1",  # allowlist secret
                             "nested": [{"name": "DB_PASSWORD", "value": "pw-three-9"}, {"mode": TOKEN}],
                             # The same name under GitHub's rule (a reference word does not exempt it): withheld.
                             "variable": {"variableName": "DB_PASSWORD_URL", "value": "hunter2-x"}})
    assert first == {"mode": X, "dbPassword": X, "region": "eu-west-1", "DB_PASSWORD_URL": "https://vault.internal/db"}
    assert again == {"other": X, "dbPassword": X, "region": "eu-west-1",
                     "nested": [{"name": "DB_PASSWORD", "value": X}, {"mode": X}],
                     "variable": {"variableName": "DB_PASSWORD_URL", "value": X}}
    assert redactor.scrub("pw-two-5678 pw-three-9 eu-west-1") == f"{X} {X} eu-west-1"
