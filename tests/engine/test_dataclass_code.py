"""The methods `dataclasses` writes for a program's dataclasses, compiled once per warm worker server: a class made
through the remembered code is the class `exec` of the same source makes (rampart.engine.dataclass_code)."""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest

from rampart.engine import dataclass_code, warm_kinds


def _make():
    """A program's kind of dataclass: frozen, keyword-only, defaults, a factory, a post-init check."""

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class ServiceArgs:
        name: str
        port: int = 8080
        tags: dict[str, str] = dataclasses.field(default_factory=dict)

        def __post_init__(self) -> None:
            if not self.name:
                raise ValueError("name: expected a non-empty string")

    return ServiceArgs


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setattr(dataclass_code, "_COMPILED", {})
    monkeypatch.setattr(dataclass_code, "_compiled_here", [])
    monkeypatch.setattr(dataclass_code, "REPORT_TO", str(tmp_path / "worker.sock.dataclasses"))
    monkeypatch.setattr(dataclasses, "exec", dataclass_code._exec, raising=False)
    return tmp_path


def _behaviour(cls):
    made = cls(name="api", tags={"a": "b"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.port = 1
    with pytest.raises(ValueError, match="name: expected"):
        cls(name="")
    return (str(inspect.signature(cls.__init__)), repr(made), made == cls(name="api", tags={"a": "b"}),
            hash(cls(name="x", tags=None)) == hash(cls(name="x", tags=None)), cls.__init__.__annotations__,
            [(f.__name__, f.__code__.co_code, f.__code__.co_consts) for f in (cls.__init__, cls.__repr__, cls.__eq__)])


def test_a_class_made_from_remembered_code_is_the_class_exec_makes(monkeypatch, fresh):
    monkeypatch.delattr(dataclasses, "exec")
    plain = _behaviour(_make())
    monkeypatch.setattr(dataclasses, "exec", dataclass_code._exec, raising=False)
    first = _behaviour(_make())  # compiled here
    assert dataclass_code._compiled_here and dataclass_code._COMPILED
    again = _behaviour(_make())  # from the remembered code
    assert plain == first == again


def test_what_a_runner_compiled_its_server_compiles_for_the_next_runner(monkeypatch, fresh):
    _make()
    sources = list(dataclass_code._compiled_here)
    dataclass_code.report()  # the runner, at the end of its stack
    assert dataclass_code._compiled_here == []
    reported = (fresh / "worker.sock.dataclasses").read_text().splitlines()
    assert [json.loads(line) for line in reported] == sources

    monkeypatch.setattr(dataclass_code, "_COMPILED", {})  # the server, which never made the class itself
    with (fresh / "worker.sock.dataclasses").open("a") as report:
        report.write("not json\n" + json.dumps(["not", "a source"]) + "\n" + json.dumps("def broken(:\n") + "\n")
    warm_kinds.before_fork("worker", {})  # the server, before it forks the next check
    assert len(dataclass_code._COMPILED) == len(set(sources))
    assert not (fresh / "worker.sock.dataclasses").exists()

    compiled = []
    monkeypatch.setattr(dataclass_code, "compile", lambda *a, **k: compiled.append(a) or compile(*a, **k),
                        raising=False)
    _make()  # the next runner: every method's code is its server's
    assert compiled == [] and dataclass_code._compiled_here == []


def test_a_worker_server_reports_beside_its_socket(monkeypatch, tmp_path):
    monkeypatch.setattr(dataclass_code, "REPORT_TO", None)
    monkeypatch.setattr(dataclasses, "exec", exec, raising=False)
    warm_kinds.serving("worker", tmp_path / "worker-abc.sock")
    assert str(tmp_path / "worker-abc.sock.dataclasses") == dataclass_code.REPORT_TO
    assert dataclasses.exec is dataclass_code._exec
    monkeypatch.setattr(dataclass_code, "REPORT_TO", None)
    warm_kinds.serving("pack", tmp_path / "pack.sock")
    assert dataclass_code.REPORT_TO is None
