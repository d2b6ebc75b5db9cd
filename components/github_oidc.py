"""GitHub Actions to AWS without stored keys: the OIDC provider, a deploy role per environment, a preview role."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws_partition import partition_of
from components.ci_policies import infrastructure_policy, preview_policy, rollback_policy, state_bucket_of
from components.deploy_policy import deploy_policy
from components.github_settings import GithubRepositorySettings, validate_github
from components.notify_policy import notify_statements

ISSUER_HOST = "token.actions.githubusercontent.com"
ISSUER_URL = f"https://{ISSUER_HOST}"
AUDIENCE = "sts.amazonaws.com"
# AWS validates GitHub's tokens against its own trusted CAs and ignores these, but an absent list makes some
# older tooling fetch one at create time; these are the two GitHub has published.
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")
MAX_SESSION_SECONDS = 3600
_ROLE_SUFFIXES = ("-github-deploy", "-github-preview", "-github-infra", "-github-rollback")
_NAME_PREFIX = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


@dataclass(frozen=True, kw_only=True)
class GithubOidcArgs:
    github: GithubRepositorySettings
    """The repository whose workflows may assume the roles."""
    environment: str
    """GitHub environment the deploy job runs in; only tokens for it may assume the deploy role."""
    name_prefix: str
    """Prefix of the role names (`<prefix>-github-deploy`, `<prefix>-github-preview`)."""
    account_id: pulumi.Input[str]
    region: str
    create_provider: bool = True
    """False when another stack in the account already owns the OIDC provider: pass its ARN as provider_arn."""
    provider_arn: pulumi.Input[str] | None = None
    cluster_arn: pulumi.Input[str]
    service_arns: Sequence[pulumi.Input[str]]
    task_definition_families: Sequence[str]
    pass_role_arns: Sequence[pulumi.Input[str]]
    """Task and execution roles: the only roles the deploy role may pass, and only to ECS tasks."""
    codedeploy_application_names: Sequence[pulumi.Input[str]]
    deployment_group_names: Sequence[pulumi.Input[str]]
    """Every group named is allowed under every application named (all of them are this stack's)."""
    ecs_native_service_arns: Sequence[pulumi.Input[str]] = ()
    """Services under ECS-native blue/green: the deploy and rollback roles follow and stop their deployments."""
    repository_arns: Sequence[pulumi.Input[str]]
    db_instance_arns: Sequence[pulumi.Input[str]] = ()
    log_group_arns: Sequence[pulumi.Input[str]] = ()
    """Log groups the deploy job reads (migration and smoke output)."""
    state_backend_url: str
    """Pulumi's S3 backend (`s3://bucket?region=…`) the infrastructure and preview roles read and lock."""
    secrets_provider_key_arn: str
    """The KMS key of the stacks' `secretsprovider: awskms://…`: the only key CI decrypts stack config with."""
    stack_key_arn: pulumi.Input[str]
    """The stack's own KMS key, which encrypts its Secrets Manager secrets (refresh decrypts them through it)."""
    stack_secret_names: Sequence[str] = ()
    """Secrets whose versions a refresh reads: the preview role may read these values and no others."""
    managed_policy_arns: Sequence[str] = ()
    """AWS-managed policies the stack attaches to its own roles: the only ones the infrastructure role may attach."""
    github_app_secret_arn: str | None = None
    github_reader_app_secret_arn: str | None = None
    """Secret with a read-only GitHub App the preview role reads for the github provider's refresh."""
    """Secret with the GitHub App credentials the infrastructure role reads for the github provider."""
    rollback_environment: str | None = None
    notification_topic_arn: pulumi.Input[str] | None = None
    """The stack's notifications topic: the deploy and rollback roles may publish pipeline events to it (and use
    stack_key_arn through SNS, which encrypts it); None: neither role publishes."""
    """GitHub environment of the emergency rollback job (one approval, no wait timer); None: no rollback role."""


def _no_literal_wildcards(field: str, values: Sequence[Any]) -> None:
    for value in values:
        if isinstance(value, str) and (not value or "*" in value):
            raise ValueError(f"GithubOidcArgs.{field}: expected exact ARNs or names, got {value!r}")


def _validate(args: GithubOidcArgs) -> None:
    validate_github(args.github, "GithubOidcArgs.github")
    for field in ("environment", "rollback_environment"):
        value = getattr(args, field)
        if (value is not None or field == "environment") and not _ENVIRONMENT_NAME.match(str(value)):
            raise ValueError(f"GithubOidcArgs.{field}: expected a GitHub environment name, got {value!r}")
    if args.rollback_environment == args.environment:
        raise ValueError("GithubOidcArgs.rollback_environment: expected an environment other than `environment`"
                         " (the rollback role must not be reachable from the deploy job's environment)")
    if not args.state_backend_url.startswith("s3://"):
        raise ValueError("GithubOidcArgs.state_backend_url: expected an s3:// Pulumi backend URL")
    if not re.match(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$", args.secrets_provider_key_arn):
        raise ValueError("GithubOidcArgs.secrets_provider_key_arn: expected a KMS key ARN (not an alias)")
    longest = max(len(suffix) for suffix in _ROLE_SUFFIXES)
    if not _NAME_PREFIX.match(args.name_prefix) or len(args.name_prefix) + longest > 64:
        raise ValueError(
            f"GithubOidcArgs.name_prefix: expected IAM name characters, at most {64 - longest} long,"
            f" got {args.name_prefix!r}"
        )
    if not _REGION.match(args.region):
        raise ValueError(f"GithubOidcArgs.region: expected an AWS region such as us-east-1, got {args.region!r}")
    if args.create_provider and args.provider_arn is not None:
        raise ValueError("GithubOidcArgs.provider_arn: expected None when create_provider is true, got an ARN")
    if not args.create_provider and args.provider_arn is None:
        raise ValueError(
            "GithubOidcArgs.provider_arn: expected the existing provider's ARN when create_provider is false, got None"
        )
    required = {
        "service_arns": args.service_arns,
        "task_definition_families": args.task_definition_families,
        "pass_role_arns": args.pass_role_arns,
        "codedeploy_application_names": args.codedeploy_application_names,
        "deployment_group_names": args.deployment_group_names,
        "repository_arns": args.repository_arns,
    }
    for field, values in required.items():
        if isinstance(values, str) or not values:
            raise ValueError(f"GithubOidcArgs.{field}: expected a non-empty sequence, got {values!r}")
        _no_literal_wildcards(field, values)
    for field in ("db_instance_arns", "log_group_arns"):
        values = getattr(args, field)
        if isinstance(values, str):
            raise ValueError(f"GithubOidcArgs.{field}: expected a sequence, got {values!r}")
        _no_literal_wildcards(field, values)
    _no_literal_wildcards("cluster_arn", [args.cluster_arn])
    for family in args.task_definition_families:
        if not _FAMILY.match(family):
            raise ValueError(f"GithubOidcArgs.task_definition_families: expected a family name, got {family!r}")


def subjects(github: GithubRepositorySettings, context: str) -> list[str]:
    """Exact `sub` claims for one context (`environment:NAME` or `pull_request`), in both the name form and,
    when the numeric ids are known, the immutable-id form newer repositories get."""
    found = [f"repo:{github.repository}:{context}"]
    if github.owner_id is not None and github.repository_id is not None:
        found.append(f"repo:{github.owner}@{github.owner_id}/{github.name}@{github.repository_id}:{context}")
    return found


def trust_policy(provider_arn: str, subs: Sequence[str]) -> dict[str, Any]:
    # StringEquals, never StringLike: a wildcard in `sub` lets another branch, environment or repository in.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GithubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{ISSUER_HOST}:aud": AUDIENCE, f"{ISSUER_HOST}:sub": list(subs)},
                },
            }
        ],
    }


