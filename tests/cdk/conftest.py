"""Fixtures for the CDK tests: examples/cdk synthesized for real (tests/cdk_app.py), once per
session and form, against an administrator's keystore holding the signing profile the app
references; each test gets its own copy of both (a keystore as CODESIGN_HOME, the app with
its ``cdk.out`` as the working directory)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cdk_app import EXAMPLE, NOW, NOW_TEXT, PROFILE, CdkApp, Result, synth_example

from provider.backends.local import LocalBackend
from sam_ext.cli import main


@dataclass(frozen=True)
class Admin:
    """The administrator's keystore and the profile version the app lists."""

    keystore: Path
    version_arn: str


@pytest.fixture(scope="session")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Admin:
    """A keystore where the administrator made the signing profile, before any app."""
    keystore = tmp_path_factory.mktemp("admin") / "keystore"
    put = LocalBackend(keystore).put_signing_profile(PROFILE, now=NOW)
    return Admin(keystore, put["profileVersionArn"])


@pytest.fixture(scope="session")
def synthesized(admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> Callable[[bool], Path]:
    """``synthesized(metadata)``: the example's cloud assembly in that form (made once)."""
    made: dict[bool, Path] = {}

    def get(metadata: bool) -> Path:
        if metadata not in made:
            out = tmp_path_factory.mktemp("meta" if metadata else "bare") / "cdk.out"
            made[metadata] = synth_example(
                out, metadata=metadata, context={"signingProfileVersionArn": admin.version_arn}
            )
        return made[metadata]

    return get


@pytest.fixture
def make_app(
    admin: Admin,
    synthesized: Callable[[bool], Path],
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[bool], CdkApp]:
    """``make_app(metadata)``: the app and its assembly copied under ``tmp_path`` (the cwd),
    and the administrator's keystore copied to the test's CODESIGN_HOME."""

    def make(metadata: bool) -> CdkApp:
        if not home.exists():
            shutil.copytree(admin.keystore, home)
        root = tmp_path / "app"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("cdk.out", ".sam-ext"))
        shutil.copytree(synthesized(metadata), root / "cdk.out", symlinks=True)
        monkeypatch.chdir(root)
        return CdkApp(root, admin.version_arn, metadata)

    return make


@pytest.fixture
def sam_ext(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``sam_ext(*args, status=0)``: ``sam-ext --now NOW *args`` in-process, its status checked
    and no traceback or internal error said."""

    def run(*args: object, status: int = 0) -> Result:
        code = main(["--now", NOW_TEXT, *(str(a) for a in args)])
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        assert code == status, f"exit {code}, expected {status}\nstdout: {out}\nstderr: {err}"
        return Result(code, out, err)

    return run
