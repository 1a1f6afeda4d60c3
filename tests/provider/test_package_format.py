"""The signed package: still a plain zip, refused inputs, and tamper evidence."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from provider.backends.jobs import JobFilter, Pagination
from provider.errors import ValidationError
from provider.package import MARKER, SIGNATURE_MEMBER
from provider.verdict import INTEGRITY_EXCEPTION, MALFORMED_EXCEPTION, Decision

FILES = {
    "app.py": b"def handler(event, context):\n    return 'hello'\n" * 8,
    "pkg/__init__.py": b"",
    "pkg/data.bin": bytes(range(256)) * 4,
    "pkg/deep/nested/config.json": b'{"k": "v"}',
}


def _list_and_test(path: Path) -> tuple[str, str, str]:
    """Output of `unzip -l` and `unzip -t` (Python's zipfile CLI when unzip is absent),
    and the phrase the test run prints on success. Both runs must exit 0."""
    if shutil.which("unzip"):
        commands, ok = (["unzip", "-l"], ["unzip", "-t"]), "No errors detected"
    else:
        zipcli = [sys.executable, "-m", "zipfile"]
        commands, ok = ([*zipcli, "-l"], [*zipcli, "-t"]), "Done testing"
    listing, tested = (
        subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=True).stdout
        for cmd in commands
    )
    return listing, tested, ok


# --- still a zip -------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_signed_package_reads_back_every_member_unchanged(ks, make_zip, compression):
    signed = ks.signed(make_zip(FILES, compression=compression))

    with zipfile.ZipFile(signed) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [*FILES, SIGNATURE_MEMBER]
        for name, content in FILES.items():
            assert archive.read(name) == content
        envelope = json.loads(archive.read(SIGNATURE_MEMBER))
        assert archive.comment == MARKER
    assert envelope["jobId"] == signed.stem


def test_unzip_lists_and_tests_the_signed_package(ks, make_zip):
    signed = ks.signed(make_zip(FILES))

    listing, tested, ok = _list_and_test(signed)

    for name in [*FILES, SIGNATURE_MEMBER]:
        assert name in listing
    assert ok in tested


def test_unzip_extracts_the_original_files(ks, make_zip, tmp_path):
    signed = ks.signed(make_zip(FILES))
    target = tmp_path / "extracted"

    if shutil.which("unzip"):
        subprocess.run(["unzip", "-q", str(signed), "-d", str(target)], check=True)
    else:
        zipfile.ZipFile(signed).extractall(target)

    for name, content in FILES.items():
        assert (target / name).read_bytes() == content


def test_signing_leaves_the_source_untouched(ks, make_zip):
    source = make_zip(FILES)
    before = source.read_bytes()

    ks.signed(source)

    assert source.read_bytes() == before


def test_envelope_digest_is_the_sha384_of_the_source_zip(ks, make_zip):
    # A source without a zip comment is exactly the signed bytes: anyone can check the
    # digest with sha384sum.
    source = make_zip(FILES)
    signed = ks.signed(source)

    with zipfile.ZipFile(signed) as archive:
        envelope = json.loads(archive.read(SIGNATURE_MEMBER))

    assert envelope["digest"] == hashlib.sha384(source.read_bytes()).hexdigest()


def test_a_zip_with_a_comment_can_be_signed_and_verifies(ks, make_zip):
    signed = ks.signed(make_zip(FILES, comment=b"built by ci"))

    assert ks.evaluate(signed, "Enforce").decision is Decision.ALLOW


def test_a_single_empty_member_is_a_signable_package(ks, make_zip):
    signed = ks.signed(make_zip({"empty.txt": b""}))

    assert zipfile.ZipFile(signed).read("empty.txt") == b""
    assert ks.evaluate(signed, "Enforce").decision is Decision.ALLOW


def test_a_streamed_zip_with_data_descriptors_can_be_signed(ks, tmp_path):
    # Zips written to a pipe carry data descriptors (flag bit 3) after each member.
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk) -> int:  # type: ignore[override]
            self.data += chunk
            return len(chunk)

    pipe = Pipe()
    with (
        zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("app.py", "w") as member,
    ):
        member.write(FILES["app.py"])
    source = tmp_path / "streamed.zip"
    source.write_bytes(bytes(pipe.data))
    assert zipfile.ZipFile(source).getinfo("app.py").flag_bits & 0x08

    signed = ks.signed(source)

    assert zipfile.ZipFile(signed).read("app.py") == FILES["app.py"]
    assert ks.evaluate(signed, "Enforce").decision is Decision.ALLOW


# --- refused sources ---------------------------------------------------------------------


def _failed(job: dict, *fragments: str) -> None:
    assert job["status"] == "Failed"
    assert "signedObject" not in job
    reason = job["statusReason"].lower()
    for fragment in fragments:
        assert fragment in reason, reason


def test_signing_an_empty_zip_fails_with_a_reason(ks, make_zip):
    job = ks.sign(make_zip({}))

    _failed(job, "empty")


def test_signing_a_malformed_file_fails_with_a_reason(ks, tmp_path):
    source = tmp_path / "notes.zip"
    source.write_text("this is not a zip archive, just text long enough for a header\n")

    _failed(ks.sign(source), "not a zip")


def test_signing_a_zero_byte_file_fails_with_a_reason(ks, tmp_path):
    source = tmp_path / "zero.zip"
    source.write_bytes(b"")

    _failed(ks.sign(source), "not a zip")


def test_signing_a_missing_file_is_bad_input_and_records_no_job(ks, tmp_path):
    # A missing input is bad input, as on the aws backend (issue 20): no failed job.
    for source in (tmp_path / "absent.zip", tmp_path):
        with pytest.raises(ValidationError, match=f"source: '{source}' does not exist"):
            ks.sign(source)
    assert ks.backend.list_signing_jobs(JobFilter(), Pagination())["jobs"] == []


def test_signing_a_zip_with_a_corrupt_member_fails(ks, make_zip):
    source = make_zip({"app.py": b"A" * 200}, compression=zipfile.ZIP_STORED)
    data = bytearray(source.read_bytes())
    data[data.index(b"AAAA")] = ord("B")  # the stored content no longer matches its CRC
    source.write_bytes(bytes(data))

    _failed(ks.sign(source), "corrupt")


def test_signing_an_already_signed_package_fails(ks, make_zip):
    signed = ks.signed(make_zip(FILES))

    _failed(ks.sign(signed), "already signed")


def test_a_zip_holding_a_signature_member_counts_as_signed(ks, make_zip):
    source = make_zip({"app.py": b"x", SIGNATURE_MEMBER: b"{}"})

    _failed(ks.sign(source), "already signed")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../escape.py", "'..'"),
        ("/etc/absolute.py", "absolute path"),
        (".codesign/extra.json", "reserved"),
    ],
)
def test_signing_refuses_unsafe_member_names(ks, make_zip, name, reason):
    _failed(ks.sign(make_zip({"app.py": b"x", name: b"y"})), reason)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_signing_refuses_duplicate_members(ks, tmp_path):
    source = tmp_path / "dup.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("app.py", b"first")
        archive.writestr("app.py", b"second")

    _failed(ks.sign(source), "appears twice")


def test_a_failed_job_writes_no_file(ks, make_zip):
    ks.sign(make_zip({}))

    destination = ks.workdir / "signed"
    assert not destination.exists() or not any(destination.iterdir())


# --- tamper evidence ---------------------------------------------------------------------


def _assert_integrity_rejection(verdict) -> None:
    assert verdict.decision is Decision.REJECT
    assert verdict.exception in (INTEGRITY_EXCEPTION, MALFORMED_EXCEPTION)
    assert verdict.checks["integrity"] == "FAILED"


def _member_data_offset(data: bytes, name: str) -> int:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    return info.header_offset + 30 + name_len + extra_len


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_changing_a_byte_of_a_member_is_an_integrity_failure(ks, make_zip, policy):
    signed = ks.signed(make_zip(FILES, compression=zipfile.ZIP_STORED))
    data = bytearray(signed.read_bytes())
    data[_member_data_offset(bytes(data), "app.py")] ^= 0x20
    signed.write_bytes(bytes(data))

    verdict = ks.evaluate(signed, policy)

    _assert_integrity_rejection(verdict)
    assert verdict.exception == INTEGRITY_EXCEPTION


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_changing_the_envelope_is_an_integrity_failure(ks, make_zip, policy):
    signed = ks.signed(make_zip(FILES))
    data = signed.read_bytes()
    # Push the expiry out by a year: same length, so only the signature can tell.
    envelope = zipfile.ZipFile(signed).read(SIGNATURE_MEMBER)
    expires = json.loads(envelope)["signatureExpiresAt"]
    later = str(int(expires[:4]) + 1) + expires[4:]
    signed.write_bytes(data.replace(expires.encode(), later.encode()))

    verdict = ks.evaluate(signed, policy)

    _assert_integrity_rejection(verdict)
    assert verdict.exception == INTEGRITY_EXCEPTION


def test_a_truncated_package_is_rejected_as_not_a_zip(ks, make_zip):
    signed = ks.signed(make_zip(FILES))
    signed.write_bytes(signed.read_bytes()[:-10])

    verdict = ks.evaluate(signed, "Warn")

    _assert_integrity_rejection(verdict)


def test_appending_bytes_is_an_integrity_failure(ks, make_zip):
    signed = ks.signed(make_zip(FILES))
    signed.write_bytes(signed.read_bytes() + b"\n")

    _assert_integrity_rejection(ks.evaluate(signed, "Warn"))


def test_replacing_the_marker_comment_is_an_integrity_failure(ks, make_zip):
    # The marker is one of two signs of a signature: a package whose comment was changed
    # must not pass as merely unsigned (which Warn would deploy).
    signed = ks.signed(make_zip(FILES))
    data = signed.read_bytes()
    signed.write_bytes(data.replace(MARKER, b"X" * len(MARKER)))

    _assert_integrity_rejection(ks.evaluate(signed, "Warn"))


def test_renaming_the_signature_member_is_an_integrity_failure(ks, make_zip):
    signed = ks.signed(make_zip(FILES))
    data = signed.read_bytes()
    renamed = SIGNATURE_MEMBER.replace("signature", "signaturX").encode()
    signed.write_bytes(data.replace(SIGNATURE_MEMBER.encode(), renamed))

    _assert_integrity_rejection(ks.evaluate(signed, "Warn"))


def _rezip(signed: Path, target: Path, *, compression: int, comment: bytes) -> Path:
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(target, "w", compression) as out:
        for name in source.namelist():
            out.writestr(name, source.read(name))
        out.comment = comment
    return target


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("comment", [b"", MARKER])
@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_rezipping_the_members_is_an_integrity_failure(
    ks, make_zip, tmp_path, compression, comment, policy
):
    signed = ks.signed(make_zip(FILES))
    rezipped = _rezip(signed, tmp_path / "rezipped.zip", compression=compression, comment=comment)
    with zipfile.ZipFile(rezipped) as archive:  # the content itself is all there
        assert archive.namelist() == [*FILES, SIGNATURE_MEMBER]

    verdict = ks.evaluate(rezipped, policy)

    _assert_integrity_rejection(verdict)
    assert verdict.exception == INTEGRITY_EXCEPTION


def test_reordering_the_members_is_an_integrity_failure(ks, make_zip, tmp_path):
    signed = ks.signed(make_zip(FILES))
    target = tmp_path / "reordered.zip"
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(target, "w") as out:
        infos = source.infolist()
        for info in [infos[-1], *infos[:-1]]:
            out.writestr(info, source.read(info))
        out.comment = MARKER

    _assert_integrity_rejection(ks.evaluate(target, "Warn"))


def test_a_byte_identical_copy_made_with_zipfile_still_verifies(ks, make_zip, tmp_path):
    # Copying every ZipInfo verbatim reproduces the same bytes: nothing changed, so the
    # signature still holds (the converse of the tests above).
    signed = ks.signed(make_zip(FILES))
    target = tmp_path / "copy.zip"
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        out.comment = MARKER
    assert target.read_bytes() == signed.read_bytes()

    assert ks.evaluate(target, "Enforce").decision is Decision.ALLOW


def test_removing_the_signature_makes_an_unsigned_package(ks, make_zip, tmp_path):
    # Stripping the signature is not tampering that can pass: the result is unsigned, a
    # mismatch, which Enforce rejects.
    signed = ks.signed(make_zip(FILES))
    target = tmp_path / "stripped.zip"
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist()[:-1]:
            out.writestr(info, source.read(info))

    verdict = ks.evaluate(target, "Enforce")

    assert verdict.decision is Decision.REJECT
    assert verdict.checks["mismatch"] == "FAILED"
    assert not verdict.facts.signed
