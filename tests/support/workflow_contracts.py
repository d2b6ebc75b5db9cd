"""Contract checks between the workflows and the parts they drive (issue 11, deliverable 7), used by
tests/workflows/test_workflow_contracts.py. Each check returns every violation, named by workflow, job, step and
line; each takes the workflows (and what the stacks publish, tests/support/stack_publications.py) as arguments so a
test can change one side. The role `pulumi up` runs under is checked in tests/support/workflow_pulumi_runs.py."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from rampart.cli import build_parser
from tests.support import workflow_scripts as scripts
from tests.support.stack_publications import Published, variable
from tests.support.workflows import Problems, Step, Workflow, parse_error, rampart_invocations, script_lines
from tests.support.workflows import steps as all_steps

# This repository's own reusable workflow: the self-repository form `$/` (GitHub changelog 2026-07-30: "this
# repository at the commit that is running", github.com with runner 2.336.0+; zizmor's self-repository audit asks
# for it) or the older workspace-relative `./`. Either must name a file directly under .github/workflows.
REUSABLE_LOCAL = re.compile(r"(?:\./|\$/)\.github/workflows/([^/@]+\.ya?ml)")
REUSABLE_REMOTE = re.compile(r"[\w.-]+/[\w.-]+/\.github/workflows/[^@]+@[0-9a-f]{40}")
ACTION_PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*(\s|$)")  # other comments (a zizmor ignore) may follow
VARS_READ = re.compile(r"vars\.([A-Za-z_]\w*)|vars\[format\('([^']*)',\s*(matrix|inputs)\.(\w+)\)\]")
LEVELS = {"none": 0, "read": 1, "write": 2}
SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
          "models", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses")
# Set on every runner (docs.github.com: Actions "variables reference", default environment variables) and by bash.
DEFAULT_ENV = {
    "CI", "HOME", "PATH", "PWD", "OLDPWD", "RANDOM", "IFS", "USER", "SHELL", "LINENO", "SECONDS",
    "GITHUB_ACTION", "GITHUB_ACTION_PATH", "GITHUB_ACTION_REPOSITORY", "GITHUB_ACTIONS", "GITHUB_ACTOR",
    "GITHUB_ACTOR_ID", "GITHUB_API_URL", "GITHUB_BASE_REF", "GITHUB_ENV", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH",
    "GITHUB_GRAPHQL_URL", "GITHUB_HEAD_REF", "GITHUB_JOB", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_REF",
    "GITHUB_REF_NAME", "GITHUB_REF_PROTECTED", "GITHUB_REF_TYPE", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER", "GITHUB_REPOSITORY_OWNER_ID", "GITHUB_RETENTION_DAYS", "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_SERVER_URL", "GITHUB_SHA", "GITHUB_STATE", "GITHUB_STEP_SUMMARY",
    "GITHUB_TRIGGERING_ACTOR", "GITHUB_WORKFLOW", "GITHUB_WORKFLOW_REF", "GITHUB_WORKFLOW_SHA", "GITHUB_WORKSPACE",
    "RUNNER_ARCH", "RUNNER_DEBUG", "RUNNER_ENVIRONMENT", "RUNNER_NAME", "RUNNER_OS", "RUNNER_TEMP",
    "RUNNER_TOOL_CACHE",
}
# Environment an action exports to the steps after it.
ACTION_ENV = {
    "aws-actions/configure-aws-credentials": {
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    },
}


# ---- each `uses:` resolves ------------------------------------------------------------------------------------

def uses_problems(workflows: Mapping[str, Workflow]) -> Problems:
    problems = Problems()
    for workflow in workflows.values():
        raw = workflow.text.splitlines()
        for job_name, job in workflow.jobs():
            if "uses" not in job:
                continue
            uses, line = job["uses"], workflow.lines.get(("jobs", job_name, "uses"))
            where = f"{workflow.name}: job {job_name!r}, line {line}: uses {uses!r}"
            local = REUSABLE_LOCAL.fullmatch(uses)
            if local:
                callee = workflows.get(local.group(1))
                if callee is None:
                    problems.add(f"{where}: no such workflow in .github/workflows")
                elif "workflow_call" not in callee.triggers:
                    problems.add(f"{where}: {callee.name} has no `on: workflow_call`")
            elif not REUSABLE_REMOTE.fullmatch(uses):
                problems.add(f"{where}: a reusable workflow is $/.github/workflows/<file> (or ./…) in this"
                             " repository, or owner/repo/.github/workflows/<file>@<40-hex commit SHA>")
            elif not VERSION_COMMENT.search(raw[line - 1]):
                problems.add(f"{where}: pinned without a `# vX.Y.Z` comment naming the version")
    for step in all_steps(workflows):
        uses, line = step.data.get("uses"), step.line_of("uses")
        if not uses or uses.startswith("./"):
            continue
        if not ACTION_PINNED.fullmatch(uses):
            problems.add(f"{step.where(line)}: {uses!r} is not pinned to a full 40-hex commit SHA")
        elif not VERSION_COMMENT.search(step.workflow.text.splitlines()[line - 1]):
            problems.add(f"{step.where(line)}: {uses!r} has no `# vX.Y.Z` comment naming the pinned version")
    return problems


# ---- reusable workflow calls: inputs and permissions ---------------------------------------------------------

def _level(grant: Any, scope: str) -> int:
    if grant in ("read-all", "write-all"):
        return LEVELS[grant.removesuffix("-all")]
    return LEVELS.get((grant or {}).get(scope, "none"), 0)


def _input_problems(where: str, declared: dict[str, Any], given: dict[str, Any]) -> list[str]:
    found = [f"{where}: passes input {name!r}, which the callee does not declare" for name in given
             if name not in declared]
    for name, spec in declared.items():
        spec = spec or {}
        if spec.get("required") and "default" not in spec and name not in given:
            found.append(f"{where}: does not pass required input {name!r}")
        value = given.get(name)
        if name not in given or (isinstance(value, str) and "${{" in value):
            continue  # an expression's type is known only at run time
        kind = spec.get("type", "string")
        fits = {"string": isinstance(value, str), "boolean": isinstance(value, bool),
                "number": isinstance(value, int | float) and not isinstance(value, bool)}.get(kind, False)
        if not fits:
            found.append(f"{where}: input {name!r} is declared {kind}, got {type(value).__name__} {value!r}")
    return found


def call_problems(workflows: Mapping[str, Workflow]) -> Problems:
    problems = Problems()
    for workflow in workflows.values():
        for job_name, job in workflow.jobs():
            local = REUSABLE_LOCAL.fullmatch(str(job.get("uses", "")))
            callee = workflows.get(local.group(1)) if local else None
            if callee is None or "workflow_call" not in callee.triggers:
                continue  # uses_problems reports it
            where = f"{workflow.name}: job {job_name!r} calling {callee.name}"
            call = callee.triggers["workflow_call"] or {}
            for message in _input_problems(where, call.get("inputs") or {}, job.get("with") or {}):
                problems.add(message)
            secrets = job.get("secrets")
            if isinstance(secrets, dict):
                for message in _input_problems(f"{where} (secrets)", call.get("secrets") or {}, secrets):
                    problems.add(message)
            grant = job.get("permissions", workflow.data.get("permissions"))
            needs = [("the workflow", callee.data.get("permissions"))]
            needs += [(f"job {name!r}", called.get("permissions")) for name, called in callee.jobs()]
            for who, need in needs:
                if need is None:
                    continue  # inherits the caller's grant
                scopes = need if isinstance(need, dict) else dict.fromkeys(SCOPES, need.removesuffix("-all"))
                for scope, level in scopes.items():
                    if LEVELS[level] > _level(grant, scope):
                        problems.add(f"{where}: {who} needs `{scope}: {level}`, the caller grants"
                                     f" {(grant or {}).get(scope, 'none') if isinstance(grant, dict) else grant}")
    return problems



# ---- each `rampart` invocation parses -------------------------------------------------------------------------

def cli_problems(workflows: Mapping[str, Workflow], parser=None) -> Problems:
    parser = parser or build_parser()
    problems = Problems()
    for invocation in rampart_invocations(workflows):
        error = parse_error(parser, invocation.argv)
        if error:
            problems.add(f"{invocation.line.where}: `rampart {' '.join(invocation.argv)}`: {error}")
        step = invocation.line.step
        earlier = [s.get("run", "") for s in step.job["steps"][: step.index]]
        if invocation.program == "rampart" and not any(
                ".venv/bin" in run and "GITHUB_PATH" in run for run in earlier):
            problems.add(f"{invocation.line.where}: bare `rampart` but no earlier step puts .venv/bin on"
                         " $GITHUB_PATH")
    return problems


# ---- each variable a job reads is published, in a scope the job can see ---------------------------------------

def _value_at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _entries(workflows: Mapping[str, Workflow], workflow: Workflow, job: dict[str, Any], context: str,
             key: str) -> list[dict[str, Any]]:
    """The values `matrix.<key>` / `inputs.<key>` can take, each as a dict that may name its `stack`: matrix
    `include` entries; a dispatch input's choices; the literal values callers pass to a reusable workflow."""
    if context == "matrix":
        return list(((job.get("strategy") or {}).get("matrix") or {}).get("include") or [])
    choices = ((workflow.triggers.get("workflow_dispatch") or {}).get("inputs") or {}).get(key, {}).get("options")
    passed = [str((caller_job.get("with") or {}).get(key)) for caller in workflows.values()
              for _, caller_job in caller.jobs()
              if REUSABLE_LOCAL.fullmatch(str(caller_job.get("uses", ""))) and
              REUSABLE_LOCAL.fullmatch(caller_job["uses"]).group(1) == workflow.name]
    return [{key: value, "stack": value} for value in (choices or passed)]


