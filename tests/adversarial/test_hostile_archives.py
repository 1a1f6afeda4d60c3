"""Hostile archives and source trees: each gives a clear reason, nothing is written outside
its target, and verification's memory stays bounded (it maps the file, never copies it)."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from provider.archive import zip_directory
from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.errors import ValidationError
from provider.verdict import CscPolicy, Decision


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "home")
    backend.put_signing_profile(
        "hostile", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=utcnow()
    )
    return backend


def _sign(backend: LocalBackend, data: bytes, tmp_path: Path) -> dict[str, object]:
    source = tmp_path / "hostile.zip"
    source.write_bytes(data)
    return backend.sign_package(source, str(tmp_path / "out"), "hostile", now=utcnow())


def _failed(job: dict[str, object], reason: str, tmp_path: Path) -> None:
    assert job["status"] == "Failed", job
    assert reason in str(job["statusReason"]), job["statusReason"]
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_a_zip_bomb_is_refused_before_it_is_unpacked(backend: LocalBackend, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(3):
            archive.writestr(f"zeros{index}.bin", b"\0" * (100 * 1024 * 1024))
    assert len(buffer.getvalue()) < 2 * 1024 * 1024
    _failed(_sign(backend, buffer.getvalue(), tmp_path), "250 MB", tmp_path)


def test_an_encrypted_member_is_refused(backend: LocalBackend, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("secret.py", "x = 1\n")
    data = bytearray(buffer.getvalue())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        flags = struct.unpack_from("<H", data, at + flag_offset)[0]
        struct.pack_into("<H", data, at + flag_offset, flags | 0x1)
    _failed(_sign(backend, bytes(data), tmp_path), "encrypted", tmp_path)


def test_zip64_end_records_are_refused(backend: LocalBackend, tmp_path: Path) -> None:
    # A zip64 end-of-central-directory locator (here pointing nowhere, as in a broken
    # archive) right before the end record: zip64 is refused whole.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "x = 1\n")
    data = buffer.getvalue()
    eocd = data.rfind(b"PK\x05\x06")
    locator = b"PK\x06\x07" + b"\xff" * 16  # points nowhere
    hostile = data[:eocd] + locator + data[eocd:]
    _failed(_sign(backend, hostile, tmp_path), "zip64", tmp_path)


def test_a_non_zip_named_zip_is_refused_and_rejected(backend: LocalBackend, tmp_path: Path) -> None:
    noise = os.urandom(4096)
    _failed(_sign(backend, noise, tmp_path), "not a zip", tmp_path)
    (tmp_path / "noise.zip").write_bytes(noise)
    verdict = backend.evaluate_package(tmp_path / "noise.zip", CscPolicy((), "Warn"), at=utcnow())
    assert verdict.decision is Decision.REJECT
    assert verdict.exception == "InvalidParameterValueException"


def test_hostile_names_write_nothing_outside_the_target(
    backend: LocalBackend, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.py", "x = 1\n")
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    _failed(_sign(backend, buffer.getvalue(), tmp_path), "..", tmp_path)
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not (tmp_path.parent / "escape.py").exists()


def test_a_symlink_leaving_the_source_tree_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("x = 1\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not package me")
    (source / "link.txt").symlink_to(secret)
    with pytest.raises(ValidationError, match=r"link\.txt"):
        zip_directory(source)
    (source / "link.txt").unlink()
    (source / "inside.txt").symlink_to(source / "app.py")
    with zipfile.ZipFile(io.BytesIO(zip_directory(source))) as archive:
        assert sorted(archive.namelist()) == ["app.py", "inside.txt"]


def test_verification_memory_is_bounded(backend: LocalBackend, tmp_path: Path) -> None:
    source = tmp_path / "big.zip"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "x = 1\n")
        archive.writestr("deps.bin", os.urandom(40 * 1024 * 1024))
    job = backend.sign_package(source, str(tmp_path / "out"), "hostile", now=utcnow())
    signed = Path(str(job["signedObject"]["path"]))  # type: ignore[index]
    arn = backend.get_signing_profile("hostile")["profileVersionArn"]
    tracemalloc.start()
    try:
        verdict = backend.evaluate_package(signed, CscPolicy((arn,), "Enforce"), at=utcnow())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert verdict.decision is Decision.ALLOW
    assert peak < 4 * 1024 * 1024, f"verification allocated {peak} bytes for a 40 MB package"
