"""A cached signed object is reused only when it is proven unchanged: by a seal (a keyed
record of the file's identity, made by the run that signed or verified it) or by a full
verification. Changed bytes, restored times, a forged or moved seal, a revocation since:
never reused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provider.backends.local.signer import LocalSigner

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The objects verified in full (SHA-384 + ECDSA), by name, as they happen."""
    seen: list[str] = []
    original = LocalSigner.file_facts

    def counting(self, path, *, name):  # type: ignore[no-untyped-def]
        seen.append(name)
        return original(self, path, name=name)

    monkeypatch.setattr(LocalSigner, "file_facts", counting)
    return seen


def _package(sam_ext, publisher, output: str):
    return sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", output)


def _index(app: Path) -> dict:
    return json.loads((app / ".sam-ext/artifacts/.cache/index.json").read_text())


def _signed_path(app: Path, output: str, logical_id: str = "HelloFunction") -> Path:
    import yaml

    template = yaml.safe_load((app / output).read_text().replace("!", ""))  # paths only
    return Path(template["Resources"][logical_id]["Properties"]["CodeUri"])


def test_the_run_after_signing_reuses_sealed_objects_without_verifying_them(
    sam_ext, app, publisher, full_checks
) -> None:
    _package(sam_ext, publisher, "one.yaml")
    assert full_checks == []  # just signed: nothing to verify
    assert all("seal" in record for record in _index(app)["signed"].values())
    second = _package(sam_ext, publisher, "two.yaml")
    assert full_checks == [], "sealed objects are proven unchanged, not re-verified"
    assert sam_ext.jobs() == 2
    assert "(cached)" in second.row("HelloFunction")[2]


def test_changed_bytes_with_restored_times_are_verified_and_signed_anew(
    sam_ext, app, publisher, tools, full_checks, backend
) -> None:
    _package(sam_ext, publisher, "one.yaml")
    signed = _signed_path(app, "one.yaml")
    before = signed.stat()
    tools.flip_code_byte(signed)
    os.utime(signed, ns=(before.st_atime_ns, before.st_mtime_ns))  # the ctime still moves
    rerun = _package(sam_ext, publisher, "two.yaml")
    assert full_checks == ["HelloFunction"]
    assert sam_ext.jobs() == 3
    assert "(cached)" not in rerun.row("HelloFunction")[2]
    fresh = _signed_path(app, "two.yaml")
    assert tools.verdict(backend, fresh, publisher.version_arn).decision is tools.allow


def test_a_forged_or_moved_seal_is_ignored(sam_ext, app, publisher, full_checks) -> None:
    _package(sam_ext, publisher, "one.yaml")
    index = _index(app)
    keys = sorted(index["signed"])
    first, second = (index["signed"][k] for k in keys)
    valid = dict(first["seal"])
    first["seal"]["mac"] = "0" * 64  # forged without the keystore's key
    second["seal"] = valid  # a valid seal, of another object under another key
    (app / ".sam-ext/artifacts/.cache/index.json").write_text(json.dumps(index))
    _package(sam_ext, publisher, "two.yaml")
    assert sorted(full_checks) == ["HelloFunction", "SharedLayer"]
    assert sam_ext.jobs() == 2  # verified in full, intact: reused (and sealed again)
    full_checks.clear()
    _package(sam_ext, publisher, "three.yaml")
    assert full_checks == []


def test_a_signature_revoked_since_the_seal_is_not_reused(
    sam_ext, app, publisher, backend, tools
) -> None:
    _package(sam_ext, publisher, "one.yaml")
    job_id = _signed_path(app, "one.yaml").stem.removeprefix("signed_")
    backend.revoke_signature(job_id, "compromised", now=tools.now)
    rerun = _package(sam_ext, publisher, "two.yaml")
    assert sam_ext.jobs() == 3
    assert "(cached)" not in rerun.row("HelloFunction")[2]
