"""The endpoint's wraps on moto go through one typed helper (no mypy ignores per wrap)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from provider.endpoint import patching

ENDPOINT = Path(__file__).resolve().parents[2] / "provider" / "endpoint"


class Model:
    def method(self) -> str:
        return "method"

    @classmethod
    def build(cls, value: str) -> str:
        return f"{cls.__name__}:{value}"


def test_wrap_returns_the_original_and_installs_the_replacement() -> None:
    class Owner(Model):
        pass

    before = patching.wrap(Owner, "method", lambda self: "wrapped " + before(self))
    assert Owner().method() == "wrapped method"


def test_original_of_a_classmethod_is_its_function_taking_the_class() -> None:
    class Owner(Model):
        pass

    build = patching.original(Owner, "build")

    def replacement(cls: Any, value: str) -> str:
        return "new " + build(cls, value)

    patching.install(Owner, "build", classmethod(replacement))
    assert Owner.build("x") == "new Owner:x"
    assert Model.build("x") == "Model:x"


def test_original_refuses_what_is_not_callable() -> None:
    class Owner:
        value = 1

    with pytest.raises(TypeError, match="not callable"):
        patching.original(Owner, "value")


def _assigned_to_classes(source: str) -> list[str]:
    """``Class.attr = ...`` (or ``models.attr = ...``, moto's module) assignments."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if not isinstance(target, ast.Attribute):
                    continue
                owner = ast.unparse(target.value).split(".")
                if owner[0] == "models" or any(part[:1].isupper() for part in owner):
                    found.append(f"{node.lineno}: {ast.unparse(target)}")
    return found


def test_the_class_assignment_finder_finds_them() -> None:
    assert _assigned_to_classes("Model.method = f\nresponses.Response.x = g\nobj.y = 1") == [
        "1: Model.method",
        "2: responses.Response.x",
    ]


def test_no_endpoint_module_assigns_to_a_class_directly() -> None:
    """Every wrap of moto's classes goes through :mod:`provider.endpoint.patching`."""
    found = {
        path.name: _assigned_to_classes(path.read_text())
        for path in sorted(ENDPOINT.glob("*.py"))
        if path.name != "patching.py"
    }
    assert {name: lines for name, lines in found.items() if lines} == {}