def job_environments(workflows: Mapping[str, Workflow], workflow: Workflow, job: dict[str, Any],
                     stacks: list[str]) -> dict[str, str | None]:
    """stack -> the GitHub environment the job runs in for that stack (None: no environment). An expression in
    the name (`${{ inputs.stack }}-rollback`) takes each value the input can have; that value names the stack."""
    environment = job.get("environment")
    name = environment.get("name") if isinstance(environment, dict) else environment
    if not name:
        return dict.fromkeys(stacks)
    found = re.search(r"\$\{\{\s*(inputs|matrix)\.(\w+)\s*\}\}", name)
    if not found:
        return dict.fromkeys(stacks, name)
    entries = _entries(workflows, workflow, job, found.group(1), found.group(2))
    return {entry["stack"]: name.replace(found.group(0), str(entry[found.group(2)])) for entry in entries
            if "stack" in entry}


def variable_problems(workflows: Mapping[str, Workflow], published: Mapping[str, Published]) -> Problems:
    """Each `vars.X` a job reads is published for the environment the job runs in (per stack), or as a
    repository variable; `vars[format('P_{0}', matrix.k)]` (or `inputs.k`) is expanded per value, and a value
    naming a stack must read that stack's variable."""
    problems = Problems()
    for workflow in workflows.values():
        for path, line in workflow.lines.items():
            if path[:1] != ("jobs",) or not isinstance(value := _value_at(workflow.data, path), str):
                continue
            job = workflow.data["jobs"][path[1]]
            where = f"{workflow.name}: job {path[1]!r}, line {line}"
            environments = job_environments(workflows, workflow, job, list(published))
            for plain, name_format, context, key in VARS_READ.findall(value):
                entries = [{}] if plain else _entries(workflows, workflow, job, context, key) or [{}]
                for entry in entries:
                    name = plain or name_format.format(entry.get(key, f"<no {context}.{key}>"))
                    # A job whose matrix runs it in some stacks' environments only reads those stacks' variables.
                    scoped = [s for s in published if environments.get(s)] or list(published)
                    stacks = [entry["stack"]] if entry.get("stack") in published else scoped
                    for stack in stacks:
                        environment = environments.get(stack)
                        if variable(published[stack], environment, name) is None:
                            scope = f"environment {environment!r} or" if environment else "(outside any environment)"
                            problems.add(f"{where}: reads vars.{name}, which stack {stack!r} does not publish in"
                                         f" {scope} the repository")
    return problems


