"""What the workflows' run scripts read: JSON fields inside `python3 -c '…'` one-liners (from the stack outputs
file or a published variable) and environment variables, extracted generically so a new read is checked too."""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tests.support.workflows import ScriptLine, Workflow, script_lines, steps

ANY_KEY = "*"  # a key chosen at run time (a service name from a loop): every entry must carry the rest of the path
_PYTHON_C = re.compile(r"""python3? -c '(?P<code>[^']*)'(?P<args>(?:[ \t]+(?:"[^"]*"|[^\s;|&)"'<>]+))*)""")
_SHELL_FUNCTION = re.compile(r"(?P<name>[A-Za-z_]\w*)\(\)\s*\{(?P<body>.*?)\}\s*;?", re.S)


@dataclass(frozen=True)
class JsonRead:
    line: ScriptLine
    source: str  # "env:NAME" (JSON in an environment variable or in the file it names) or "literal:<word>"
    path: tuple[str, ...]
    code: str


def _argv_word(node: ast.expr, args: list[str]) -> str | None:
    """The shell word behind `sys.argv[k]`, or None when the node is not one."""
    if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and ast.unparse(node.value) == "sys.argv" and isinstance(node.slice.value, int)):
        index = node.slice.value - 1
        return args[index] if 0 <= index < len(args) else ""
    return None


def _env_name(node: ast.expr) -> str | None:
    text = ast.unparse(node)
    match = re.fullmatch(r"""os\.environ\[['"](\w+)['"]\]|os\.(?:environ\.get|getenv)\(['"](\w+)['"].*\)""", text)
    return (match.group(1) or match.group(2)) if match else None


def _source(word: str) -> str:
    match = re.fullmatch(r"\$\{?([A-Za-z_]\w*)\}?", word)
    return f"env:{match.group(1)}" if match else f"literal:{word}"


