"""GithubOidc: keyless CI access with exact subjects, scoped deploy permissions and a read-only preview role."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components.github_oidc import GithubOidc, GithubOidcArgs
from infra.component_args import github_settings
from tests.support.stacks import record_program, stack_config

PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop-production"
SERVICES = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop-production/web"]
PASS_ROLES = [f"arn:aws:iam::{ACCOUNT}:role/shop-web-task", f"arn:aws:iam::{ACCOUNT}:role/shop-web-execution"]
REPOSITORIES = [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop/web"]
DB = [f"arn:aws:rds:{REGION}:{ACCOUNT}:db:shop-production"]
LOGS = [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/rampart/shop-production/web"]
STATE_BACKEND = "s3://shop-pulumi-state?region=us-east-1"
SECRETS_PROVIDER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f3c6a52-8d1e-4b7a-9c2f-5e6d7a8b9c01"
STACK_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
STACK_SECRETS = ["shop-production/session-key"]
AUD = "token.actions.githubusercontent.com:aud"
SUB = "token.actions.githubusercontent.com:sub"


def gh(**update):
    return dataclasses.replace(github_settings(stack_config("production").github), **update)


def make_args(**overrides):
    values = dict(
        github=gh(),
        environment="production",
        name_prefix="shop-production",
        account_id=ACCOUNT,
        region=REGION,
        cluster_arn=CLUSTER,
        service_arns=SERVICES,
        task_definition_families=["shop-production-web", "shop-production-migrate"],
        pass_role_arns=PASS_ROLES,
        codedeploy_application_names=["shop-production-web"],
        deployment_group_names=["shop-production-web"],
        repository_arns=REPOSITORIES,
        db_instance_arns=DB,
        log_group_arns=LOGS,
        state_backend_url=STATE_BACKEND,
        secrets_provider_key_arn=SECRETS_PROVIDER_KEY,
        stack_key_arn=STACK_KEY,
        stack_secret_names=STACK_SECRETS,
        managed_policy_arns=["arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"],
        rollback_environment="production-rollback",
    )
    values.update(overrides)
    return GithubOidcArgs(**values)


def record_oidc(**overrides):
    return record_program(lambda: GithubOidc("ci", make_args(**overrides)))


@pytest.fixture(scope="module")
def rec():
    return record_oidc()


def role(rec, suffix):
    return rec.one(ROLE, f"ci-{suffix}")


def trust(reg):
    return json.loads(reg.plain_inputs()["assumeRolePolicy"])


def deploy_statements(rec):
    policy = json.loads(rec.one(ROLE_POLICY, "ci-deploy-policy").plain_inputs()["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_oidc_provider(rec):
    inputs = rec.one(PROVIDER).plain_inputs()
    assert inputs["url"] == "https://token.actions.githubusercontent.com"
    assert inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_existing_provider_is_reused():
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    rec = record_oidc(create_provider=False, provider_arn=existing)
    assert rec.by_type(PROVIDER) == []
    assert trust(role(rec, "deploy"))["Statement"][0]["Principal"] == {"Federated": existing}


def test_provider_choice_is_unambiguous():
    with pytest.raises(ValueError, match="GithubOidcArgs.provider_arn"):
        record_oidc(create_provider=False)
    with pytest.raises(ValueError, match="GithubOidcArgs.provider_arn"):
        record_oidc(provider_arn="arn:aws:iam::1:oidc-provider/x")


def test_deploy_trust_exact_subjects_both_forms(rec):
    statement = trust(role(rec, "deploy"))["Statement"]
    assert len(statement) == 1
    statement = statement[0]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert statement["Principal"] == {"Federated": provider_arn}
    # Exactly StringEquals, exactly these two subjects: a wildcard or StringLike anywhere fails here.
    assert statement["Condition"] == {
        "StringEquals": {
            AUD: "sts.amazonaws.com",
            SUB: [
                "repo:example-org/shop:environment:production",
                "repo:example-org@104233113/shop@871244590:environment:production",
            ],
        }
    }


def test_deploy_trust_name_form_only_without_ids():
    rec = record_oidc(github=gh(owner_id=None, repository_id=None))
    condition = trust(role(rec, "deploy"))["Statement"][0]["Condition"]
    assert condition == {
        "StringEquals": {AUD: "sts.amazonaws.com", SUB: ["repo:example-org/shop:environment:production"]}
    }


def test_staging_subject_names_its_environment():
    staging = github_settings(stack_config("staging").github)
    rec = record_oidc(github=staging, environment="staging", name_prefix="shop-staging")
    subs = trust(role(rec, "deploy"))["Statement"][0]["Condition"]["StringEquals"][SUB]
    assert all(s.endswith(":environment:staging") for s in subs)


def test_preview_trust_pull_requests_and_the_default_branch_only(rec):
    condition = trust(role(rec, "preview"))["Statement"][0]["Condition"]
    assert condition == {
        "StringEquals": {
            AUD: "sts.amazonaws.com",
            SUB: [
                "repo:example-org/shop:pull_request",
                "repo:example-org@104233113/shop@871244590:pull_request",
                "repo:example-org/shop:ref:refs/heads/main",
                "repo:example-org@104233113/shop@871244590:ref:refs/heads/main",
            ],
        }
    }


def test_no_wildcard_in_any_trust(rec):
    for reg in rec.by_type(ROLE):
        text = reg.plain_inputs()["assumeRolePolicy"]
        assert "*" not in text
        assert "StringLike" not in text


@pytest.mark.parametrize("suffix", ["deploy", "preview"])
def test_session_at_most_one_hour(rec, suffix):
    assert role(rec, suffix).plain_inputs()["maxSessionDuration"] == 3600


def test_role_names(rec):
    assert role(rec, "deploy").plain_inputs()["name"] == "shop-production-github-deploy"
    assert role(rec, "preview").plain_inputs()["name"] == "shop-production-github-preview"


def test_no_iam_users_or_access_keys(rec):
    types = {r.type for r in rec.registrations}
    assert "aws:iam/user:User" not in types
    assert "aws:iam/accessKey:AccessKey" not in types
    assert not any("user" in t.lower() or "accesskey" in t.lower() for t in types)


def test_pass_role_scoped_and_conditioned(rec):
    statements = deploy_statements(rec)
    passing = [s for s in statements.values() if "iam:PassRole" in as_list(s["Action"])]
    assert len(passing) == 1
    statement = passing[0]
    assert sorted(as_list(statement["Resource"])) == sorted(PASS_ROLES)
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_only_unscopable_actions_on_star(rec):
    star = {
        action
        for s in deploy_statements(rec).values()
        if "*" in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }
    assert star == {"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecr:GetAuthorizationToken",
                    "codedeploy:ContinueDeployment", "codedeploy:StopDeployment"}


def test_no_wildcard_actions(rec):
    for statement in deploy_statements(rec).values():
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, action


def test_ecs_scoped(rec):
    statements = deploy_statements(rec)
    run = statements["EcsRunMigrationTask"]
    assert run["Action"] == "ecs:RunTask"
    assert run["Resource"] == [
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-production-web:*",
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-production-migrate:*",
    ]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTER}}
    services = statements["EcsServices"]
    assert services["Action"] == "ecs:DescribeServices"  # UpdateService: CodeDeploy moves the service, not us
    assert services["Resource"] == SERVICES
    assert statements["EcsWatchTasks"]["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/shop-production/*"


def test_codedeploy_scoped(rec):
    statements = deploy_statements(rec)
    deployments = statements["CodeDeployDeployments"]
    assert {"codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:GetDeploymentGroup"} == set(
        deployments["Action"]
    )
    assert deployments["Resource"] == [
        f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:shop-production-web/shop-production-web"
    ]
    # No resource-level permissions exist for these two: scoped to a group ARN they would never be allowed.
    assert statements["CodeDeployReleaseOrStop"] == {
        "Sid": "CodeDeployReleaseOrStop", "Effect": "Allow",
        "Action": ["codedeploy:ContinueDeployment", "codedeploy:StopDeployment"], "Resource": "*"}


def test_ecr_push_only_to_our_repositories(rec):
    statements = deploy_statements(rec)
    push = statements["EcrPush"]
    assert "ecr:PutImage" in push["Action"]
    assert push["Resource"] == REPOSITORIES
    assert statements["EcrLogin"] == {
        "Sid": "EcrLogin",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    }


def test_rds_snapshots_only_our_tagged_ones(rec):
    statements = deploy_statements(rec)
    tag = {"rampart:managed-by": "rampart-snapshot"}
    delete = [s for s in statements.values() if "rds:DeleteDBSnapshot" in as_list(s["Action"])]
    assert len(delete) == 1
    assert delete[0]["Condition"] == {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in tag.items()}}
    create_snapshot = statements["RdsCreateOurSnapshots"]
    assert create_snapshot["Resource"] == f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:*"
    assert create_snapshot["Condition"] == {"StringEquals": {f"aws:RequestTag/{k}": v for k, v in tag.items()}}
    assert statements["RdsSnapshotSource"]["Resource"] == DB


def test_restore_kms_grants_name_the_stack_key_alone(rec):
    """The copy `rampart restore` makes keeps the source's key (the stack key): RDS's grant and Secrets Manager's
    data key for the copy's secret are allowed on that key only, never on every key in the account."""
    statements = deploy_statements(rec)
    kms = {sid: s for sid, s in statements.items() if any(a.startswith("kms:") for a in as_list(s["Action"]))}
    restore = {sid for sid in kms if "Restore" in sid or "Copy" in sid}
    assert restore == {"KmsGrantForRestoredStorage", "KmsDescribeForRestoredStorage", "KmsEncryptTheCopysSecret"}
    assert all(kms[sid]["Resource"] == STACK_KEY for sid in restore)
    assert kms["KmsGrantForRestoredStorage"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_no_rds_statements_without_a_database():
    statements = deploy_statements(record_oidc(db_instance_arns=()))
    assert not any(a.startswith("rds:") for s in statements.values() for a in as_list(s["Action"]))


def test_logs_and_alarms_read_only(rec):
    statements = deploy_statements(rec)
    logs = statements["ReadDeployLogs"]
    assert logs["Action"] == "logs:GetLogEvents"
    assert logs["Resource"] == [f"{LOGS[0]}:log-stream:*"]
    assert statements["CloudWatchAlarms"]["Action"] == "cloudwatch:DescribeAlarms"
    assert statements["CloudWatchAlarms"]["Resource"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"


def policy_of(rec, name):
    return json.loads(rec.one(ROLE_POLICY, f"ci-{name}-policy").plain_inputs()["policy"])


def test_preview_role_reads_only_what_a_refresh_reads(rec):
    from components.ci_policies import REFRESH_READS

    assert rec.by_type(ATTACHMENT) == []  # no AWS-managed ReadOnlyAccess: it reads every S3 object and table
    statements = {s["Sid"]: s for s in policy_of(rec, "preview")["Statement"]}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    reads = set(statements["RefreshDeclaredResources"]["Action"])
    every_read = {a for actions in REFRESH_READS.values() for a in actions}
    assert reads == every_read - {"secretsmanager:GetSecretValue"}
    assert all(":Describe" in a or ":Get" in a or ":List" in a for a in reads)
    assert statements["RefreshStackSecretVersions"]["Resource"] == [
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop-production/session-key-??????"]
    assert statements["StackSecretsProvider"] == {
        "Sid": "StackSecretsProvider", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": SECRETS_PROVIDER_KEY}
    assert statements["StateObjects"]["Action"] == ["s3:GetObject"]
    assert statements["StateLocks"]["Resource"] == "arn:aws:s3:::shop-pulumi-state/.pulumi/locks/*"


def test_infrastructure_role_denies_users_keys_and_the_account_pieces(rec):
    statements = {s["Sid"]: s for s in policy_of(rec, "infra")["Statement"]}
    assert statements["NoIamUsersOrKeys"]["Effect"] == "Deny"
    assert {"iam:CreateUser", "iam:CreateAccessKey"} <= set(statements["NoIamUsersOrKeys"]["Action"])
    assert statements["KeepTheStateBucket"]["Resource"] == "arn:aws:s3:::shop-pulumi-state"
    assert "s3:DeleteBucket" in statements["KeepTheStateBucket"]["Action"]
    assert statements["KeepTheSecretsProviderKey"]["Resource"] == SECRETS_PROVIDER_KEY
    assert statements["StackRoles"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/shop-production-*"
    assert statements["StackRolesManagedPolicies"]["Condition"] == {
        "ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"]}}


def test_infrastructure_and_rollback_trust(rec):
    infra = trust(role(rec, "infra"))["Statement"][0]["Condition"]["StringEquals"][SUB]
    assert infra == trust(role(rec, "deploy"))["Statement"][0]["Condition"]["StringEquals"][SUB]
    rollback = trust(role(rec, "rollback"))["Statement"][0]["Condition"]["StringEquals"][SUB]
    assert rollback and all(s.endswith(":environment:production-rollback") for s in rollback)


def test_rollback_role_cannot_ship_new_code(rec):
    actions = {a for s in policy_of(rec, "rollback")["Statement"] for a in as_list(s["Action"])}
    assert not {"ecs:RegisterTaskDefinition", "iam:PassRole", "ecr:PutImage", "ecs:UpdateService"} & actions
    assert "codedeploy:StopDeployment" in actions


def test_no_rollback_role_without_its_environment():
    rec = record_oidc(rollback_environment=None)
    assert [r.name for r in rec.by_type(ROLE) if r.name.endswith("rollback")] == []


def test_deploy_policy_attached_to_deploy_role(rec):
    assert rec.one(ROLE_POLICY, "ci-deploy-policy").plain_inputs()["role"] == "shop-production-github-deploy"


def test_children_parented(rec):
    component = [r for r in rec.registrations if r.type == "rampart:index:GithubOidc"]
    assert len(component) == 1
    assert {r.name for r in rec.children_of(component[0].urn)} == {
        "ci-provider",
        "ci-deploy",
        "ci-deploy-policy",
        "ci-infra",
        "ci-infra-policy",
        "ci-preview",
        "ci-preview-policy",
        "ci-rollback",
        "ci-rollback-policy",
    }


def test_outputs():
    def program():
        import pulumi

        oidc = GithubOidc("ci", make_args())
        pulumi.export("deploy", oidc.deploy_role_arn)
        pulumi.export("preview", oidc.preview_role_arn)
        pulumi.export("provider", oidc.provider_arn)

    outputs = record_program(program).outputs
    assert outputs["deploy"].endswith(":role/shop-production-github-deploy")
    assert outputs["preview"].endswith(":role/shop-production-github-preview")
    assert outputs["provider"].endswith(":oidc-provider/token.actions.githubusercontent.com")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pass_role_arns", ["*"]),
        ("pass_role_arns", [f"arn:aws:iam::{ACCOUNT}:role/*"]),
        ("pass_role_arns", []),
        ("service_arns", []),
        ("repository_arns", [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"]),
        ("db_instance_arns", ["*"]),
        ("task_definition_families", ["shop*"]),
        ("cluster_arn", "*"),
        ("environment", "prod*"),
        ("region", "everywhere"),
        ("name_prefix", "x" * 60),
        ("rollback_environment", "production"),
        ("state_backend_url", "https://api.pulumi.com"),
        ("secrets_provider_key_arn", "arn:aws:kms:us-east-1:123456789012:alias/pulumi"),
    ],
)
def test_invalid_args_raise(field, value):
    with pytest.raises(ValueError, match=rf"GithubOidcArgs\.{field}: expected"):
        record_oidc(**{field: value})