# ---- each environment variable a script reads is defined --------------------------------------------------------

def env_problems(workflows: Mapping[str, Workflow]) -> Problems:
    problems = Problems()
    for workflow in workflows.values():
        for job_name, job in workflow.jobs():
            exported = set(workflow.data.get("env") or {}) | set(job.get("env") or {})
            for index, data in enumerate(job.get("steps") or []):
                step = Step(workflow, job_name, job, index, data)
                defined = DEFAULT_ENV | exported | set(data.get("env") or {})
                _script_env_problems(step, defined, problems)
                exported |= scripts.github_env_writes(data.get("run", ""))
                exported |= ACTION_ENV.get(str(data.get("uses", "")).split("@")[0], set())
    return problems


def _script_env_problems(step: Step, defined: set[str], problems: Problems) -> None:
    script, first = step.data.get("run"), step.line_of("run")
    if not isinstance(script, str):
        return
    assigned = scripts.shell_assignments(script)
    for offset, name in scripts.shell_reads(script):
        if name in defined or any(at < offset and local == name for at, local in assigned):
            continue
        line = first + script.count("\n", 0, offset)
        problems.add(f"{step.where(line)}: reads ${name}, which neither the job or step env, GitHub's default"
                     " variables, an earlier $GITHUB_ENV write nor the script itself defines")
    for line in script_lines(step):
        for name in sorted(scripts.python_env_reads(line) - defined):
            problems.add(f"{line.where}: python reads os.environ[{name!r}], which is not in the step's environment"
                         " (a shell variable is not exported to it)")


