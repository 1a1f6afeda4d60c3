"""Seals: keyed records of a file's identity that prove it unchanged."""

from __future__ import annotations

import os
from pathlib import Path

from provider.backends.local import seals

FACTS = {
    "profileVersionArn": "arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/AbCdE12345",
    "jobId": "job-1",
    "signedAt": "2026-01-01T00:00:00Z",
    "signatureExpiresAt": "2037-01-01T00:00:00Z",
}


def _sealed(tmp_path: Path) -> tuple[bytes, Path, dict]:
    key = seals.mac_key(tmp_path)
    path = tmp_path / "signed.zip"
    path.write_bytes(b"PK" + b"x" * 100)
    assert seals.make_seal(key, path, FACTS, "k") is None, "too fresh to seal"
    seals.wait_until_sealable([path])
    seal = seals.make_seal(key, path, FACTS, "k")
    assert seal is not None
    return key, path, seal


def test_a_seal_holds_while_the_file_is_untouched(tmp_path: Path) -> None:
    key, path, seal = _sealed(tmp_path)
    assert seals.check_seal(key, path, seal, "k") == FACTS
    assert seals.mac_key(tmp_path) == key  # one key per keystore
    assert (tmp_path / "record-mac.key").stat().st_mode & 0o777 == 0o600


def test_any_change_or_misuse_breaks_it(tmp_path: Path) -> None:
    key, path, seal = _sealed(tmp_path)
    assert seals.check_seal(key, path, seal, "another key") is None
    assert seals.check_seal(os.urandom(32), path, seal, "k") is None
    assert seals.check_seal(key, path, {**seal, "jobId": "job-2"}, "k") is None
    assert seals.check_seal(key, path, {**seal, "v": 0}, "k") is None
    assert seals.check_seal(key, path, "not a seal", "k") is None
    times = path.stat()
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))  # same times, new ctime
    assert seals.check_seal(key, path, seal, "k") is None
    path.unlink()
    assert seals.check_seal(key, path, seal, "k") is None
