"""What a credential looks like, by name and by value: shared by the ECS task environment rule and the GitHub
Actions variable rule, so the two never disagree on what counts as a secret.

Names are split into words (`JWT_SIGNING_KEY`, `jwtSigningKey`, `mysql-pwd` alike) and judged case-insensitively:
- a word that only ever names a credential (PASSWORD, PWD, PASS, SECRET, TOKEN, CREDENTIAL(S), PRIVATE, SIGNING,
  PASSPHRASE, APIKEY, DSN, AUTH), or such a word inside a longer one (`DBPASSWORD`);
- a name ending in KEY (`APP_KEY`, `ENCRYPTION_KEY`), unless the word before KEY names something that is not
  secret (`PUBLIC_KEY`, `PARTITION_KEY`, `CACHE_KEY`, ...);
- a connection string (`CONN_STRING`, `CONNECTION_STRING`).
A name ending in a reference word (`_ARN`, `_NAME`, `_ID`, `_PATH`, `_FILE`, `_URL`, ...) names where a value
lives, not the value: `PUBLIC_KEY_URL`, `SIGNING_KEY_ARN` and `DB_PASSWORD_FILE` are not credentials (a URL that
carries a password is still caught by its value).
"""

from __future__ import annotations

import re

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")

CREDENTIAL_WORDS = frozenset({
    "PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "CREDENTIAL", "CREDENTIALS",
    "PRIVATE", "SIGNING", "APIKEY", "DSN", "AUTH",
})
# Inside a longer word (`DBPASSWORD`, `APITOKEN`): only the long, unambiguous ones.
CREDENTIAL_FRAGMENTS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "APIKEY", "PRIVATEKEY")
# KEY after one of these names a lookup key or a public half, not a secret.
NON_SECRET_KEY_QUALIFIERS = frozenset({
    "PUBLIC", "PARTITION", "SORT", "HASH", "RANGE", "PRIMARY", "CACHE", "OBJECT", "ROUTING", "IDEMPOTENCY",
    "DEDUPLICATION", "GROUP", "FOREIGN", "LOOKUP", "KMS",
})
# PRIVATE before one of these names a place in a network (`privateIp`, `privateSubnetIds`), not a secret.
NETWORK_WORDS = frozenset({
    "IP", "IPS", "IPV4", "IPV6", "DNS", "ADDRESS", "ADDRESSES", "SUBNET", "SUBNETS", "ZONE", "NETWORK", "LINK",
    "CIDR", "HOST", "HOSTNAME", "ENDPOINT",
})
REFERENCE_WORDS = frozenset({
    "ARN", "NAME", "ID", "PATH", "FILE", "URL", "URI", "ENDPOINT", "REGION", "TTL", "EXPIRY", "HEADER", "ALIAS",
})

CREDENTIAL_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})"
    r"|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",  # URL with user:password
)
# An ARN names where a credential lives (Secrets Manager, SSM, KMS): a reference, not the credential itself.
REFERENCE_VALUE = re.compile(r"^arn:aws[a-z-]*:(secretsmanager|ssm|kms):[a-z0-9-]+:\d{12}:\S+$")


def words(name: str) -> list[str]:
    """`jwtSigningKey` / `JWT-SIGNING_KEY` -> ['JWT', 'SIGNING', 'KEY']."""
    return [w.upper() for w in _SEPARATORS.split(_WORD_BOUNDARY.sub("_", name)) if w]


def is_credential_name(name: str, *, reference_exempts: bool = True) -> bool:
    """`reference_exempts=False` where the value is checked for being a reference instead (GitHub variables)."""
    parts = words(name)
    if not parts or (reference_exempts and parts[-1] in REFERENCE_WORDS):
        return False
    if any(_names_a_credential(parts, index) for index in range(len(parts))):
        return True
    if parts[-1] == "KEY" and (len(parts) == 1 or parts[-2] not in NON_SECRET_KEY_QUALIFIERS):
        return True
    joined = "_".join(parts)
    return "CONN_STRING" in joined or "CONNECTION_STRING" in joined


def _names_a_credential(parts: list[str], index: int) -> bool:
    word = parts[index]
    if word == "PRIVATE" and index + 1 < len(parts) and parts[index + 1] in NETWORK_WORDS:
        return False
    return word in CREDENTIAL_WORDS or any(fragment in word for fragment in CREDENTIAL_FRAGMENTS)


def is_credential_value(value: object) -> bool:
    return isinstance(value, str) and CREDENTIAL_VALUE.search(value) is not None


def is_reference_value(value: object) -> bool:
    return isinstance(value, str) and REFERENCE_VALUE.match(value) is not None
