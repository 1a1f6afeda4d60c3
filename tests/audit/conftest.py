"""An account with one function of each kind the audit must tell apart, on the local
backend: built through the backend's own operations at T0, audited later."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from provider.validity import ValidityPeriod
from sam_ext.cli import main

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
#: The audit instant: two days after the deploys.
AUDIT_AT = T0 + timedelta(days=2)
AUDIT_AT_TEXT = "2026-01-17T12:00:00Z"

#: Each function of the account and the standing the audit must give it at AUDIT_AT
#: (and at AUDIT_AT + 30d).
EXPECTED = {
    "fine": ("ALLOW", "ALLOW"),
    "expiring": ("ALLOW", "REJECT"),
    "expired": ("REJECT", "REJECT"),
    "revokedprofile": ("REJECT", "REJECT"),
    "revokedsig": ("REJECT", "REJECT"),
    "unsignedwarn": ("WARN", "WARN"),
    "tamperedlayer": ("REJECT", "REJECT"),
    "noconfig": ("NO_CONFIG", "NO_CONFIG"),
    "outofband": ("WARN", "WARN"),
}


def package(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", f"def handler(e, c):\n    return {text!r}\n")
    return path


@dataclass
class Account:
    home: Path
    backend: LocalBackend
    work: Path
    arns: dict[str, str] = field(default_factory=dict)

    def sign(self, name: str, profile: str, *, now: datetime = T0) -> tuple[Path, str]:
        job = self.backend.sign_package(
            package(self.work / f"{name}.zip", name), str(self.work / "signed"), profile, now=now
        )
        assert job["status"] == "Succeeded", job
        return Path(job["signedObject"]["path"]), str(job["jobId"])


def build_account(home: Path, work: Path) -> Account:
    backend = LocalBackend(home)
    account = Account(home, backend, work)
    profiles = {
        "good": None,
        "shortlived": ValidityPeriod(20, "DAYS"),
        "brief": ValidityPeriod(1, "DAYS"),
        "revokedpv": None,
        "retired": None,
    }
    for name, validity in profiles.items():
        put = backend.put_signing_profile(name, validity=validity, now=T0 - timedelta(hours=1))
        account.arns[name] = str(put["profileVersionArn"])
    enforce = backend.create_code_signing_config(
        [account.arns[n] for n in ("good", "shortlived", "brief", "revokedpv")],
        policy="Enforce",
        description="enforce",
        now=T0,
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    warn = backend.create_code_signing_config(
        [account.arns["good"]], policy="Warn", description="warn", now=T0
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    unused = backend.create_code_signing_config(
        [account.arns["retired"]], policy="Enforce", description="unused", now=T0
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    account.arns.update(enforce=enforce, warn=warn, unused=unused)

    def deploy(name: str, code: Path, csc: str | None, layers: tuple[str, ...] = ()) -> None:
        backend.create_function(name, code, csc_arn=csc, layers=layers, now=T0)

    deploy("fine", account.sign("fine", "good")[0], enforce)
    deploy("expiring", account.sign("expiring", "shortlived")[0], enforce)
    deploy("expired", account.sign("expired", "brief")[0], enforce)
    deploy("revokedprofile", account.sign("revokedprofile", "revokedpv")[0], enforce)
    signed, job = account.sign("revokedsig", "good")
    deploy("revokedsig", signed, enforce)
    backend.revoke_signature(job, "key leaked", now=T0 + timedelta(hours=1))
    backend.revoke_signing_profile(
        "revokedpv",
        account.arns["revokedpv"].rsplit("/", 1)[1],
        "compromised",
        T0 - timedelta(minutes=1),
        now=T0 + timedelta(hours=1),
    )
    backend.cancel_signing_profile("retired", now=T0 + timedelta(hours=1))
    deploy("unsignedwarn", package(work / "unsigned.zip", "unsigned"), warn)
    # A signed layer changed after signing, published (layers are not checked on publish),
    # used by a function without a config, which is then given one.
    layer_zip, _ = account.sign("layer", "good")
    tampered = work / "tampered-layer.zip"
    shutil.copy(layer_zip, tampered)
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("extra.py", "EVIL = 1\n")
    layer = backend.publish_layer_version("tampered", tampered, now=T0)["LayerVersionArn"]
    account.arns["layer"] = layer
    deploy("tamperedlayer", account.sign("tamperedlayer", "good")[0], None, (layer,))
    backend.put_function_code_signing_config("tamperedlayer", enforce)
    deploy("noconfig", package(work / "plain.zip", "plain"), None)
    deploy("outofband", account.sign("outofband", "good")[0], warn)
    # A second client replaces the code out of band with an unsigned build (Warn lets it).
    LocalBackend(home).update_function_code(
        "outofband", package(work / "hotfix.zip", "hotfix"), now=T0 + timedelta(hours=2)
    )
    return account


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    home = tmp_path / "keystore"
    monkeypatch.setenv("CODESIGN_HOME", str(home))
    monkeypatch.delenv("CODESIGN_PASSPHRASE", raising=False)
    monkeypatch.delenv("CODESIGN_REGION", raising=False)
    yield build_account(home, tmp_path / "work")


def run_audit(
    capsys: pytest.CaptureFixture[str], home: Path, *args: str, now: str = AUDIT_AT_TEXT
) -> tuple[int, str, str]:
    """``sam-ext --home HOME --now NOW audit ARGS`` in-process: status, stdout, stderr;
    never a traceback."""
    capsys.readouterr()
    status = main(["--home", str(home), "--now", now, "audit", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return status, out, err


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["function_name"]: f for f in document["functions"]}


def parsed(out: str) -> dict[str, Any]:
    return json.loads(out)  # type: ignore[no-any-return]