class _JsonPaths(ast.NodeVisitor):
    """Follows values loaded with json.load/json.loads through names, subscripts and `.get(key, …)`."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.bound: dict[str, tuple[str, ...]] = {}
        self.reads: set[tuple[str, ...]] = set()

    def _root(self, node: ast.Call) -> str | None:
        function = ast.unparse(node.func)
        if function not in ("json.load", "json.loads") or not node.args:
            return None
        inner = node.args[0]
        if isinstance(inner, ast.Call) and ast.unparse(inner.func) == "open" and inner.args:
            inner = inner.args[0]
        env = _env_name(inner)
        if env is not None:
            return f"env:{env}"
        word = _argv_word(inner, self.args)
        return _source(word) if word is not None else f"literal:{ast.unparse(inner)}"

    def _key(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        word = _argv_word(node, self.args)
        return word if word is not None and not word.startswith("$") else ANY_KEY

    def path(self, node: ast.expr) -> tuple[str, ...] | None:
        if isinstance(node, ast.Call):
            root = self._root(node)
            if root is not None:
                return (root,)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
                base = self.path(node.func.value)
                return self._read(base, node.args[0])
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Subscript):
            return self._read(self.path(node.value), node.slice)
        return None

    def _read(self, base: tuple[str, ...] | None, key: ast.expr) -> tuple[str, ...] | None:
        if base is None:
            return None
        found = (*base, self._key(key))
        self.reads.add(found)
        return found

    def visit_Assign(self, node: ast.Assign) -> None:  # noqa: N802 (ast visitor protocol)
        self.visit(node.value)
        value = self.path(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name) and value is not None:
                self.bound[target.id] = value

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.expr):
            self.path(node)
        super().generic_visit(node)


def _argument_sets(line: ScriptLine, args: list[str]) -> list[list[str]]:
    """Positional `$1`… inside a shell function take each literal argument the script calls it with."""
    if not any(re.fullmatch(r"\$\{?[1-9]\}?", a) for a in args):
        return [args]
    script = "\n".join(s.text for s in script_lines(line.step))
    sets = []
    for function in _SHELL_FUNCTION.finditer(script):
        if line.text.strip() not in function.group(0):
            continue
        for call in re.finditer(rf"(?<![\w-]){function.group('name')}((?:[ \t]+[^\s;|&)]+)+)", script):
            values = shlex.split(call.group(1))
            if call.start() < function.end() or not values:
                continue
            sets.append([re.sub(r"\$\{?([1-9])\}?", lambda m, v=values: v[int(m.group(1)) - 1], a) for a in args])
    return sets


def json_reads(workflows: Mapping[str, Workflow]) -> Iterator[JsonRead]:
    for step in steps(workflows):
        for line in script_lines(step):
            for match in _PYTHON_C.finditer(line.text):
                for args in _argument_sets(line, shlex.split(match.group("args"))):
                    visitor = _JsonPaths(args)
                    visitor.visit(ast.parse(match.group("code")))
                    for path in sorted(visitor.reads):
                        yield JsonRead(line, path[0], path[1:], match.group("code"))


def python_env_reads(line: ScriptLine) -> set[str]:
    """Environment variables a `python3 -c` one-liner reads (they must be exported, not shell locals)."""
    names = set()
    for match in _PYTHON_C.finditer(line.text):
        for node in ast.walk(ast.parse(match.group("code"))):
            if isinstance(node, ast.expr) and (name := _env_name(node)) is not None:
                names.add(name)
    return names


# ---- environment variables a shell script reads ----------------------------------------------------------------

_ASSIGNED = re.compile(
    r"(?:^|[\s;&|(])(?:(?:export|local|readonly)\s+)?([A-Za-z_]\w*)=(?!=)"  # NAME=value
    r"|\bread\s+(?:-\w+\s+)*((?:[A-Za-z_]\w*\s*)+)"  # read -r a b
    r"|\bfor\s+([A-Za-z_]\w*)\s+in\b"  # for NAME in
)
_GITHUB_ENV_WRITE = re.compile(r"""echo\s+["']?([A-Za-z_]\w*)=[^\n]*>>\s*["']?\$\{?GITHUB_ENV\b""")


def _expanded(script: str) -> Iterator[tuple[int, str]]:
    """(offset, char) of the text the shell may expand: single-quoted text is literal, except that inside a
    `$(…)` nested in double quotes quoting starts afresh; escaped characters are skipped."""
    contexts = ["shell"]  # "shell", "double" (inside "…"), "command" (inside $(…))
    i = 0
    while i < len(script):
        char, top = script[i], contexts[-1]
        if char == "\\":
            i += 2
            continue
        if char == "'" and top != "double":
            end = script.find("'", i + 1)
            i = len(script) if end < 0 else end + 1
            continue
        if char == '"':
            contexts.pop() if top == "double" else contexts.append("double")
        elif script.startswith("$(", i):
            contexts.append("command")
        elif char == ")" and top == "command":
            contexts.pop()
        yield i, char
        i += 1


def shell_reads(script: str) -> list[tuple[int, str]]:
    """(offset, NAME) for each `$NAME` / `${NAME…}` the shell expands."""
    return [(i, match.group(1)) for i, char in _expanded(script)
            if char == "$" and (match := re.match(r"\$\{?([A-Za-z_]\w*)", script[i:]))]


def _unquoted(script: str) -> str:
    """The script with single-quoted text (python one-liners, jq filters) blanked, offsets kept."""
    kept = dict(_expanded(script))
    return "".join(kept.get(i, " ") if char != "\n" else char for i, char in enumerate(script))


def shell_assignments(script: str) -> list[tuple[int, str]]:
    """(offset, NAME) for each variable the script itself sets (assignments, `read`, `for`)."""
    found = []
    for match in _ASSIGNED.finditer(_unquoted(script)):
        names = match.group(1) or match.group(3) or ""
        for name in (match.group(2) or names).split():
            found.append((match.start(), name))
    return found


def github_env_writes(script: str) -> set[str]:
    """Variables a step exports to the steps after it through `$GITHUB_ENV`."""
    return set(_GITHUB_ENV_WRITE.findall(script))
