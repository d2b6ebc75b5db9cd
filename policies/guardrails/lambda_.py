"""Lambda rules: no credentials in environment variables, a runtime AWS still supports, and an execution role
that is not an administrator.

Credential names and values are judged by `guardrails.credentials`, the same test the ECS task environment and
GitHub Actions variable rules use. Messages name the variable, never its value.

Deprecated runtimes are a pinned list (`deprecatedRuntimes`, overridable per stack), taken from the
"Deprecated runtimes" table of https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html as of
2026-11-30 (dotnet8 reached deprecation on 2026-11-10). Add a runtime when its deprecation date passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.anchors import CHECKOV, FSBP, anchor_tags, anchored, sh_url
from guardrails.credentials import is_credential_name, is_credential_value
from guardrails.iam import (
    ATTACHMENT_TYPES,
    ROLE,
    ROLE_ATTACHMENTS_EXCLUSIVE,
    ROLE_POLICY,
    check_no_admin,
    linked,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import first_block, of_type

FUNCTION = "aws:lambda/function:Function"
RUNTIMES_URL = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"

DEPRECATED_RUNTIMES = [
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
    "nodejs16.x", "nodejs18.x", "nodejs20.x",
    "python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
    "java8",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0", "dotnet6", "dotnet7",
    "dotnet8",
    "go1.x", "provided",
    "ruby2.5", "ruby2.7", "ruby3.2",
]


def check_no_secrets_in_environment(resource: Resource, context: Context) -> Iterator[str]:
    variables = first_block(resource.get("environment")).get("variables")
    if not isinstance(variables, Mapping):
        return
    for name in sorted(variables):
        if is_credential_name(str(name)):
            yield (f"environment.variables {name} looks like a credential; expected the function to read it from "
                   "Secrets Manager or SSM Parameter Store at run time (pass the secret's ARN instead)")
        elif is_credential_value(variables[name]):
            yield (f"environment.variables {name} holds a credential-shaped value; expected it in Secrets Manager "
                   "or SSM Parameter Store, read at run time")


def check_supported_runtime(resource: Resource, context: Context) -> Iterator[str]:
    if str(resource.get("packageType", "Zip")) == "Image":
        return  # the runtime is inside the image; Lambda does not see it
    runtime = resource.get("runtime")
    if runtime in context.threshold("deprecatedRuntimes"):
        yield f"runtime {runtime} is deprecated by AWS Lambda; expected a supported runtime (see {RUNTIMES_URL})"


def _role_grants(role: Resource, resources: Sequence[Resource]) -> Iterator[str]:
    yield from check_no_admin(role, Context())
    for policy in of_type(resources, ROLE_POLICY, *ATTACHMENT_TYPES, ROLE_ATTACHMENTS_EXCLUSIVE):
        field = "roles" if policy.type.endswith("policyAttachment:PolicyAttachment") else "role"
        if linked(policy, field, role):
            yield from (f"{policy.name} {message}" for message in check_no_admin(policy, Context()))


def _runs_as(function: Resource, role: Resource) -> bool:
    """The function's `role` is this role: an output of it, or its ARN written out (`...:role/<path/>name`)."""
    dependencies = function.property_dependencies.get("role", ())
    if dependencies:
        return role.urn in dependencies
    arn, name = function.get("role"), role.get("name")
    return isinstance(arn, str) and isinstance(name, str) and arn.startswith("arn:") and arn.endswith(f"/{name}")


def check_role_not_admin(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    roles = of_type(resources, ROLE)
    for function in of_type(resources, FUNCTION):
        for role in roles:
            if not _runs_as(function, role):
                continue
            for message in _role_grants(role, resources):
                yield Finding(f"execution role {role.name}: {message}; a function's role grants only what its code "
                              "calls", function.urn)


def _rule(name: str, description: str, enforcement: Any, severity: Any, framework: Framework, url: str,
          checkov: Sequence[str], nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement=enforcement,
                severity=severity, framework=framework, remediation=remediation, url=url,
                tags=anchor_tags(checkov, nag), **kwargs)


POLICIES: list[Rule] = [
    _rule("lambda-no-secrets-in-environment",
          "No Lambda environment variable has a credential-like name or a credential-shaped value.",
          "M", "critical", Framework(CHECKOV, "CKV_AWS_45"),
          "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html",
          ("CKV_AWS_45",), (),
          "Store the value in Secrets Manager (or SSM SecureString), pass its ARN in the environment, grant the "
          "role secretsmanager:GetSecretValue on that ARN and read it at run time (or use the Parameters and "
          "Secrets Lambda extension).",
          resource_types=(FUNCTION,), check=check_no_secrets_in_environment, waivable=False),
    _rule("lambda-supported-runtime",
          "Lambda functions use a runtime AWS still supports (a pinned list of deprecated runtimes).",
          "MP", "medium", Framework(FSBP, "Lambda.2"), sh_url("lambda", "Lambda.2"),
          ("CKV_AWS_363",), ("AwsSolutions-L1",),
          f"Move the function to a supported runtime listed at {RUNTIMES_URL} (e.g. python3.13, nodejs22.x).",
          resource_types=(FUNCTION,), check=check_supported_runtime,
          thresholds={"deprecatedRuntimes": DEPRECATED_RUNTIMES}),
    _rule("lambda-role-not-admin",
          "A Lambda function's execution role of this stack grants no administrator access (Action \"*\" on "
          "Resource \"*\", NotAction on \"*\", or AdministratorAccess), inline or attached.",
          "M", "critical", Framework(FSBP, "IAM.1"), sh_url("iam", "IAM.1"),
          (), ("NIST.800.53.R5-IAMPolicyNoStatementsWithAdminAccess",),
          "Give each function its own role with the actions its code calls on the resources it uses (start from "
          "AWSLambdaBasicExecutionRole); never attach AdministratorAccess.",
          stack_check=check_role_not_admin),
]