def _all(values: Sequence[pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    return pulumi.Output.all(*values) if values else pulumi.Output.from_input([])


class GithubOidc(pulumi.ComponentResource):
    """Keyless CI access, one role per job, each trusted only by the job that needs it (exact `sub`, both claim
    forms): the application deploy role and the infrastructure role (`pulumi up`) for the stack's environment,
    the emergency rollback role for its rollback environment, and the preview role for pull requests and the
    default branch. Forks get no OIDC token, so no role is reachable from one."""

    provider_arn: pulumi.Output[str]
    """ARN of the GitHub OIDC provider (created here or passed in)."""
    deploy_role_arn: pulumi.Output[str]
    """Role the environment's deploy job assumes for `rampart` commands (ECS, CodeDeploy, ECR, RDS snapshots)."""
    infrastructure_role_arn: pulumi.Output[str]
    """Role the environment's deploy job assumes for `pulumi up --refresh` (broad by nature; waived with expiry)."""
    preview_role_arn: pulumi.Output[str]
    """Role for `pulumi preview --refresh` on pull requests and the nightly drift check: refresh reads only."""
    rollback_role_arn: pulumi.Output[str] | None
    """Role of the emergency rollback job: stop with rollback, redeploy a revision that served traffic."""

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rampart:index:GithubOidc", name, None, opts)
        _validate(args)
        self._component_name, self._component_args = name, args
        self._partition = partition_of(args.region)
        self.provider_arn = self._build_oidc_provider()
        environment = subjects(args.github, f"environment:{args.environment}")
        # Pull-request previews, and the nightly drift check that runs on the default branch outside any
        # environment (so it never waits for production's reviewers); both only ever read.
        preview = [*subjects(args.github, "pull_request"), *subjects(args.github, "ref:refs/heads/main")]
        repository = args.github.repository

        deploy = self._build_role("deploy", environment, f"deploy of {repository} environment {args.environment}")
        self._build_inline_policy("deploy-policy", deploy, self._deploy_document())
        infrastructure = self._build_role("infra", environment, f"pulumi up of {repository} stack {args.environment}")
        self._build_inline_policy("infra-policy", infrastructure, self._infrastructure_document())
        preview_role = self._build_role("preview", preview, f"previews and drift checks of {repository} (read-only)")
        self._build_inline_policy("preview-policy", preview_role, self._preview_document())
        self.rollback_role_arn = None
        if args.rollback_environment is not None:
            rollback = self._build_role("rollback", subjects(args.github, f"environment:{args.rollback_environment}"),
                                  f"emergency rollback of {repository} environment {args.environment}")
            self._build_inline_policy("rollback-policy", rollback, self._rollback_document())
            self.rollback_role_arn = rollback.arn

        self.deploy_role_arn = deploy.arn
        self.infrastructure_role_arn = infrastructure.arn
        self.preview_role_arn = preview_role.arn
        self.register_outputs(
            {
                "provider_arn": self.provider_arn,
                "deploy_role_arn": self.deploy_role_arn,
                "infrastructure_role_arn": self.infrastructure_role_arn,
                "preview_role_arn": self.preview_role_arn,
                "rollback_role_arn": self.rollback_role_arn,
            }
        )

    def _build_oidc_provider(self) -> pulumi.Output[str]:
        if not self._component_args.create_provider:
            return pulumi.Output.from_input(self._component_args.provider_arn)
        provider = aws.iam.OpenIdConnectProvider(
            f"{self._component_name}-provider",
            url=ISSUER_URL,
            client_id_lists=[AUDIENCE],
            thumbprint_lists=list(GITHUB_THUMBPRINTS),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return provider.arn

    def _build_role(self, role: str, subs: Sequence[str], description: str) -> aws.iam.Role:
        # The name is the contract with the workflows (published as a variable) and stays fixed: a replacement
        # must delete the old role first or the new one collides with it.
        return aws.iam.Role(
            f"{self._component_name}-{role}",
            name=f"{self._component_args.name_prefix}-github-{role}",
            description=f"GitHub Actions {description}",
            assume_role_policy=self.provider_arn.apply(lambda arn: json.dumps(trust_policy(arn, subs))),
            max_session_duration=MAX_SESSION_SECONDS,
            force_detach_policies=True,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

    def _build_inline_policy(self, name: str, role: aws.iam.Role, document: pulumi.Input[str]) -> None:
        aws.iam.RolePolicy(f"{self._component_name}-{name}", role=role.name, policy=document,
                           opts=pulumi.ResourceOptions(parent=self))

    def _deploy_document(self) -> pulumi.Output[str]:
        args = self._component_args
        return pulumi.Output.all(
            account_id=args.account_id,
            cluster_arn=args.cluster_arn,
            service_arns=_all(args.service_arns),
            pass_role_arns=_all(args.pass_role_arns),
            applications=_all(args.codedeploy_application_names),
            groups=_all(args.deployment_group_names),
            native_service_arns=_all(args.ecs_native_service_arns),
            repository_arns=_all(args.repository_arns),
            db_instance_arns=_all(args.db_instance_arns),
            log_group_arns=_all(args.log_group_arns),
            stack_key_arn=args.stack_key_arn,
            notify=self._notify_inputs(),
        ).apply(
            lambda v: json.dumps(self._with_notify(
                deploy_policy(
                    partition=self._partition, region=args.region, families=list(args.task_definition_families),
                    **{k: x for k, x in v.items() if k != "notify"},
                ), v["notify"]))
        )

    def _notify_inputs(self) -> pulumi.Output[list[str]]:
        args = self._component_args
        if args.notification_topic_arn is None:
            return pulumi.Output.from_input([])
        return pulumi.Output.all(args.notification_topic_arn, args.stack_key_arn)

    def _with_notify(self, document: dict[str, Any], notify: list[str]) -> dict[str, Any]:
        if notify:
            topic_arn, key_arn = notify
            document["Statement"] += notify_statements(topic_arn=topic_arn, key_arn=key_arn,
                                                       region=self._component_args.region)
        return document

    def _infrastructure_document(self) -> pulumi.Output[str]:
        args = self._component_args
        return pulumi.Output.all(
            account_id=args.account_id, oidc_provider_arn=self.provider_arn, stack_key_arn=args.stack_key_arn
        ).apply(
            lambda v: json.dumps(
                infrastructure_policy(
                    partition=self._partition, name_prefix=args.name_prefix,
                    state_bucket=state_bucket_of(args.state_backend_url),
                    secrets_key_arn=args.secrets_provider_key_arn,
                    managed_policy_arns=list(args.managed_policy_arns),
                    github_app_secret_arn=args.github_app_secret_arn, **v,
                )
            )
        )

    def _preview_document(self) -> pulumi.Output[str]:
        args = self._component_args
        return pulumi.Output.all(stack_key_arn=args.stack_key_arn, account_id=args.account_id).apply(
            lambda v: json.dumps(
                preview_policy(
                    partition=self._partition, region=args.region,
                    state_bucket=state_bucket_of(args.state_backend_url),
                    secrets_key_arn=args.secrets_provider_key_arn,
                    stack_secret_names=list(args.stack_secret_names),
                    github_reader_app_secret_arn=args.github_reader_app_secret_arn, **v,
                )
            )
        )

    def _rollback_document(self) -> pulumi.Output[str]:
        args = self._component_args
        return pulumi.Output.all(
            account_id=args.account_id,
            service_arns=_all(args.service_arns),
            applications=_all(args.codedeploy_application_names),
            groups=_all(args.deployment_group_names),
            native_service_arns=_all(args.ecs_native_service_arns),
            notify=self._notify_inputs(),
        ).apply(lambda v: json.dumps(self._with_notify(rollback_policy(
            partition=self._partition, region=args.region, **{k: x for k, x in v.items() if k != "notify"}),
            v["notify"])))
