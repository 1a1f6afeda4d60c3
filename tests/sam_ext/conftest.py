"""Run ``sam-ext`` in-process and check what a user sees: exit status, stdout, stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provider import schemas
from sam_ext.cli import main

#: Global option that pins the clock for a whole invocation.
NOW = ("--now", "2026-01-15T12:00:00Z")


@dataclass
class Result:
    """One invocation's outcome."""

    status: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """``cli("profile", "put", ...)``; pass ``schema=`` to check stdout against it."""

    #: ``*cli.now`` pins the clock of an invocation to 2026-01-15T12:00:00Z.
    now = NOW

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: object, schema: str | None = None, status: int = 0) -> Result:
        code = main([str(a) for a in args])
        out, err = self.capsys.readouterr()
        result = Result(code, out, err)
        assert "Traceback" not in err, err
        assert "internal error" not in err, err
        assert code == status, f"exit {code}, expected {status}\nstdout: {out}\nstderr: {err}"
        if schema is not None:
            errors = [e.message for e in schemas.validator(schema).iter_errors(result.json)]
            assert errors == [], errors
        return result

    def fails(self, *args: object, status: int = 2, naming: str) -> Result:
        """Run expecting failure with ``status``; the message on stderr names ``naming``."""
        result = self(*args, status=status)
        assert naming in result.err, result.err
        return result

    def profile(self, name: str = "publisher", *extra: object) -> str:
        """Put a profile; returns its version ARN."""
        put = self(*NOW, "profile", "put", "--profile-name", name, *extra)
        return str(put.json["profileVersionArn"])

    def csc(self, *arns: str, policy: str = "Enforce") -> str:
        """Create a CSC; returns its ARN."""
        created = self(
            *NOW,
            "csc",
            "create",
            "--allowed-publishers",
            "SigningProfileVersionArns=" + ",".join(arns),
            "--code-signing-policies",
            f"UntrustedArtifactOnDeployment={policy}",
        )
        return str(created.json["CodeSigningConfig"]["CodeSigningConfigArn"])

    def sign(self, source: object, destination: object, name: str = "publisher") -> str:
        """Sign; returns the signed package's path."""
        job = self(
            *NOW, "sign", "--profile-name", name, "--source", source, "--destination", destination
        )
        return str(job.json["signedObject"]["path"])


@pytest.fixture
def cli(home: Any, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI against a fresh keystore (CODESIGN_HOME)."""
    return Cli(capsys)


#: The installed console script, as a user runs it.
SAM_EXT = Path(sys.executable).parent / "sam-ext"


@pytest.fixture
def run(home: Any) -> Any:
    """Run the real console script in a subprocess with CODESIGN_HOME=home:
    ``run(*args, expect=0)`` returns the completed process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "SAM_EXT_"))}
    env["CODESIGN_HOME"] = str(home)

    def invoke(*args: object, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(SAM_EXT), *map(str, args)], capture_output=True, text=True, env=env, timeout=60
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert "internal error" not in done.stderr, done.stderr
        assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
        return done

    return invoke
