"""Per-account pieces no stack may own: the KMS key for secrets, the Pulumi state bucket, GitHub's OIDC provider.

Every piece is found first and created only when absent; every setting is read, compared and written only when it
differs, so a second run changes nothing. Nothing is rolled back on failure (a half-made key or bucket is still
useful to the next run): the ledger says what exists, what this run created, and what is not yet in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rampart.errors import OperationFailed
from rampart.ops.aws import Aws, calling, error_code, translate
from rampart.ops.report import Report
from rampart.ops.state_bucket import BucketTarget, ensure_bucket, read_setting

KEY_DESCRIPTION = "Rampart: Pulumi secrets provider and state bucket encryption (rampart bootstrap)"
MANAGED_BY_KEY = "rampart:managed-by"
MANAGED_BY_VALUE = "rampart-bootstrap"
# The same issuer, audience and thumbprints as components/github_oidc.py (a test holds the two together).
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
GITHUB_AUDIENCE = "sts.amazonaws.com"
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")
# Pulumi rewrites the checkpoint on every update: 90 days of old versions is the window to restore a state that
# a bad update or a mistaken `pulumi stack rm` destroyed, without keeping every version forever.
PIECES = ("kmsKey", "kmsAlias", "stateBucket", "oidcProvider")


@dataclass(frozen=True, kw_only=True)
class BootstrapOptions:
    bucket: str
    key_alias: str
    github_oidc: bool = True


@dataclass
class Ledger:
    """Which pieces exist (and their ids), which this run created, which settings it wrote, which are pending."""

    wanted: tuple[str, ...]
    state: dict[str, str] = field(default_factory=dict)  # piece -> "created" | "existed"
    ids: dict[str, str] = field(default_factory=dict)  # piece -> ARN or name
    changed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def have(self, piece: str, ident: str, *, created: bool) -> None:
        self.state[piece] = "created" if created else "existed"
        self.ids[piece] = ident

    def expect(self, *settings: str) -> None:
        self.pending.extend(s for s in settings if s not in self.pending)

    def settled(self, setting: str, *, changed: bool) -> None:
        if setting in self.pending:
            self.pending.remove(setting)
        if changed:
            self.changed.append(setting)

    def _pieces(self, kind: str) -> list[str]:
        return [p for p in PIECES if self.state.get(p) == kind]

    def publish(self, result: dict[str, Any]) -> None:
        result.update(created=self._pieces("created"), existed=self._pieces("existed"),
                      missing=[p for p in self.wanted if p not in self.state], changed=list(self.changed),
                      pending=list(self.pending))
        for piece, key in (("kmsKey", "keyArn"), ("oidcProvider", "oidcProviderArn")):
            if piece in self.ids:
                result[key] = self.ids[piece]

    def summary(self) -> str:
        def names(kind: str) -> str:
            return ", ".join(f"{p} ({self.ids[p]})" for p in self._pieces(kind)) or "none"

        missing = ", ".join(p for p in self.wanted if p not in self.state) or "none"
        pending = f"; settings not yet applied: {', '.join(self.pending)}" if self.pending else ""
        return (f"created this run: {names('created')}; already existed: {names('existed')}; "
                f"not in place: {missing}{pending}")


def backend_url(bucket: str, region: str) -> str:
    return f"s3://{bucket}?region={region}"


def secrets_provider(key_arn: str, region: str) -> str:
    # By key id, not alias: the stack file then names the very key the CI roles' policies grant kms:Decrypt on
    # (IAM authorises KMS by key ARN), and a contract test compares the two.
    return f"awskms://{key_arn.rsplit('/', 1)[-1]}?region={region}"


def next_commands(result: dict[str, Any]) -> list[str]:
    """What the operator runs next; the same strings are in the JSON result as `nextCommands`."""
    lines = [
        f'pulumi login "{result["backendUrl"]}"',
        f'pulumi stack init <stack> --secrets-provider="{result["secretsProvider"]}"',
    ]
    if result.get("oidcProviderArn"):
        lines.append(f'pulumi config set --path "rampart:github.oidcProviderArn" "{result["oidcProviderArn"]}"')
    lines.append(f'pulumi config set --path "rampart:github.stateBackendUrl" "{result["backendUrl"]}"')
    lines.append(f'pulumi config set --path "rampart:github.secretsProviderKeyArn" "{result["keyArn"]}"')
    return lines


def run_bootstrap(aws: Aws, options: BootstrapOptions, report: Report) -> None:
    wanted = PIECES if options.github_oidc else PIECES[:3]
    ledger = Ledger(wanted=wanted)
    result = report.result
    result.update(bucket=options.bucket, region=aws.region, keyAlias=options.key_alias, keyArn=None,
                  oidcProviderArn=None)
    try:
        account, partition = _caller(aws.client("sts"))
        result["accountId"] = account
        key_arn = ensure_key(aws.client("kms"), options.key_alias, ledger, report)
        ensure_bucket(aws.client("s3"), BucketTarget(options.bucket, aws.region, account, partition, key_arn),
                      ledger, report)
        if options.github_oidc:
            ensure_github_oidc(aws.client("iam"), account, partition, ledger, report)
        else:
            report.add("github oidc provider", "skip", "--no-github-oidc: not looked up, not created")
    except (OperationFailed, ClientError, BotoCoreError):
        ledger.publish(result)
        report.info("state", ledger.summary() + "; rerun with the same flags to finish (nothing was rolled back)")
        raise
    ledger.publish(result)
    result["backendUrl"] = backend_url(options.bucket, aws.region)
    result["secretsProvider"] = secrets_provider(str(result["keyArn"]), aws.region)
    result["config"] = {"rampart:github.stateBackendUrl": result["backendUrl"],
                        "rampart:github.secretsProviderKeyArn": result["keyArn"]}
    if result["oidcProviderArn"]:
        result["config"]["rampart:github.oidcProviderArn"] = result["oidcProviderArn"]
    result["nextCommands"] = next_commands(result)
    done = [f"created {', '.join(result['created'])}"] if result["created"] else []
    done += [f"set {', '.join(ledger.changed)}"] if ledger.changed else []
    report.ok("done", "; ".join(done) or "nothing changed: already bootstrapped")


def _caller(sts: Any) -> tuple[str, str]:
    with calling("sts:GetCallerIdentity", "(the caller)"):
        identity = sts.get_caller_identity()
    # The partition (aws, aws-cn, aws-us-gov) comes from the caller, so ARNs built here hold in every partition.
    return str(identity["Account"]), str(identity["Arn"]).split(":")[1]


# --- KMS key -----------------------------------------------------------------------------------------------------


def ensure_key(kms: Any, alias: str, ledger: Ledger, report: Report) -> str:
    found = read_setting("kms:DescribeKey", alias, lambda: kms.describe_key(KeyId=alias), "NotFoundException")
    if found:
        arn = str(found["KeyMetadata"]["Arn"])
        _check_usable(found["KeyMetadata"], alias)
        ledger.have("kmsKey", arn, created=False)
        ledger.have("kmsAlias", alias, created=False)
        report.ok("kms key", f"{alias} is {arn}")
    else:
        arn = _create_key(kms, alias, ledger, report)
    ledger.expect("kmsKey.rotation")
    with calling("kms:GetKeyRotationStatus", arn):
        enabled = bool(kms.get_key_rotation_status(KeyId=arn).get("KeyRotationEnabled"))
    if not enabled:
        with calling("kms:EnableKeyRotation", arn):
            kms.enable_key_rotation(KeyId=arn)
    ledger.settled("kmsKey.rotation", changed=not enabled)
    report.ok("kms key rotation", "enabled" if not enabled else "already enabled")
    return arn


def _create_key(kms: Any, alias: str, ledger: Ledger, report: Report) -> str:
    with calling("kms:CreateKey", f"key for {alias}"):
        meta = kms.create_key(Description=KEY_DESCRIPTION, KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
                              Tags=[{"TagKey": MANAGED_BY_KEY, "TagValue": MANAGED_BY_VALUE}])["KeyMetadata"]
    arn = str(meta["Arn"])
    ledger.have("kmsKey", arn, created=True)
    report.ok("kms key", f"created {arn}")
    try:
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    except (ClientError, BotoCoreError) as exc:
        raise OperationFailed(
            f"{translate(exc, 'kms:CreateAlias', alias)}; the key {arn} was created without its alias: a rerun "
            f"would make another key, so first run `aws kms create-alias --alias-name {alias} --target-key-id "
            f"{meta['KeyId']}` (or schedule that key's deletion)"
        ) from exc
    ledger.have("kmsAlias", alias, created=True)
    report.ok("kms alias", f"created {alias}")
    return arn


def _check_usable(meta: dict[str, Any], alias: str) -> None:
    arn = meta.get("Arn")
    if meta.get("KeyState") != "Enabled":
        raise OperationFailed(
            f"kms key {alias} ({arn}) is {meta.get('KeyState')}, not Enabled: enable it (or cancel its deletion), "
            "or pass another --key-alias; nothing else was touched"
        )
    if meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" or meta.get("KeyUsage") != "ENCRYPT_DECRYPT":
        raise OperationFailed(
            f"kms key {alias} ({arn}) is {meta.get('KeySpec')}/{meta.get('KeyUsage')}: Pulumi's awskms provider and "
            "SSE-KMS need a symmetric ENCRYPT_DECRYPT key; pass another --key-alias"
        )
    if meta.get("KeyManager") == "AWS":
        raise OperationFailed(f"kms key {alias} is AWS-managed: pass a --key-alias of a customer-managed key")


# --- GitHub OIDC provider ----------------------------------------------------------------------------------------


def ensure_github_oidc(iam: Any, account: str, partition: str, ledger: Ledger, report: Report) -> str:
    with calling("iam:ListOpenIDConnectProviders", GITHUB_OIDC_URL):
        listed = iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])
    found = [str(p["Arn"]) for p in listed if str(p.get("Arn", "")).endswith(f":oidc-provider/{GITHUB_OIDC_HOST}")]
    arn, created = (found[0], False) if found else _create_github_provider(iam, account, partition)
    ledger.have("oidcProvider", arn, created=created)
    ledger.expect("oidcProvider.audience")
    report.ok("github oidc provider", f"{'created' if created else 'exists:'} {arn}")
    with calling("iam:GetOpenIDConnectProvider", arn):
        audiences = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn).get("ClientIDList") or []
    missing = GITHUB_AUDIENCE not in audiences
    if missing:
        with calling("iam:AddClientIDToOpenIDConnectProvider", arn):
            iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=GITHUB_AUDIENCE)
    ledger.settled("oidcProvider.audience", changed=missing)
    report.ok("github oidc audience", f"added {GITHUB_AUDIENCE}" if missing else f"{GITHUB_AUDIENCE} present")
    return arn


def _create_github_provider(iam: Any, account: str, partition: str) -> tuple[str, bool]:
    try:
        made = iam.create_open_id_connect_provider(
            Url=GITHUB_OIDC_URL, ClientIDList=[GITHUB_AUDIENCE], ThumbprintList=list(GITHUB_THUMBPRINTS),
            Tags=[{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}],
        )
    except ClientError as exc:
        if error_code(exc) == "EntityAlreadyExists":  # made between our listing and our create
            return f"arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}", False
        raise translate(exc, "iam:CreateOpenIDConnectProvider", GITHUB_OIDC_URL) from exc
    except BotoCoreError as exc:
        raise translate(exc, "iam:CreateOpenIDConnectProvider", GITHUB_OIDC_URL) from exc
    return str(made["OpenIDConnectProviderArn"]), True
