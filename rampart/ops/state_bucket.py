"""The Pulumi state bucket `rampart bootstrap` owns: found or created, then each setting read, compared and written
only when it differs (public access block, ownership, SSE-KMS, TLS-only policy, versioning, lifecycle)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from rampart.errors import OperationFailed
from rampart.ops.aws import calling, error_code, translate
from rampart.ops.report import Report

if TYPE_CHECKING:
    from rampart.ops.bootstrap import Ledger

NONCURRENT_VERSION_DAYS = 90
ABORT_MULTIPART_DAYS = 7
LIFECYCLE_RULE_ID = "rampart-state-retention"
TLS_STATEMENT_SID = "DenyInsecureTransport"
BUCKET_SETTINGS = ("publicAccessBlock", "ownership", "encryption", "tlsPolicy", "versioning", "lifecycle")
_NOT_FOUND_HEAD = ("404", "NoSuchBucket", "NotFound")


def read_setting(action: str, resource: str, call: Callable[[], Any], *absent: str) -> Any:
    """The call's answer, or None when AWS says the setting was never made (one of the `absent` codes)."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in absent:
            return None
        raise translate(exc, action, resource) from exc
    except BotoCoreError as exc:
        raise translate(exc, action, resource) from exc


# --- state bucket ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketTarget:
    name: str
    region: str
    account: str
    partition: str
    key_arn: str

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.name}"

    @property
    def owned(self) -> dict[str, str]:
        # Every call names the owner too: S3 answers 403 rather than act on a same-named bucket of another account.
        return {"Bucket": self.name, "ExpectedBucketOwner": self.account}


def ensure_bucket(s3: Any, target: BucketTarget, ledger: Ledger, report: Report) -> None:
    created = False if _bucket_is_ours(s3, target) else _create_bucket(s3, target)
    ledger.have("stateBucket", target.name, created=created)
    ledger.expect(*(f"stateBucket.{setting}" for setting in BUCKET_SETTINGS))
    report.ok("state bucket", f"{'created' if created else 'exists:'} {target.name} in {target.region}")
    for setting, label, converge in _CONVERGERS:
        change = converge(s3, target)
        ledger.settled(f"stateBucket.{setting}", changed=change is not None)
        report.ok(f"bucket {label}", change or "already set")


def _taken(target: BucketTarget) -> OperationFailed:
    return OperationFailed(
        f"s3 bucket {target.name} exists but is not this account's ({target.account}): bucket names are global, so "
        "another account owns it (or a policy denies this account s3:ListBucket on it); choose another --state-bucket"
    )


def _bucket_is_ours(s3: Any, target: BucketTarget) -> bool:
    try:
        head = s3.head_bucket(**target.owned)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if error_code(exc) in _NOT_FOUND_HEAD or status == 404:
            return False
        if status == 403:
            raise _taken(target) from exc
        raise translate(exc, "s3:ListBucket", target.name) from exc
    except BotoCoreError as exc:
        raise translate(exc, "s3:ListBucket", target.name) from exc
    # A readable bucket is not yet an owned one (a cross-account grant, an endpoint ignoring ExpectedBucketOwner):
    # only the caller's own bucket listing proves ownership.
    with calling("s3:ListAllMyBuckets", target.name):
        pages = s3.get_paginator("list_buckets").paginate(Prefix=target.name)
        ours = any(bucket.get("Name") == target.name for page in pages for bucket in page.get("Buckets", []))
    if not ours:
        raise _taken(target)
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    region = head.get("BucketRegion") or headers.get("x-amz-bucket-region")
    if region and region != target.region:
        raise OperationFailed(
            f"s3 bucket {target.name} is this account's but lives in {region}, not {target.region}: pass --region "
            f"{region} (SSE-KMS needs the key in the bucket's region, and the backend URL names it)"
        )
    return True


def _create_bucket(s3: Any, target: BucketTarget) -> bool:
    kwargs: dict[str, Any] = {"Bucket": target.name, "ObjectOwnership": "BucketOwnerEnforced"}
    if target.region != "us-east-1":  # us-east-1 rejects its own name as a LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if error_code(exc) == "BucketAlreadyOwnedByYou":  # made between our look and our create
            return False
        if error_code(exc) == "BucketAlreadyExists":
            raise _taken(target) from exc
        raise translate(exc, "s3:CreateBucket", target.name) from exc
    except BotoCoreError as exc:
        raise translate(exc, "s3:CreateBucket", target.name) from exc
    return True


def _public_access(s3: Any, t: BucketTarget) -> str | None:
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    found = read_setting("s3:GetBucketPublicAccessBlock", t.name, lambda: s3.get_public_access_block(**t.owned),
                  "NoSuchPublicAccessBlockConfiguration") or {}
    current = found.get("PublicAccessBlockConfiguration", {})
    off = [flag for flag in flags if current.get(flag) is not True]
    if not off:
        return None
    with calling("s3:PutBucketPublicAccessBlock", t.name):
        s3.put_public_access_block(**t.owned, PublicAccessBlockConfiguration=dict.fromkeys(flags, True))
    return f"turned on {', '.join(off)}"


