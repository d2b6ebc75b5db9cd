"""Repository-level Actions variables one stack publishes for workflows that run outside any environment
(pull-request previews, drift checks). Names carry the stack, so two stacks never manage the same variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.github_settings import GithubRepositorySettings, validate_github

VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class GithubRepositoryVariablesArgs:
    github: GithubRepositorySettings
    variables: Mapping[str, pulumi.Input[str]]
    """Variable name -> value. Values are configuration, never secrets: Actions variables are readable by anyone
    who can read the repository."""


class GithubRepositoryVariables(pulumi.ComponentResource):
    variable_names: list[str]
    """The variables this stack owns in the repository."""

    def __init__(
        self, name: str, args: GithubRepositoryVariablesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_github(args.github, "GithubRepositoryVariablesArgs.github")
        for variable in args.variables:
            if not VARIABLE_NAME.match(variable) or variable.startswith("GITHUB_"):
                raise ValueError(
                    f"GithubRepositoryVariablesArgs.variables: expected UPPER_SNAKE names not starting with "
                    f"GITHUB_, got {variable!r}"
                )
        super().__init__("rampart:index:GithubRepositoryVariables", name, None, opts)
        for variable, value in sorted(args.variables.items()):
            github.ActionsVariable(
                f"{name}-{variable.lower().replace('_', '-')}",
                repository=args.github.name,
                variable_name=variable,
                value=value,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.variable_names = sorted(args.variables)
        self.register_outputs({"variableNames": self.variable_names})
