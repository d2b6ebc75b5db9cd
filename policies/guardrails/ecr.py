"""ECR rules: immutable tags, scanning on push, encryption with the stack key, lifecycle policies that keep the
images a rollback needs, and repository policies closed to the public.

ecr-policy-not-public is not waivable: a wildcard principal publishes the images (and whatever is baked into them)
to every AWS account, which no single-resource exemption can make safe.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from guardrails.iam import describe, is_allow, parse_document, statements, strings, wildcard_principal
from guardrails.kms import stack_key_findings, stack_type_index
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import as_list, first_block

FSBP = "AWS Foundational Security Best Practices"
SH_ECR_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html"

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
REGISTRY_POLICY = "aws:ecr/registryPolicy:RegistryPolicy"
REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"


def check_immutable_tags(resource: Resource, context: Context) -> Iterator[str]:
    mutability = resource.get("imageTagMutability", "MUTABLE")
    if mutability != "IMMUTABLE":
        # IMMUTABLE_WITH_EXCLUSION still lets the excluded tags be moved under a running deployment.
        yield f"imageTagMutability is {mutability}, expected IMMUTABLE"


_SCANNING_FREQUENCIES = ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")


def _registry_scans(repository: Resource, registry_configs: Sequence[Resource]) -> bool:
    """Whether a registry scanning rule scans this repository on push (basic or enhanced)."""
    name = repository.get("name")
    for config in registry_configs:
        for rule in as_list(config.get("rules")):
            if not isinstance(rule, Mapping) or rule.get("scanFrequency") not in _SCANNING_FREQUENCIES:
                continue
            for repository_filter in as_list(rule.get("repositoryFilters")):
                if not isinstance(repository_filter, Mapping):
                    continue
                pattern = str(repository_filter.get("filter", ""))
                if pattern == "*" or (name is not None and fnmatch.fnmatchcase(str(name), pattern)):
                    return True
    return False


def check_scan_on_push(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    registry_configs = [r for r in resources if r.type == REGISTRY_SCANNING]
    for repository in resources:
        if repository.type != REPOSITORY:
            continue
        scanning = first_block(repository.get("imageScanningConfiguration"))
        if scanning.get("scanOnPush") is True or _registry_scans(repository, registry_configs):
            continue
        yield Finding(
            "imageScanningConfiguration.scanOnPush is not true and no registry scanning rule covers the repository; "
            "expected scanOnPush true (or an ENHANCED/BASIC registry rule with SCAN_ON_PUSH or CONTINUOUS_SCAN)",
            repository.urn,
        )


def check_kms(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    types = stack_type_index(resources)
    for repository in resources:
        if repository.type != REPOSITORY:
            continue
        encryption = first_block(repository.get("encryptionConfigurations"))
        encryption_type = encryption.get("encryptionType", "AES256")
        if encryption_type not in ("KMS", "KMS_DSSE"):
            yield Finding(
                f"encryptionConfigurations.encryptionType is {encryption_type}, expected KMS with this stack's key",
                repository.urn,
            )
            continue
        for message in stack_key_findings(
            repository, "encryptionConfigurations", partial(encryption.get, "kmsKey"), types,
            "encryptionConfigurations.kmsKey",
        ):
            yield Finding(message, repository.urn)


def _release_selection(rule: Mapping[str, Any], non_release_prefixes: Sequence[str]) -> bool:
    """Whether an expiry rule can select release images (anything tagged, except configured non-release tags)."""
    selection = rule.get("selection") if isinstance(rule.get("selection"), Mapping) else {}
    status = selection.get("tagStatus", "any")
    if status == "untagged":
        return False
    if status == "tagged" and non_release_prefixes:
        prefixes = strings(selection.get("tagPrefixList")) + strings(selection.get("tagPatternList"))
        if prefixes and all(any(p.startswith(n) for n in non_release_prefixes) for p in prefixes):
            return False
    return True


def check_lifecycle_keeps_rollback(resource: Resource, context: Context) -> Iterator[str]:
    document = parse_document(resource.get("policy"))
    if document is None:
        yield "policy is not a JSON lifecycle policy; expected rules that keep the newest release images"
        return
    keep = context.threshold("minReleaseImagesKept")
    non_release = strings(context.threshold("nonReleaseTagPrefixes"))
    for index, rule in enumerate(as_list(document.get("rules"))):
        if not isinstance(rule, Mapping) or not _release_selection(rule, non_release):
            continue
        action = rule.get("action") if isinstance(rule.get("action"), Mapping) else {}
        if action.get("type", "expire") != "expire":
            continue
        selection = rule.get("selection") if isinstance(rule.get("selection"), Mapping) else {}
        where = f"rules[{index}] (priority {rule.get('rulePriority')})"
        count_type = selection.get("countType")
        if count_type == "imageCountMoreThan":
            count = selection.get("countNumber", 0)
            if float(count) < keep:
                yield f"{where}: imageCountMoreThan {int(float(count))} keeps fewer than {keep} release images; " \
                    f"expected countNumber >= {keep}"
        else:
            yield f"{where}: {count_type} expires release images by age, so a quiet period deletes rollback " \
                f"targets; expected imageCountMoreThan >= {keep} (or tagStatus untagged)"


def check_policy_not_public(resource: Resource, context: Context) -> Iterator[str]:
    document = parse_document(resource.get("policy"))
    for index, statement in enumerate(statements(document)):
        if is_allow(statement) and wildcard_principal(statement):
            yield f"{describe('policy', index, statement)}: Principal \"*\" (or NotPrincipal) shares the images " \
                "with every AWS account; expected named account or role ARNs"


POLICIES: list[Rule] = [
    Rule(
        name="ecr-immutable-tags",
        description="ECR repositories use immutable image tags.",
        enforcement="M",
        severity="high",
        framework=Framework(FSBP, "ECR.2"),
        remediation="Set `image_tag_mutability=\"IMMUTABLE\"` on the aws.ecr.Repository and deploy by digest.",
        url=f"{SH_ECR_URL}#ecr-2",
        resource_types=(REPOSITORY,),
        check=check_immutable_tags,
    ),
    Rule(
        name="ecr-scan-on-push",
        description="Every ECR repository is scanned on push, by its own setting or a registry scanning rule.",
        enforcement="M",
        severity="medium",
        framework=Framework(FSBP, "ECR.1"),
        remediation="Set `image_scanning_configuration={\"scan_on_push\": True}` on the aws.ecr.Repository, or "
        "add an aws.ecr.RegistryScanningConfiguration rule with `scan_frequency=\"SCAN_ON_PUSH\"` (or "
        "CONTINUOUS_SCAN) whose filter matches the repository.",
        url=f"{SH_ECR_URL}#ecr-1",
        stack_check=check_scan_on_push,
    ),
    Rule(
        name="ecr-kms",
        description="ECR repositories are encrypted with this stack's customer-managed KMS key.",
        enforcement="MP",
        severity="medium",
        framework=Framework("Checkov", "CKV_AWS_136"),
        remediation="Set `encryption_configurations=[{\"encryption_type\": \"KMS\", \"kms_key\": key.arn}]` on the "
        "aws.ecr.Repository, with `key` the stack's aws.kms.Key (encryption is fixed at creation: replace the "
        "repository).",
        url="https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html",
        stack_check=check_kms,
    ),
    Rule(
        name="ecr-lifecycle-keeps-rollback",
        description="ECR lifecycle policies never expire the newest release images a rollback needs.",
        enforcement="A",
        severity="medium",
        framework=Framework(FSBP, "ECR.3"),
        remediation="In the aws.ecr.LifecyclePolicy `policy`, expire tagged images only with "
        "`countType: imageCountMoreThan` and `countNumber` of at least `minReleaseImagesKept`; expire by age "
        "only untagged images or tag prefixes listed in `nonReleaseTagPrefixes`.",
        url=f"{SH_ECR_URL}#ecr-3",
        resource_types=(LIFECYCLE_POLICY,),
        check=check_lifecycle_keeps_rollback,
        thresholds={"minReleaseImagesKept": 10, "nonReleaseTagPrefixes": []},
    ),
    Rule(
        name="ecr-policy-not-public",
        description="ECR repository and registry policies never grant access to a wildcard principal.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_AWS_32"),
        remediation="In the aws.ecr.RepositoryPolicy `policy`, replace Principal \"*\" with the account or role "
        "ARNs that pull the images.",
        url="https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html",
        resource_types=(REPOSITORY_POLICY, REGISTRY_POLICY),
        check=check_policy_not_public,
        waivable=False,
    ),
]
