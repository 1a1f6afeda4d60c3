"""``sam-ext check`` in-process against a fresh local keystore, and templates written
into ``tmp_path``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import HELLO_FILES, zip_bytes
from tests.sam_ext.conftest import Cli

WriteTemplate = Callable[..., Path]


@pytest.fixture
def cli(home: Any, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI against a fresh keystore (CODESIGN_HOME), made (check refuses none)."""
    from provider.backends.local import LocalBackend

    LocalBackend(home)
    return Cli(capsys)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An application directory with source code in ``src/`` and a .zip ``hello.zip``."""
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_bytes(HELLO_FILES["app.py"])
    (root / "hello.zip").write_bytes(zip_bytes(HELLO_FILES))
    return root


@pytest.fixture
def write_template(app: Path) -> WriteTemplate:
    """``write_template(document, name="template.yaml")``: YAML, or JSON for ``.json``."""

    def write(document: dict[str, Any], name: str = "template.yaml") -> Path:
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".json"):
            path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    return write
