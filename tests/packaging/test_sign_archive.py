"""The packager signs through the Signer part's ``sign_archive`` on every backend (no
probing for optional methods): freshly zipped archives go with their bytes, and an archive
the signer cannot sign fails its job with the reason instead of falling back silently."""

from __future__ import annotations

import pytest

from provider.archive import BuiltPackage
from provider.backends.local.signer import LocalSigner

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each ``sign_archive`` call: the archive's name and whether its bytes came along."""
    calls: list[tuple[str, bool]] = []
    original = LocalSigner.sign_archive

    def recording(self, source, destination, profile_name, **options):  # type: ignore[no-untyped-def]
        calls.append((source.name, options.get("written") is not None))
        return original(self, source, destination, profile_name, **options)

    monkeypatch.setattr(LocalSigner, "sign_archive", recording)
    return calls


def test_fresh_archives_are_signed_with_their_bytes(sam_ext, app, publisher, signed) -> None:
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "out.yaml")
    assert len(signed) == 2
    assert all(written for _, written in signed)


def test_an_archive_that_cannot_be_signed_fails_its_job_with_the_reason(
    sam_ext, app, publisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = LocalSigner.sign_archive

    def damaged(self, source, destination, profile_name, *, written, **options):  # type: ignore[no-untyped-def]
        assert written is not None
        broken = BuiltPackage(b"PK\x05\x06 damaged", written.sha384, written.content_digest, 1)
        return original(self, source, destination, profile_name, written=broken, **options)

    monkeypatch.setattr(LocalSigner, "sign_archive", damaged)
    result = sam_ext(
        "package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "out.yaml", status=1
    )
    assert "signing job" in result.err and "failed" in result.err
    assert sam_ext.jobs() >= 1  # the failed job is recorded, with its reason
