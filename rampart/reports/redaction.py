"""What a report may show of a program's values: no secret and no credential written in plain text.

Pulumi marks some values secret; many credentials are not marked (a task's environment, a Lambda variable, a
nested password the SDK does not wrap, a GitHub Actions variable, an export). A value is withheld when the pack's
own credential test would call it one: its name, word by word (`DB_PASSWORD`, `jwtSigningKey`), or its shape (a
GitHub or AWS token, a private key, a URL carrying user:password). The test is the pack's
`guardrails/credentials.py`, loaded from the pack shipped with rampart by its path: the pack runs in its own
interpreter and never imports rampart, and in the wheel it lives at `rampart/_pack` (see default_pack.py), so
neither `policies.` nor `guardrails.` is an importable name for rampart. That module is standard-library only
(tests/test_import_graph.py pins it), so loading it runs nothing else of the pack.

pulumi_policy unwraps secrets before a rule sees them, so a rule that quotes a value can quote a secret. Finding
messages are therefore scrubbed of every value withheld from the same stack's inputs and exports, and of anything
credential-shaped.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from dataclasses import replace
from functools import cache, lru_cache
from types import ModuleType
from typing import Any

from rampart.engine.default_pack import bundled_pack
from rampart.engine.values import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, redact_secrets, unwrap_secrets
from rampart.reports.model import Finding

CREDENTIAL_MARKER = "[redacted: looks like a credential]"
SECRET_MARKER = "[secret]"  # noqa: S105 (the marker, not a password)
# Credential-bearing property names that no credential word names (the rest, `password`, `masterPassword`,
# `authToken`, `secretString`, `privateKey`, are credential names word by word).
PASSWORD_PROPERTIES = frozenset({"plaintextValue", "encryptedValue", "keyMaterial", "connectionString"})
# Objects that name the value beside them: ECS/Batch/CodeBuild `{name, value}`, `{key, value}`, GitHub variables.
PAIR_NAMES = ("name", "key", "variableName", "secretName", "parameterName")
# A bare `key` property is an object or tag key (S3, tags), not a credential: its pair's value is judged instead.
NOT_A_CREDENTIAL_PROPERTY = frozenset({"key"})
# Values that cannot be a credential whatever their name: booleans as provider config writes them
# (`skipCredentialsValidation: "true"`) and references (an ARN names where a value lives).
NOT_A_CREDENTIAL_VALUE = frozenset({"true", "false"})
# Shorter withheld values are not scrubbed from messages: "NONE" under `authType` would blank every "NONE".
MIN_SCRUBBED_LENGTH = 4


@cache
def credentials() -> ModuleType:
    """The pack's credential test (`guardrails/credentials.py` of the pack shipped with rampart)."""
    pack = bundled_pack()
    path = pack / "guardrails" / "credentials.py" if pack else None
    spec = importlib.util.spec_from_file_location("rampart._pack_credentials", path) if path else None
    if spec is None or spec.loader is None or path is None or not path.is_file():
        raise RuntimeError("rampart's bundled policy pack has no guardrails/credentials.py: reinstall rampart")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=4096)
def _credential_name(name: str, reference_exempts: bool = True) -> bool:
    """The pack's name test, remembered: a stack's thousands of properties have a few hundred distinct names."""
    return bool(credentials().is_credential_name(name, reference_exempts=reference_exempts))


def scrub_text(text: str) -> str:
    """Anything credential-shaped in free text (an error message) replaced by the marker."""
    return credentials().CREDENTIAL_VALUE.sub(CREDENTIAL_MARKER, text)


class Redactor:
    """Redacts one stack's inputs and exports, remembering what it withheld so messages can be scrubbed of it."""

    def __init__(self) -> None:
        self._withheld: dict[str, str] = {}
        """Withheld plain value -> the marker that replaces it."""
        self._looks_like_credential: dict[str, bool] = {}
        """The pack's value test per distinct string (most of a stack's strings repeat: regions, names, tags)."""

    def redact(self, value: Any) -> Any:
        """Secrets as "[secret]", credentials as the credential marker, unknowns as "[unknown]"."""
        return redact_secrets(self._walk(value))

    def finding(self, finding: Finding) -> Finding:
        return replace(finding, message=self.scrub(finding.message),
                       details=tuple(self.scrub(d) for d in finding.details))

    def scrub(self, text: str) -> str:
        for value in sorted(self._withheld, key=len, reverse=True):
            text = text.replace(value, self._withheld[value])
        return scrub_text(text)

    def _withhold(self, value: Any, marker: str) -> None:
        for leaf in _strings(value):
            if len(leaf) >= MIN_SCRUBBED_LENGTH:
                # As written, and as a rule quoting it with repr() or json.dumps() would print it.
                for form in {leaf, repr(leaf)[1:-1], json.dumps(leaf)[1:-1]}:
                    self._withheld[form] = marker

    def _credential(self, value: str) -> str:
        self._withhold(value, CREDENTIAL_MARKER)
        return CREDENTIAL_MARKER

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            if value.get(SECRET_SIG_KEY) == SECRET_SIG:
                self._withhold(unwrap_secrets(value), SECRET_MARKER)
                return value
            return self._object(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, str):
            document = _json_document(value)
            if document is not None:
                walked = self._walk(document)
                # Kept as written unless something inside was withheld.
                return value if walked == document else json.dumps(redact_secrets(walked))
            verdict = self._looks_like_credential.get(value)
            if verdict is None:
                verdict = self._looks_like_credential[value] = bool(credentials().is_credential_value(value))
            return self._credential(value) if verdict else value
        return value

    def _object(self, value: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, item in value.items():
            # A namespaced key (the IAM condition key `token.actions.githubusercontent.com:sub`) names a request
            # attribute, not a credential.
            named = key in PASSWORD_PROPERTIES or (
                key not in NOT_A_CREDENTIAL_PROPERTY and ":" not in key and _credential_name(key))
            out[key] = self._credential(item) if named and _plain(item) else self._walk(item)
        pair_name = next((value[k] for k in PAIR_NAMES if isinstance(value.get(k), str)), None)
        if pair_name is not None and _plain(value.get("value")) and out["value"] != CREDENTIAL_MARKER:
            # GitHub's rule judges a variable name ending in _ARN/_URL by its value (reference or not): so here.
            variable = "variableName" in value
            if _credential_name(pair_name, not variable) and not (
                    variable and credentials().is_reference_value(value["value"])):
                out["value"] = self._credential(value["value"])
        return out



def _plain(value: Any) -> bool:
    """A plain, known, non-empty string that could be a credential: what one written in the program is."""
    return (isinstance(value, str) and bool(value) and value != UNKNOWN
            and value.lower() not in NOT_A_CREDENTIAL_VALUE and not value.startswith("arn:"))


def _json_document(value: str) -> dict[str, Any] | list[Any] | None:
    """A JSON object or list written as a string (ECS containerDefinitions, IAM policies): judged inside."""
    if not value.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _strings(value: Any) -> Iterable[str]:
    """Every string leaf, inside JSON documents written as strings too (a secret task definition's image)."""
    if isinstance(value, str):
        yield value
        document = _json_document(value)
        if document is not None:
            yield from _strings(document)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
