"""Refreshable AWS credentials from GitHub Actions' OIDC token, for commands that outlive one role session.

aws-actions/configure-aws-credentials assumes a role once: its credentials end after the role's maximum session
(one hour here), while `rampart deploy` of one production service can take most of that on its own. With
`RAMPART_ROLE_ARN` set inside a job that has `id-token: write`, botocore re-assumes the role itself shortly before
the credentials expire, each time with a fresh OIDC token (GitHub's tokens live minutes, so one cannot be kept).
"""

from __future__ import annotations

import functools
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import botocore.config
import botocore.credentials
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from rampart.errors import OperationFailed, UsageError

ROLE_ENV = "RAMPART_ROLE_ARN"
TOKEN_URL_ENV = "ACTIONS_ID_TOKEN_REQUEST_URL"  # noqa: S105 (a variable's name, not a secret)
TOKEN_AUTH_ENV = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 (a variable's name, not a secret)
AUDIENCE = "sts.amazonaws.com"
ROLE_SESSION_SECONDS = 3600
"""The role's maximum session (the policy pack caps it there); botocore refreshes 15 minutes before the end."""
TOKEN_TIMEOUT_SECONDS = 10
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def wanted() -> bool:
    return bool(os.environ.get(ROLE_ENV))


def github_token_loader(url: str, bearer: str) -> Any:
    """A callable returning a fresh OIDC token on every call; failures name the cause, never the token."""

    def load() -> str:
        separator = "&" if "?" in url else "?"
        request = urllib.request.Request(  # noqa: S310 (scheme checked in refreshable_credentials)
            f"{url}{separator}audience={AUDIENCE}", headers={"Authorization": f"bearer {bearer}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TOKEN_TIMEOUT_SECONDS) as response:  # noqa: S310 (as above)
                value = json.loads(response.read()).get("value")
        except urllib.error.HTTPError as exc:
            raise OperationFailed(
                f"GitHub OIDC token: the token endpoint ({TOKEN_URL_ENV}) answered HTTP {exc.code}; "
                "the job needs `permissions: id-token: write`"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OperationFailed(
                f"GitHub OIDC token: cannot reach the token endpoint ({TOKEN_URL_ENV}): {reason}"
            ) from None
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise OperationFailed(f"GitHub OIDC token: the token endpoint ({TOKEN_URL_ENV}) returned no `value`")
        return value

    return load


def session_name(command: str) -> str:
    run = os.environ.get("GITHUB_RUN_ID") or "local"
    return re.sub(r"[^\w+=,.@-]", "-", f"rampart-{command}-{run}")[:64]


def refreshable_credentials(region: str, command: str, loader: Any) -> botocore.credentials.Credentials:
    """Credentials that assume RAMPART_ROLE_ARN on first use and again whenever they near their expiry."""
    role_arn = os.environ[ROLE_ENV]
    if not _ROLE_ARN.match(role_arn):
        raise UsageError(f"{ROLE_ENV}: expected an IAM role ARN (arn:aws:iam::<account>:role/<name>), got {role_arn!r}")
    url, bearer = os.environ.get(TOKEN_URL_ENV), os.environ.get(TOKEN_AUTH_ENV)
    if not url or not bearer:
        raise UsageError(
            f"{ROLE_ENV} is set but {TOKEN_URL_ENV} / {TOKEN_AUTH_ENV} are not: run in a GitHub Actions job with "
            f"`permissions: id-token: write`, or unset {ROLE_ENV} to use the usual AWS credential chain"
        )
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise UsageError(f"{TOKEN_URL_ENV}: expected an https:// URL")
    sts_session = botocore.session.get_session()
    sts_session.register_component("data_loader", loader)
    fetcher = botocore.credentials.AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=functools.partial(sts_session.create_client, region_name=region),
        web_identity_token_loader=github_token_loader(url, bearer),
        role_arn=role_arn,
        extra_args={"RoleSessionName": session_name(command), "DurationSeconds": ROLE_SESSION_SECONDS},
    )

    def refresh() -> dict[str, Any]:
        try:
            return fetcher.fetch_credentials()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise OperationFailed(
                f"{ROLE_ENV}: sts:AssumeRoleWithWebIdentity into {role_arn} failed ({error.get('Code', 'error')}): "
                f"{error.get('Message', '')}; the role's trust policy must allow this repository's OIDC subject "
                f"with audience {AUDIENCE}"
            ) from None
        except BotoCoreError as exc:
            raise OperationFailed(f"{ROLE_ENV}: sts:AssumeRoleWithWebIdentity into {role_arn} failed: {exc}") from None

    return botocore.credentials.DeferredRefreshableCredentials(
        refresh_using=refresh, method="assume-role-with-web-identity"
    )


class _GitHubOidcProvider(botocore.credentials.CredentialProvider):
    METHOD = "assume-role-with-web-identity"

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> botocore.credentials.Credentials:
        return self._credentials


def install(core: botocore.session.Session, region: str, command: str, loader: Any) -> None:
    """Put the refreshable credentials first in `core`'s chain, ahead of any static keys a workflow step set."""
    provider = _GitHubOidcProvider(refreshable_credentials(region, command, loader))
    core.get_component("credential_provider").insert_before("env", provider)