# ---- each JSON field a script reads exists in what the stack publishes ------------------------------------------

def _documents(workflows: Mapping[str, Workflow], read: scripts.JsonRead,
               published: Mapping[str, Published]) -> dict[str, Any] | str:
    """stack -> the JSON document the read's source holds, or why the source is unknown."""
    step = read.line.step
    name = read.source.removeprefix("env:")
    expression = str({**(step.job.get("env") or {}), **(step.data.get("env") or {})}.get(name, ""))
    variable_name = re.fullmatch(r"\$\{\{\s*vars\.(\w+)\s*\}\}", expression)
    if read.source.startswith("env:") and variable_name:
        found = {}
        environments = job_environments(workflows, step.workflow, step.job, list(published))
        # As for vars: a job its matrix runs in some stacks' environments only reads those stacks' documents.
        scoped = [s for s in published if environments.get(s)] or list(published)
        for stack, p in published.items():
            if stack not in scoped:
                continue
            value = variable(p, environments.get(stack), variable_name.group(1))
            found[stack] = json.loads(value) if isinstance(value, str) else value
        return found
    writes_outputs = rf"pulumi stack output\b[^\n>]*--json[^\n>]*>\s*\"?\$\{{?{name}\b"
    if read.source.startswith("env:") and any(re.search(writes_outputs, str(s.get("run", "")))
                                              for s in step.job.get("steps") or []):
        return {stack: p.outputs for stack, p in published.items()}
    if read.source.startswith("literal:") and _written_by_register_only(step, read.source.removeprefix("literal:")):
        return {stack: REGISTER_ONLY_REPORT for stack in published}
    return f"reads JSON from {read.source}, which is neither a published variable nor the stack outputs file"


REGISTER_ONLY_REPORT = {"result": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/f:2"}}
"""What `rampart deploy --register-only --format json` prints (tests/ops/test_deploy_register_and_follow.py holds
it to this shape)."""


def _written_by_register_only(step: Step, path: str) -> bool:
    script = str(step.data.get("run", "")).replace("\\\n", " ")
    return bool(re.search(rf"rampart deploy\b[^\n>]*--register-only[^\n>]*--format json\s*>\s*\"?{re.escape(path)}\b",
                          script))


def _missing(document: Any, path: tuple[str, ...], trail: str = "") -> str | None:
    if not path:
        return None
    key, rest = path[0], path[1:]
    if not isinstance(document, dict) or (key == scripts.ANY_KEY and not document):
        return f"{trail or 'the document'} is not a non-empty object"
    if key == scripts.ANY_KEY:
        return next((m for k, v in document.items() if (m := _missing(v, rest, f"{trail}[{k!r}]"))), None)
    if key not in document:
        return f"{trail or 'the document'} has no {key!r} (it has {', '.join(sorted(document))})"
    return _missing(document[key], rest, f"{trail}[{key!r}]")


def json_problems(workflows: Mapping[str, Workflow], published: Mapping[str, Published]) -> Problems:
    problems = Problems()
    for read in scripts.json_reads(workflows):
        documents = _documents(workflows, read, published)
        if isinstance(documents, str):
            problems.add(f"{read.line.where}: {documents}")
            continue
        for stack, document in documents.items():
            if (missing := _missing(document, read.path)) is not None:
                shown = "".join(f"[{k!r}]" for k in read.path)
                problems.add(f"{read.line.where}: reads {read.source}{shown}; in stack {stack!r} {missing}")
    return problems
