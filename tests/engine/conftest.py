"""Fixtures for engine tests: a fresh stack of a program directory, run by the real Pulumi
CLI and Python language host, with its own PULUMI_HOME, file:// backend, passphrase secrets
provider and keystore.

Everything under tests/engine is marked ``engine``. When the CLI is missing the tests fail
with the install command; they are never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from engine.harness import FOREIGN_ENV, EngineStack, pulumi_bin_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pulumi"
PROGRAMS = Path(__file__).resolve().parent / "programs"

#: ``engine_stack(program, *, config=None, secrets=None, env=None) -> EngineStack``
StackFactory = Callable[..., EngineStack]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/engine is an engine test."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    """The directory of the Pulumi CLI to use; fails (never skips) with how to install it."""
    try:
        return pulumi_bin_dir()
    except RuntimeError as exc:
        missing = str(exc)
    pytest.fail(missing, pytrace=False)


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    """A fresh local keystore for the stack's resources (config ``codesign:home``)."""
    return tmp_path / "keystore"


def resolve_program(program: str | Path) -> Path:
    """A program directory: a path, or the name of one under examples/pulumi or
    tests/engine/programs."""
    if isinstance(program, str) and "/" not in program:
        for base in (EXAMPLES, PROGRAMS):
            if (base / program / "Pulumi.yaml").is_file():
                return base / program
    path = Path(program)
    if not (path / "Pulumi.yaml").is_file():
        raise FileNotFoundError(f"no Pulumi.yaml in program directory {path}")
    return path


@pytest.fixture
def engine_stack(
    tmp_path: Path, pulumi_cli: Path, keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> StackFactory:
    """``engine_stack("basic", config={...})`` -> a new stack of examples/pulumi/basic (or
    of any program directory), with ``codesign:home`` set to a fresh keystore."""
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    made = 0

    def make(
        program: str | Path,
        *,
        config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> EngineStack:
        nonlocal made
        made += 1
        settings = {"codesign:home": str(keystore), **(config or {})}
        return EngineStack(
            tmp_path / f"stack-{made}",
            resolve_program(program),
            config=settings,
            secrets=secrets,
            env=env,
            bin_dir=pulumi_cli,
        )

    return make
