"""Read the stack outputs file (`pulumi stack output --json`), with command-line flags taking precedence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rampart.errors import UsageError

DEFAULT_DIR = Path(".rampart/outputs")


class StackOutputs:
    """Lazily loaded: a command given every value by flags never needs the file."""

    def __init__(self, stack: str | None, path: Path | None) -> None:
        self.stack = stack
        self.path = path if path is not None else (DEFAULT_DIR / f"{stack}.json" if stack else None)
        self._data: dict[str, Any] | None = None

    def data(self, needed_for: str = "") -> dict[str, Any]:
        if self._data is None:
            hint = f" (needed for {needed_for})" if needed_for else ""
            if self.path is None:
                raise UsageError(f"no stack outputs: pass --stack or --outputs FILE{hint}")
            try:
                raw = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise UsageError(
                    f"{self.path}: stack outputs file not found{hint}; write it with "
                    f"`pulumi stack output --json > {self.path}` or pass the value as a flag"
                ) from None
            except OSError as exc:
                raise UsageError(f"{self.path}: cannot read stack outputs: {exc.strerror}") from None
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise UsageError(f"{self.path}: not valid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise UsageError(f"{self.path}: expected a JSON object of stack outputs")
            self._data = data
        return self._data

    def get(self, key: str, *, flag: str | None = None, default: Any = ..., expect: type | tuple = object) -> Any:
        """The value at dotted `key` (e.g. `services.api.deploymentGroup`); UsageError naming file and key."""
        hint = f" or pass {flag}" if flag else ""
        node: Any = self.data(needed_for=f"{key}{hint}")
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not ...:
                    return default
                raise UsageError(f"{self.path}: no key {key} in the stack outputs{hint}")
            node = node[part]
        if node is None or not isinstance(node, expect):
            if default is not ...:
                return default
            # Never the value: an outputs file can hold a secret.
            raise UsageError(f"{self.path}: key {key} is {json_type(node)}, expected {expected_type(expect)}{hint}")
        return node

    def pick(self, flag_value: Any, key: str, flag: str, expect: type | tuple = object) -> Any:
        """The flag when given, else the outputs value."""
        if flag_value is not None:
            return flag_value
        return self.get(key, flag=flag, expect=expect)

    def optional(self, key: str) -> Any:
        """The value at `key`, or None when the file or the key is absent."""
        try:
            return self.get(key, default=None)
        except UsageError:
            return None


_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "true or false"), (int, "an integer"), (float, "a number"), (str, "a string"), (dict, "an object"),
    (list, "a list"),
)


def json_type(value: Any) -> str:
    """What a JSON value is, in words, for a message that must not show the value itself."""
    if value is None:
        return "null"
    return next((words for kind, words in _JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def expected_type(expect: type | tuple) -> str:
    kinds = expect if isinstance(expect, tuple) else (expect,)
    named = [next((words for kind, words in _JSON_TYPES if kind is wanted), wanted.__name__) for wanted in kinds]
    return " or ".join("a value" if name == "object" else name for name in named)


def add_arguments(parser: Any, *, stack_required: bool = False) -> None:
    parser.add_argument("--stack", required=stack_required, metavar="NAME",
                        help="stack whose outputs to read (default file: .rampart/outputs/<stack>.json)")
    parser.add_argument("--outputs", type=Path, default=None, metavar="FILE",
                        help="stack outputs JSON (`pulumi stack output --json`)")


def add_service_names(parser: Any) -> None:
    """The names a blue/green service is deployed by, each defaulting to its stack output (deploy, rollback)."""
    parser.add_argument("--cluster", help="ECS cluster (default: clusterName)")
    parser.add_argument("--ecs-service", help="ECS service name (default: services.<service>.serviceName)")
    parser.add_argument("--application", help="CodeDeploy application (default: codedeployApplication)")
    parser.add_argument("--deployment-group", help="CodeDeploy deployment group (default: deploymentGroup)")
    parser.add_argument("--container", help="container receiving traffic (default: containerName)")
    parser.add_argument("--container-port", type=int, help="its port (default: containerPort)")


def add_common(parser: Any) -> None:
    from rampart.ops.report import FORMATS

    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)")
    parser.add_argument("--format", choices=FORMATS, default="text")
