"""`rampart bootstrap`: the per-account pieces no stack may own (state bucket, secrets key, GitHub OIDC provider)."""

from __future__ import annotations

import argparse
import re

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs

# S3 general purpose bucket names; dots are refused although S3 allows them, because a dotted name breaks TLS
# certificate matching on virtual-hosted requests, and this bucket accepts TLS only.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
_ALIAS = re.compile(r"^alias/[A-Za-z0-9/_-]{1,250}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
DEFAULT_KEY_ALIAS = "alias/rampart-pulumi-secrets"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bootstrap",
        help="create the Pulumi state bucket, the secrets KMS key and GitHub's OIDC provider (once per account)",
        description="Find or create, then converge, the per-account pieces that no stack may own: a KMS key "
        "(symmetric, rotation on) under --key-alias for `secretsprovider: awskms://…` and the bucket's encryption; "
        "the Pulumi state bucket (versioned, SSE-KMS with that key, public access blocked, BucketOwnerEnforced, "
        "TLS-only policy, old versions expired); GitHub's OIDC provider with the sts.amazonaws.com audience. "
        "Safe to rerun: a second run changes nothing. Prints the `pulumi login` and `pulumi stack init` lines "
        "and the stack config values. Exit 0 ok, 1 failed (the report says what exists), 2 bad input.",
    )
    parser.add_argument("--state-bucket", required=True, metavar="NAME",
                        help="S3 bucket for Pulumi state (created if absent; must not belong to another account)")
    parser.add_argument("--key-alias", default=DEFAULT_KEY_ALIAS, metavar="alias/NAME",
                        help="alias of the KMS key for stack secrets and bucket encryption "
                        f"(default {DEFAULT_KEY_ALIAS})")
    parser.add_argument("--github-oidc", action=argparse.BooleanOptionalAction, default=True,
                        help="find or create GitHub's OIDC provider (default on; --no-github-oidc when something "
                        "else owns it)")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def validate_bucket(name: str) -> None:
    if "." in name:
        raise UsageError(f"--state-bucket: expected a name without dots (they break TLS to the bucket), got {name!r}")
    reserved = [p for p in _BUCKET_RESERVED_PREFIXES if name.startswith(p)]
    reserved += [s for s in _BUCKET_RESERVED_SUFFIXES if name.endswith(s)]
    if not _BUCKET.match(name) or reserved:
        raise UsageError(
            "--state-bucket: expected an S3 bucket name: 3-63 lowercase letters, digits and hyphens, starting and "
            f"ending with a letter or digit, no reserved prefix or suffix; got {name!r}"
        )


def validate_alias(alias: str) -> None:
    if not _ALIAS.match(alias):
        raise UsageError(f"--key-alias: expected alias/NAME (letters, digits, '/', '_', '-'), got {alias!r}")
    if alias.startswith("alias/aws/"):
        raise UsageError(f"--key-alias: alias/aws/ names AWS-managed keys, which cannot be used here; got {alias!r}")


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.bootstrap import BootstrapOptions, next_commands, run_bootstrap
    from rampart.ops.report import Report
    from rampart.ops.runner import execute

    validate_bucket(args.state_bucket)
    validate_alias(args.key_alias)
    region = resolve_region(args.region)
    if not _REGION.match(region):
        raise UsageError(f"--region: expected an AWS region such as eu-west-1, got {region!r}")
    options = BootstrapOptions(bucket=args.state_bucket, key_alias=args.key_alias, github_oidc=args.github_oidc)
    report = Report("bootstrap")

    def epilogue() -> list[str]:
        if report.exit_code != 0:
            return ["Nothing was rolled back: fix the cause above and rerun `rampart bootstrap` with the same flags."]
        return ["", "Next, in the project directory:", *(f"  {line}" for line in next_commands(report.result))]

    return execute(report, args.format, lambda r: run_bootstrap(Aws(region), options, r), extra_text=epilogue)
