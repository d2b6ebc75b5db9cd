"""The shipped workflows as data for contract tests: parsed YAML with file line numbers, run scripts split into
command lines, and the `rampart` command lines parsed with the real CLI parser.

Everything takes the workflow text, so a test can change one side in memory and watch the contract break.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = ROOT / ".github" / "workflows"

# One token stands for every runtime value; the parser-guided pass below gives it the kind the flag expects.
PLACEHOLDER = "__RAMPART_VALUE__"
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_SHELL_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9?#@*$!-]")
_COMMAND_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}


@dataclass(frozen=True)
class Workflow:
    name: str
    text: str
    data: dict[str, Any]
    lines: Mapping[tuple[Any, ...], int]  # path of a scalar in the document -> 1-based line of its first content

    @property
    def triggers(self) -> dict[str, Any]:
        on = self.data.get("on") or {}
        return {name: None for name in on} if isinstance(on, list | str) else on

    def jobs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from (self.data.get("jobs") or {}).items()


@dataclass(frozen=True)
class Step:
    workflow: Workflow
    job_name: str
    job: dict[str, Any]
    index: int
    data: dict[str, Any]

    @property
    def label(self) -> str:
        return self.data.get("name") or self.data.get("id") or str(self.data.get("uses") or f"step {self.index + 1}")

    def where(self, line: int | None = None) -> str:
        at = f", line {line}" if line is not None else ""
        return f"{self.workflow.name}: job {self.job_name!r}, step {self.label!r}{at}"

    def line_of(self, key: str) -> int | None:
        return self.workflow.lines.get(("jobs", self.job_name, "steps", self.index, key))


@dataclass(frozen=True)
class ScriptLine:
    step: Step
    line: int  # 1-based line in the workflow file where the (continued) command starts
    text: str  # backslash continuations joined

    @property
    def where(self) -> str:
        return self.step.where(self.line)


@dataclass
class Problems:
    """Contract violations, collected so a test reports all of them at once."""

    items: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        return "\n".join(self.items)


def _scalar_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _scalar_lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _scalar_lines(item, (*path, index), out)
    else:
        # A block scalar (`|`, `>`) starts on the line after its indicator.
        out[path] = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)


def parse(name: str, text: str) -> Workflow:
    data = yaml.safe_load(text)
    if True in data:  # YAML 1.1 reads the `on` key as the boolean True
        data["on"] = data.pop(True)
    lines: dict[tuple[Any, ...], int] = {}
    _scalar_lines(yaml.compose(text), (), lines)
    return Workflow(name=name, text=text, data=data, lines=lines)


def load_all(overrides: Mapping[str, str] | None = None) -> dict[str, Workflow]:
    """Every workflow file, with `overrides` (file name -> text) replacing or adding files in memory."""
    texts = {path.name: path.read_text() for path in sorted(WORKFLOW_DIR.glob("*.y*ml"))}
    texts.update(overrides or {})
    return {name: parse(name, text) for name, text in sorted(texts.items())}


def mutated(name: str, old: str, new: str) -> dict[str, Workflow]:
    """All workflows with one edit to one file; the edit must apply, or the mutation test proves nothing."""
    text = (WORKFLOW_DIR / name).read_text()
    assert old in text, f"{name} no longer contains {old!r}: update the mutation test"
    return load_all({name: text.replace(old, new)})


def steps(workflows: Mapping[str, Workflow]) -> Iterator[Step]:
    for workflow in workflows.values():
        for job_name, job in workflow.jobs():
            for index, data in enumerate(job.get("steps") or []):
                yield Step(workflow, job_name, job, index, data)


def script_lines(step: Step) -> list[ScriptLine]:
    """The step's `run:` script as logical command lines, continuations joined, whole-line comments dropped."""
    script = step.data.get("run")
    first = step.line_of("run")
    if not isinstance(script, str) or first is None:
        return []
    result: list[ScriptLine] = []
    pending: list[str] = []
    start = first
    for offset, raw in enumerate(script.splitlines()):
        if not pending:
            start = first + offset
            if raw.lstrip().startswith("#"):
                continue
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        result.append(ScriptLine(step, start, " ".join(part.strip() for part in pending)))
        pending = []
    if pending:
        result.append(ScriptLine(step, start, " ".join(part.strip() for part in pending)))
    return result


def _replace_command_substitutions(text: str) -> str:
    """`$(…)` (nested quotes and parentheses included) becomes the placeholder."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if not text.startswith("$(", i):
            out.append(text[i])
            i += 1
            continue
        depth, j, quote = 0, i + 1, ""
        while j < len(text):
            char = text[j]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        out.append(PLACEHOLDER)
        i = j + 1
    return "".join(out)


def with_placeholders(text: str) -> str:
    text = _EXPRESSION.sub(PLACEHOLDER, text)
    text = _replace_command_substitutions(text)
    return _SHELL_VARIABLE.sub(PLACEHOLDER, text)


def simple_commands(text: str) -> list[list[str]]:
    """Words of each simple command on a shell line (pipelines and lists split, redirections dropped)."""
    lexer = shlex.shlex(with_placeholders(text), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    commands: list[list[str]] = [[]]
    redirect = False
    for token in lexer:
        if token and set(token) <= set("();<>|&"):
            redirect = ">" in token or "<" in token
            if redirect and commands[-1] and commands[-1][-1].isdigit():
                commands[-1].pop()  # `2>` is one redirection
            if not redirect:
                commands.append([])
            continue
        if redirect:  # the redirection's target, not an argument
            redirect = False
            continue
        if not commands[-1] and (token in _COMMAND_KEYWORDS or re.fullmatch(r"[A-Za-z_]\w*=.*", token)):
            continue  # shell keywords and `NAME=value` prefixes stand before the command word
        commands[-1].append(token)
    return [words for words in commands if words]


@dataclass(frozen=True)
class Invocation:
    line: ScriptLine
    program: str  # as written: `rampart`, `.venv/bin/rampart`
    argv: list[str]  # arguments after the program name, placeholders still in


def rampart_invocations(workflows: Mapping[str, Workflow]) -> Iterator[Invocation]:
    for step in steps(workflows):
        for line in script_lines(step):
            for words in simple_commands(line.text):
                if words[0] == "rampart" or words[0].endswith("/rampart"):  # e.g. .venv/bin/rampart
                    yield Invocation(line, words[0], words[1:])


def _placeholder_for(action: argparse.Action | None) -> str:
    if action is not None and action.choices:
        return str(next(iter(action.choices)))
    if action is not None and action.type in (int, float):
        return "1"
    return "placeholder"


def parse_error(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """None when `rampart <argv>` parses; else argparse's own message. Each bare placeholder takes a value
    of the kind its flag expects (a number for an int flag, a valid choice), so only real mismatches fail."""
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = subcommands.choices.get(argv[0]) if argv else None
    options = sub._option_string_actions if sub is not None else {}
    concrete = []
    for index, word in enumerate(argv):
        if word == PLACEHOLDER:
            flag = argv[index - 1] if index else ""
            word = _placeholder_for(options.get(flag))
        concrete.append(word)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(concrete)
    except SystemExit as exc:
        return stderr.getvalue().strip().splitlines()[-1] if exc.code else None
    return None