def _ownership(s3: Any, t: BucketTarget) -> str | None:
    found = read_setting("s3:GetBucketOwnershipControls", t.name, lambda: s3.get_bucket_ownership_controls(**t.owned),
                  "OwnershipControlsNotFoundError") or {}
    rules = found.get("OwnershipControls", {}).get("Rules", [])
    if [rule.get("ObjectOwnership") for rule in rules] == ["BucketOwnerEnforced"]:
        return None
    with calling("s3:PutBucketOwnershipControls", t.name):
        s3.put_bucket_ownership_controls(**t.owned,
                                         OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    was = ", ".join(str(rule.get("ObjectOwnership")) for rule in rules) or "unset"
    return f"BucketOwnerEnforced, ACLs off (was {was})"


def _encryption(s3: Any, t: BucketTarget) -> str | None:
    found = read_setting("s3:GetEncryptionConfiguration", t.name, lambda: s3.get_bucket_encryption(**t.owned),
                  "ServerSideEncryptionConfigurationNotFoundError") or {}
    rules = found.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if len(rules) == 1 else {}
    if (default.get("SSEAlgorithm") == "aws:kms" and rules[0].get("BucketKeyEnabled") is True
            and default.get("KMSMasterKeyID") in (t.key_arn, t.key_arn.rsplit("/", 1)[-1])):
        return None
    with calling("s3:PutEncryptionConfiguration", t.name):
        s3.put_bucket_encryption(**t.owned, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": t.key_arn},
            "BucketKeyEnabled": True,
        }]})
    was = f"{default.get('SSEAlgorithm')} {default.get('KMSMasterKeyID') or ''}".strip() if default else "unset"
    return f"SSE-KMS with {t.key_arn}, bucket key on (was {was})"


def _tls_statement(t: BucketTarget) -> dict[str, Any]:
    return {"Sid": TLS_STATEMENT_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [t.arn, f"{t.arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def _tls_policy(s3: Any, t: BucketTarget) -> str | None:
    found = read_setting("s3:GetBucketPolicy", t.name, lambda: s3.get_bucket_policy(**t.owned), "NoSuchBucketPolicy")
    try:
        document = json.loads(found["Policy"]) if found else {"Version": "2012-10-17", "Statement": []}
    except ValueError as exc:
        raise OperationFailed(f"s3:GetBucketPolicy {t.name}: the bucket policy is not valid JSON ({exc})") from exc
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    wanted = _tls_statement(t)
    ours = [s for s in statements if isinstance(s, dict) and s.get("Sid") == TLS_STATEMENT_SID]
    if ours == [wanted]:
        return None
    # Other statements are someone's deliberate grants or denies: keep them, replace only ours.
    document["Statement"] = [s for s in statements if s not in ours] + [wanted]
    with calling("s3:PutBucketPolicy", t.name):
        s3.put_bucket_policy(**t.owned, Policy=json.dumps(document))
    return f"{'restored' if ours else 'added'} statement {TLS_STATEMENT_SID} (deny aws:SecureTransport false)"


def _versioning(s3: Any, t: BucketTarget) -> str | None:
    with calling("s3:GetBucketVersioning", t.name):
        status = s3.get_bucket_versioning(**t.owned).get("Status")
    if status == "Enabled":
        return None
    with calling("s3:PutBucketVersioning", t.name):
        s3.put_bucket_versioning(**t.owned, VersioningConfiguration={"Status": "Enabled"})
    return f"enabled (was {status or 'never enabled'})"


def _lifecycle_rule() -> dict[str, Any]:
    return {"ID": LIFECYCLE_RULE_ID, "Filter": {"Prefix": ""}, "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_VERSION_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS}}


def _rule_holds(rule: dict[str, Any] | None) -> bool:
    wanted = _lifecycle_rule()
    return bool(rule) and all(rule.get(key) == wanted[key] for key in (
        "Status", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload",
    )) and not rule.get("Prefix") and rule.get("Filter") in (None, {}, {"Prefix": ""})


def _lifecycle(s3: Any, t: BucketTarget) -> str | None:
    found = read_setting("s3:GetLifecycleConfiguration", t.name,
                         lambda: s3.get_bucket_lifecycle_configuration(**t.owned),
                         "NoSuchLifecycleConfiguration") or {}
    rules = found.get("Rules", [])
    ours = next((rule for rule in rules if rule.get("ID") == LIFECYCLE_RULE_ID), None)
    if _rule_holds(ours):
        return None
    # The configuration is written whole: keep every other rule as it is.
    kept = [rule for rule in rules if rule.get("ID") != LIFECYCLE_RULE_ID]
    extra = {"TransitionDefaultMinimumObjectSize": found["TransitionDefaultMinimumObjectSize"]} \
        if found.get("TransitionDefaultMinimumObjectSize") else {}
    with calling("s3:PutLifecycleConfiguration", t.name):
        s3.put_bucket_lifecycle_configuration(**t.owned, **extra,
                                              LifecycleConfiguration={"Rules": [*kept, _lifecycle_rule()]})
    return (f"{'restored' if ours else 'added'} rule {LIFECYCLE_RULE_ID}: noncurrent versions expire after "
            f"{NONCURRENT_VERSION_DAYS} days, incomplete uploads aborted after {ABORT_MULTIPART_DAYS}")


# Security first: should a later step fail, a new bucket is already private, owner-only and encrypted.
_CONVERGERS: tuple[tuple[str, str, Callable[[Any, BucketTarget], str | None]], ...] = (
    ("publicAccessBlock", "public access block", _public_access),
    ("ownership", "object ownership", _ownership),
    ("encryption", "default encryption", _encryption),
    ("tlsPolicy", "TLS-only policy", _tls_policy),
    ("versioning", "versioning", _versioning),
    ("lifecycle", "lifecycle", _lifecycle),
)
