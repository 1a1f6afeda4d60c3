"""Fixtures shared by the provider and sam_ext tests: zip packages and an isolated keystore."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

#: Files of a small Lambda package, used wherever the content does not matter.
HELLO_FILES: dict[str, bytes] = {
    "app.py": b"def handler(event, context):\n    return {'statusCode': 200}\n",
    "lib/util.py": b"VALUE = 42\n" * 20,
}


def zip_bytes(
    files: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED, comment: bytes = b""
) -> bytes:
    """A zip archive in memory holding ``files`` (name -> content), in that order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.comment = comment
    return buffer.getvalue()


MakeZip = Callable[..., Path]


@pytest.fixture
def make_zip(tmp_path: Path) -> MakeZip:
    """``make_zip(files, name="pkg.zip", **zip_options)`` writes a zip into ``tmp_path``."""

    def make(
        files: Mapping[str, bytes] | None = None, name: str = "pkg.zip", **options: object
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(zip_bytes(HELLO_FILES if files is None else files, **options))  # type: ignore[arg-type]
        return path

    return make


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh keystore directory, exported as CODESIGN_HOME, with no passphrase set."""
    path = tmp_path / "keystore"
    monkeypatch.setenv("CODESIGN_HOME", str(path))
    monkeypatch.delenv("CODESIGN_PASSPHRASE", raising=False)
    monkeypatch.delenv("CODESIGN_REGION", raising=False)
    return path


@pytest.fixture
def every_setting() -> Callable[[str], Any]:
    """``every_setting(role)``: a function's FunctionSettings with every input given, none
    of them Lambda's default (the same program's settings on either backend)."""
    from provider.backends.function_settings import FunctionSettings

    def make(role: str) -> FunctionSettings:
        return FunctionSettings(
            role=role,
            runtime="python3.13",
            handler="main.run",
            memory_size=256,
            timeout=30,
            environment={"STAGE": "prod"},
            architectures=["arm64"],
            description="web api",
            tags={"team": "web"},
        )

    return make


#: The examples the README and the tests use.
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: What earlier runs leave in an example: artifacts, caches, packaged templates.
_RUN_OUTPUTS = (".sam-ext", ".aws-sam", "__pycache__", "packaged*")


@pytest.fixture
def copy_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """``copy_example("sam/nested")``: a copy of that example under ``tmp_path`` (named as
    its directory, without what earlier runs left in it), made the working directory."""

    def copy(relative: str) -> Path:
        target = tmp_path / Path(relative).name
        shutil.copytree(EXAMPLES / relative, target, ignore=shutil.ignore_patterns(*_RUN_OUTPUTS))
        monkeypatch.chdir(target)
        return target

    return copy
