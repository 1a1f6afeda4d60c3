"""Fixtures for ``sam-ext package`` / ``sam-ext deploy`` on the local backend.

Every test gets a fresh keystore (``CODESIGN_HOME`` under ``tmp_path``, from the
``home`` fixture of ``tests/conftest.py``), a copy of ``examples/sam/app`` as the working
directory, an Active signing profile, and a runner that drives ``sam_ext.cli.main``
in-process with the clock pinned.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from local_keystore import flip_code_byte

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.verdict import CscPolicy, Decision
from sam_ext.cli import main
from sam_ext.template import load_template, parse_template

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_APP = REPO / "examples" / "sam" / "app"
NOW_TEXT = "2026-01-15T12:00:00Z"
NOW = parse_instant(NOW_TEXT, field="now")
#: 2026-01-15T12:00Z + the default validity of 135 months.
EXPIRY_PREFIX = "2037-04-15T12:00:00"
PROFILE = "Publisher"
BIN = Path(sys.executable).parent


@dataclass
class Result:
    """One invocation of ``sam-ext``."""

    status: int
    out: str
    err: str

    def row(self, logical_id: str) -> list[str]:
        """The cells of the summary table's row for ``logical_id`` (split on 2+ spaces)."""
        for line in self.err.splitlines():
            if line.split("  ", 1)[0] == logical_id:
                return [cell.strip() for cell in line.split("  ") if cell.strip()]
        raise AssertionError(f"no summary row for {logical_id} in:\n{self.err}")


@dataclass(frozen=True)
class Publisher:
    """The Active signing profile every test may sign with."""

    name: str
    version_arn: str

    @property
    def overrides(self) -> list[str]:
        """``--parameter-overrides`` for the example app."""
        return ["--parameter-overrides", f"TrustedProfileVersionArn={self.version_arn}"]


class SamExt:
    """``sam_ext(*args, status=0)`` runs ``sam-ext --now NOW *args`` and checks the status."""

    def __init__(self, capsys: pytest.CaptureFixture[str], home: Path) -> None:
        self.capsys = capsys
        self.home = home

    def __call__(self, *args: object, status: int = 0) -> Result:
        code = main(["--now", NOW_TEXT, *(str(a) for a in args)])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        assert "internal error" not in err, err
        assert code == status, f"exit {code}, expected {status}\nstdout: {out}\nstderr: {err}"
        return Result(code, out, err)

    def jobs(self) -> int:
        """Signing jobs recorded in the keystore."""
        db = sqlite3.connect(self.home / "index.sqlite3")
        try:
            return int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
        finally:
            db.close()

    def deployments(self) -> int:
        """Deployments recorded by the local function registry."""
        db = sqlite3.connect(self.home / "index.sqlite3")
        try:
            return int(db.execute("SELECT COUNT(*) FROM deployments").fetchone()[0])
        finally:
            db.close()


@pytest.fixture(autouse=True)
def _isolated(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: a fresh keystore (CODESIGN_HOME) and a cwd under ``tmp_path``, so no
    test reads a samconfig.toml or template it did not write, or another keystore."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sam_ext(home: Path, capsys: pytest.CaptureFixture[str]) -> SamExt:
    """The CLI, in-process, against the fresh keystore ``home``."""
    return SamExt(capsys, home)


@pytest.fixture
def app(copy_example: Any) -> Path:
    """A copy of examples/sam/app (without artifacts of earlier runs), as the cwd."""
    return Path(copy_example("sam/app"))


@pytest.fixture
def backend(home: Path) -> LocalBackend:
    """The local backend on the test's keystore."""
    return LocalBackend(home)


@pytest.fixture
def publisher(backend: LocalBackend) -> Publisher:
    """An Active signing profile created at NOW (default validity, 135 months)."""
    put = backend.put_signing_profile(PROFILE, now=NOW)
    return Publisher(PROFILE, put["profileVersionArn"])


# --- helpers offered as fixtures (test modules cannot import conftest) -------------------
class Tools:
    """Small helpers shared by the tests."""

    now = NOW
    now_text = NOW_TEXT
    expiry_prefix = EXPIRY_PREFIX
    bin = BIN
    example_app = EXAMPLE_APP

    @staticmethod
    def load(path: Path) -> dict[str, Any]:
        """A template, parsed as sam-ext parses it (short-form intrinsics in long form)."""
        return load_template(path)

    @staticmethod
    def parse(text: str) -> dict[str, Any]:
        """A template from text (e.g. ``sam-ext package``'s stdout)."""
        return parse_template(text, origin="stdout")

    @staticmethod
    def members(package: Path) -> dict[str, bytes]:
        """The files of a zip package, without the signature member(s)."""
        with zipfile.ZipFile(package) as archive:
            assert archive.testzip() is None
            return {
                name: archive.read(name)
                for name in archive.namelist()
                if not name.startswith(".codesign/")
            }

    @staticmethod
    def tree(root: Path) -> dict[str, bytes]:
        """The files under a directory, by posix relative path."""
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    @staticmethod
    def sha384(path: Path) -> str:
        """SHA-384 of a file."""
        return hashlib.sha384(path.read_bytes()).hexdigest()

    @staticmethod
    def verdict(backend: LocalBackend, package: Path, arn: str, policy: str = "Enforce") -> Any:
        """The verdict ``package`` gets under a CSC allowing only ``arn``."""
        return backend.evaluate_package(package, CscPolicy((arn,), policy), at=NOW)

    allow = Decision.ALLOW
    warn = Decision.WARN
    reject = Decision.REJECT

    flip_code_byte = staticmethod(flip_code_byte)

    @staticmethod
    def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
        """Run the real cfn-lint on a template file."""
        return subprocess.run(
            [str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=120
        )


@pytest.fixture
def tools() -> type[Tools]:
    """Helpers: template loading, zip members, verdicts, tampering, cfn-lint."""
    return Tools
