"""Read a Pulumi project and its stack files the way the CLI does, without the CLI.

`Pulumi.<stack>.yaml` values become the runtime config map (`namespace:key` -> string, structured values as
JSON); `secure:` values cannot be decrypted offline, so they become placeholders marked secret, never errors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rampart.errors import UsageError

# Looks like nothing a real secret could be, so a leak test can search for it.
SECRET_PLACEHOLDER_PREFIX = "rampart-offline-secret-"


@dataclass(frozen=True)
class Project:
    directory: Path
    name: str
    runtime: str
    main: Path
    """The program's entry file (Pulumi.yaml `main:`, else __main__.py in the project directory)."""
    config_defaults: dict[str, Any]


@dataclass(frozen=True)
class StackSettings:
    name: str
    file: Path
    config: dict[str, str]
    secret_keys: tuple[str, ...]
    file_exists: bool = True
    """False when the stack has no stack file: it runs with empty config (Pulumi.yaml defaults only), as
    `pulumi preview` runs a newly initialised stack."""


def load_project(directory: Path) -> Project:
    project_file = next((directory / n for n in ("Pulumi.yaml", "Pulumi.yml") if (directory / n).exists()), None)
    if project_file is None:
        raise UsageError(f"{directory}: no Pulumi.yaml found; expected a Pulumi project directory (--program DIR)")
    document = read_yaml(project_file)
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise UsageError(f"{project_file}: expected a mapping with a string `name`")
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise UsageError(f"{project_file}: runtime is {runtime_name!r}; rampart check runs python programs only")
    main_dir = directory / str(document.get("main", "."))
    main = main_dir if main_dir.is_file() else main_dir / "__main__.py"
    if not main.is_file():
        raise UsageError(f"{project_file}: program entry {main} not found; expected __main__.py")
    defaults: dict[str, Any] = {}
    for key, spec in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{document['name']}:{key}"
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            defaults[full_key] = spec.get("value", spec.get("default"))
        elif not isinstance(spec, dict):
            defaults[full_key] = spec
    return Project(directory=directory, name=document["name"], runtime="python", main=main,
                   config_defaults=defaults)


def discover_stacks(directory: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in directory.glob("Pulumi.*.yaml"))


def load_stack(project: Project, stack: str, *, missing_ok: bool = False) -> StackSettings:
    """`missing_ok`: a stack without a stack file gets empty config (the project's defaults) instead of an error."""
    stack_file = project.directory / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        if missing_ok:
            config, secret_keys = _config(project, {})
            return StackSettings(name=stack, file=stack_file, config=config, secret_keys=secret_keys,
                                 file_exists=False)
        known = ", ".join(discover_stacks(project.directory)) or "none"
        raise UsageError(f"--stack {stack}: {stack_file} not found; stacks in this project: {known}")
    document = read_yaml(stack_file) or {}
    if not isinstance(document, dict):
        raise UsageError(f"{stack_file}: expected a mapping with a `config:` section")
    raw_config = document.get("config") or {}
    if not isinstance(raw_config, dict):
        raise UsageError(f"{stack_file}: `config` must be a mapping of keys to values")
    config, secret_keys = _config(project, raw_config)
    return StackSettings(name=stack, file=stack_file, config=config, secret_keys=secret_keys)


def _config(project: Project, raw_config: dict[str, Any]) -> tuple[dict[str, str], tuple[str, ...]]:
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    merged = {**project.config_defaults, **raw_config}
    for key, value in merged.items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        if _is_secure(value):
            config[full_key] = SECRET_PLACEHOLDER_PREFIX + full_key.replace(":", "-")
            secret_keys.append(full_key)
            continue
        if _contains_secure(value):
            config[full_key] = json.dumps(_placeholders(value, full_key))
            secret_keys.append(full_key)
            continue
        config[full_key] = value if isinstance(value, str) else json.dumps(value)
    return config, tuple(secret_keys)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _contains_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _placeholders(value: Any, path: str) -> Any:
    if _is_secure(value):
        return SECRET_PLACEHOLDER_PREFIX + path.replace(":", "-")
    if isinstance(value, dict):
        return {k: _placeholders(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


class _UniqueKeys:
    """Rejects a key repeated in one mapping, as the Pulumi CLI does (PyYAML lets the last win, so `rampart check`
    could approve a value Pulumi would never read)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<` merges may override by design; complex keys do not occur in Pulumi files
            key = self.construct_object(key_node)  # type: ignore[attr-defined]
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} on lines {first_line[key]} and {line}; "
                    "expected each key once per mapping", key_node.start_mark)
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    pass


# libyaml parses a 23 KB stack file in ~7 ms against ~55 ms, before the worker can start; construction (safe tags,
# duplicate keys) stays PyYAML's own Python code, so valid files give the same values.
_FAST_LOADER: type | None = (type("_FastUniqueKeyLoader", (_UniqueKeys, yaml.CSafeLoader), {})
                             if hasattr(yaml, "CSafeLoader") else None)


# Texts that libyaml reads where PyYAML's own scanner refuses them or reads them differently (found by fuzzing
# stack files): a tab, a tag (`a: !` is '' to libyaml, None to PyYAML), a comment right after a block scalar
# indicator, `?` inside a flow collection. Those keep the pure-Python loader, so no verdict changes.
_PYTHON_ONLY = re.compile(r"\t|(?:^|[\s,\[{])!|[|>][-+0-9]*#|[\[{][^\]}\n]*\?", re.MULTILINE)


def _load(text: str) -> Any:
    if _FAST_LOADER is not None and not _PYTHON_ONLY.search(text):
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 (a CSafeLoader)
        except yaml.YAMLError:
            pass  # libyaml words and places some errors differently: the error is reported as it always was
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)


def read_yaml(path: Path) -> Any:
    """A Pulumi YAML file as the CLI reads it: UTF-8, each key once per mapping; else one UsageError."""
    try:
        return _load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                         "expected a UTF-8 encoded YAML file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise UsageError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
