"""A keystore with a publisher, an Enforce and a Warn code signing config and a signed
package (made with ``sam-ext`` itself), and the real ``cfn-lint`` run on templates with the
rule pack appended, as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sam_ext.cfn_lint import rules_path
from sam_ext.cli import main

REPO = Path(__file__).resolve().parents[2]
#: The venv's cfn-lint (cfn-lint 1.x), the console script users run.
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
#: The instant every run acts at (``SAM_EXT_NOW`` for cfn-lint, ``--now`` for the CLI).
NOW = "2026-01-15T12:00:00Z"


@dataclass
class Keystore:
    """What the templates refer to, on the local backend in ``home``."""

    home: Path
    work: Path
    publisher: str
    enforce: str
    warn: str
    signed: Path

    def code_dir(self, name: str) -> Path:
        """An unsigned function directory ``work/src/NAME``."""
        directory = self.work / "src" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "app.py").write_text(f"def handler(event, context):\n    return {name!r}\n")
        return directory


def _json(capsys: pytest.CaptureFixture[str], *args: object) -> Any:
    capsys.readouterr()
    assert main(["--now", NOW, *map(str, args)]) == 0, args
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def keystore(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Keystore:
    """A publisher profile, an Enforce and a Warn config allowing it, and a signed zip."""
    work = tmp_path / "app"
    work.mkdir()
    publisher = _json(capsys, "profile", "put", "--profile-name", "publisher")["profileVersionArn"]

    def csc(policy: str) -> str:
        created = _json(
            capsys,
            "csc",
            "create",
            "--allowed-publishers",
            f"SigningProfileVersionArns={publisher}",
            "--code-signing-policies",
            f"UntrustedArtifactOnDeployment={policy}",
        )
        return str(created["CodeSigningConfig"]["CodeSigningConfigArn"])

    source = work / "orders.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'orders'\n")
    job = _json(
        capsys,
        "sign",
        "--profile-name",
        "publisher",
        "--source",
        source,
        "--destination",
        work / "signed",
    )
    return Keystore(
        home, work, publisher, csc("Enforce"), csc("Warn"), Path(job["signedObject"]["path"])
    )


@dataclass
class Lint:
    """One cfn-lint run: its exit status and what it printed."""

    status: int
    out: str
    err: str

    def matches(self) -> list[tuple[str, int, str]]:
        """``(rule id, line, message)`` of the pack's matches (``--format parseable``:
        ``file:line:col:endline:endcol:RULE:message``)."""
        found = []
        for line in self.out.splitlines():
            parts = line.split(":", 6)
            if len(parts) == 7 and parts[5][1:2] == "9":
                found.append((parts[5], int(parts[1]), parts[6]))
        return found


def lint_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment cfn-lint runs in: this repository's code first, the keystore, the
    clock, nothing else of sam-ext's or AWS's."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "SAM_EXT_", "AWS_"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        CODESIGN_HOME=str(home),
        SAM_EXT_NOW=NOW,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


def cfn_lint(
    template: Path,
    *options: str,
    home: Path,
    rules: Path | None = None,
    env: dict[str, str] | None = None,
) -> Lint:
    """``cfn-lint --append-rules RULES [OPTIONS] TEMPLATE`` (default format: parseable)."""
    if not any(o.startswith("--format") for o in options):
        options = ("--format", "parseable", *options)
    done = subprocess.run(
        [
            str(CFN_LINT),
            "--append-rules",
            str(rules or rules_path()),
            *options,
            "--",
            str(template),
        ],
        capture_output=True,
        text=True,
        env=env if env is not None else lint_env(home),
        cwd=template.parent,
        timeout=120,
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr + done.stdout
    return Lint(done.returncode, done.stdout, done.stderr)


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the only line of ``text`` that contains ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]
