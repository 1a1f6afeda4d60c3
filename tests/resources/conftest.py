"""Fixtures for driving the dynamic providers' lifecycle methods directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    """The ``settings`` input of every resource: a fresh local keystore."""
    return {"backend": "local", "home": str(tmp_path / "home"), "region": None, "now": None}


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    """A function's source directory."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return source
