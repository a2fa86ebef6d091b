"""The shipped _core.pyi stub describes exactly what aitl._core exports (no drift)."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import aitl._core as core

STUB = Path(__file__).resolve().parents[2] / "python" / "aitl" / "_core.pyi"


def _stub_names() -> dict[str, set[str]]:
    tree = ast.parse(STUB.read_text())
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    members.update(t.id for t in item.targets if isinstance(t, ast.Name))
            names[node.name] = members
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = set()
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = set()
    return names


def _public(obj) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def test_stub_lists_every_module_level_name():
    stub = _stub_names()
    module = {n for n in _public(core)}
    assert module - set(stub) == set(), "exported by aitl._core but missing from _core.pyi"
    assert set(n for n in stub if not n.startswith("_")) - module == set(), "in _core.pyi but not exported"


def test_stub_lists_every_public_member_of_every_class():
    stub = _stub_names()
    for name in _public(core):
        obj = getattr(core, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        # pybind11 enums expose their values as class attributes; the stub lists them too.
        have = {m for m in _public(obj) if m not in {"name", "value"} or m in stub[name]}
        missing = have - stub[name]
        assert missing == set(), f"{name}: members missing from _core.pyi: {sorted(missing)}"
        extra = {m for m in stub[name] if not m.startswith("_")} - _public(obj)
        assert extra == set(), f"{name}: members in _core.pyi but not bound: {sorted(extra)}"
