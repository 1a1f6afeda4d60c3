"""One error tree: every exception class the project defines derives from CodesignError.

Each module of ``provider`` and ``sam_ext`` is read (its classes, at any depth, including
those defined inside functions) and imported; a class whose base is an exception must have
a base under :class:`~provider.errors.CodesignError`, and a module-level class must be one.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import provider
import sam_ext
from provider.errors import AccessDeniedError, CodesignError


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in (provider, sam_ext):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            spec = importlib.util.find_spec(info.name)
            assert spec is not None and spec.origin is not None
            found.append((info.name, Path(spec.origin)))
    return sorted(found)


MODULES = _modules()
#: Classes whose base is a local variable (what the walk cannot resolve), each known not to
#: be an exception: PyYAML's C or Python loader and dumper, whichever is installed.
LOCAL_BASES = {"sam_ext.template:TemplateLoader", "sam_ext.template:TemplateDumper"}


def _namespace(name: str, tree: ast.Module) -> dict[str, Any]:
    """The module's globals, plus every name it imports anywhere (inside functions too),
    so that a base class written ``ec.ECDSA`` in a function body resolves."""
    namespace: dict[str, Any] = dict(vars(builtins))
    if not name.endswith(".__main__"):  # running a __main__ module starts its program
        namespace.update(vars(importlib.import_module(name)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            statement = ast.Module(body=[node], type_ignores=[])
            exec(compile(statement, name, "exec", dont_inherit=True), namespace)
    return namespace


def _exception_classes(name: str, path: Path) -> list[tuple[str, list[type]]]:
    """``(where, resolved bases)`` of each class in the module whose bases include an
    exception (the root, CodesignError itself, aside)."""
    tree = ast.parse(path.read_text(), str(path))
    namespace = _namespace(name, tree)
    classes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            try:
                bases = [eval(ast.unparse(base), namespace) for base in node.bases]
            except NameError:  # a base held in a local variable: see LOCAL_BASES
                assert f"{name}:{node.name}" in LOCAL_BASES, f"{name}:{node.name}"
                continue
            root = (name, node.name) == ("provider.errors", "CodesignError")
            exceptional = any(isinstance(b, type) and issubclass(b, BaseException) for b in bases)
            if exceptional and not root:
                classes.append((f"{name}:{node.lineno}:{node.name}", bases))
    return classes


def test_the_walk_sees_the_whole_project() -> None:
    names = {name for name, _ in MODULES}
    assert {"provider.errors", "provider.package", "provider.deflate", "sam_ext.cli"} <= names
    assert {"provider.resources._base", "provider.endpoint.cloudformation"} <= names
    assert "provider.backends.aws.facts" in names and "sam_ext.deploy_aws" in names
    assert len(MODULES) > 100


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_every_exception_class_is_a_codesign_error(name: str, path: Path) -> None:
    for where, bases in _exception_classes(name, path):
        assert any(issubclass(b, CodesignError) for b in bases if isinstance(b, type)), (
            f"{where} derives from {[b.__name__ for b in bases]}, outside CodesignError"
        )
    if name.endswith(".__main__"):
        return
    module = importlib.import_module(name)
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, BaseException)
            and value.__module__ == name
        ):
            assert issubclass(value, CodesignError), f"{name}.{value.__qualname__}"


def test_the_former_outsiders_are_codesign_errors_with_their_codes() -> None:
    from provider.backends.aws import errors as aws_errors
    from provider.backends.aws.facts import _Undecidable
    from provider.deflate import InflateError
    from provider.endpoint.cloudformation import StackResourceFailed
    from provider.package import PackageError
    from provider.resources._base import CodesignStepError

    package = PackageError("the zip archive is empty (no members)")
    assert isinstance(package, CodesignError) and package.code == "PackageError"
    assert package.reason == package.message == "the zip archive is empty (no members)"
    assert InflateError("x").code == "InflateError"
    assert _Undecidable("x").code == "Undecidable"
    failed = StackResourceFailed(CodesignError("no"), "CodeVerificationFailedException: no",
                                 "Fn", "AWS::Lambda::Function")  # fmt: skip
    assert failed.field == failed.logical_id == "Fn" and failed.reason == failed.message
    step = CodesignStepError("ValidationException: role: bad", code="ValidationException",
                             field="role")  # fmt: skip
    assert str(step) == step.message == "ValidationException: role: bad"
    assert (step.code, step.field) == ("ValidationException", "role")
    # One AccessDenied: the aws backend's and the endpoint's are the same class.
    assert aws_errors.AccessDeniedError is AccessDeniedError
    assert AccessDeniedError("x").code == "AccessDeniedException"


def test_validation_errors_carry_the_input_they_name() -> None:
    from provider.arns import check_profile_name
    from provider.clock import parse_instant
    from provider.resources.signed_package import renew_window
    from provider.validity import ValidityPeriod

    for call, field in (
        (lambda: check_profile_name("x"), "profileName"),
        (lambda: parse_instant("soon", field="--at"), "--at"),
        (lambda: renew_window("0d"), "renew_before"),
        (lambda: ValidityPeriod(1, "WEEKS"), "signatureValidityPeriod.type"),
    ):
        with pytest.raises(CodesignError) as raised:
            call()
        assert raised.value.field == field
        assert raised.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize("name", ["zlib", "isal"])
def test_a_corrupt_deflate_stream_is_an_inflate_error(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each implementation's own stream error (zlib.error, ISA-L's IsalError) becomes an
    InflateError; nothing else is caught."""
    from provider import deflate

    if name == "isal":
        pytest.importorskip("isal")
        monkeypatch.delenv(deflate.ENV, raising=False)
    else:
        monkeypatch.setenv(deflate.ENV, "zlib")
    deflate.implementation.cache_clear()
    try:
        chosen = deflate.implementation()
        assert chosen.name.startswith(name)
        stream = chosen.compress(b"hello, world " * 100)
        assert chosen.inflate(stream, 1300) == b"hello, world " * 100
        with pytest.raises(deflate.InflateError):
            chosen.inflate(b"\xff" * 64, 1300)  # not a deflate stream
        with pytest.raises(deflate.InflateError, match="declared"):
            chosen.inflate(stream, 1299)
    finally:
        deflate.implementation.cache_clear()
