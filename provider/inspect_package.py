"""Turn a package's bytes into :class:`~provider.verdict.ArtifactFacts`.

Backends supply what only they know (the profile version's public key, revocations)
through :class:`TrustRecords`; everything read from the package itself happens here.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from provider.clock import parse_instant
from provider.envelope import open_envelope
from provider.errors import ValidationError
from provider.package import PackageError, read_layout
from provider.verdict import ArtifactFacts


@dataclass(frozen=True)
class PublisherRecord:
    """What a backend knows about a profile version: its key and revocation."""

    public_key_b64: str
    revoked_from: datetime | None = None


class TrustRecords(Protocol):
    """Backend look-ups the facts depend on."""

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        """The profile version's key and revocation, or ``None`` when unknown."""

    def signature_revocation(self, job_id: str) -> str | None:
        """The revocation reason of a signing job's signature, or ``None``."""


@dataclass(frozen=True)
class Envelope:
    """The envelope fields the checks use."""

    profile_version_arn: str
    job_id: str
    signed_at: datetime
    expires_at: datetime
    public_key_b64: str


@contextmanager
def mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, memory-mapped (read once, never copied whole)."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            yield b""
            return
        view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        yield view
    finally:
        # A slice still referenced (say, by a traceback) keeps the map until it goes.
        with suppress(BufferError):
            view.close()


def facts_from_bytes(
    data: bytes | mmap.mmap, trust: TrustRecords, *, name: str = "code"
) -> ArtifactFacts:
    """Everything the checks need to know about one package."""
    try:
        layout = read_layout(data)
    except PackageError as exc:
        return ArtifactFacts(name=name, malformed=exc.reason)
    if layout is None:
        return ArtifactFacts(name=name, signed=False)
    if layout.structure_error is not None:
        return ArtifactFacts(name=name, signed=True, integrity_error=layout.structure_error)
    try:
        document = open_envelope(layout.envelope)
    except ValidationError as exc:
        return ArtifactFacts(name=name, signed=True, integrity_error=exc.message)
    envelope = Envelope(
        document["profileVersionArn"],
        document["jobId"],
        parse_instant(document["signedAt"], field="signedAt"),
        parse_instant(document["signatureExpiresAt"], field="signatureExpiresAt"),
        document["publicKey"],
    )
    facts = ArtifactFacts(
        name=name,
        signed=True,
        profile_version_arn=envelope.profile_version_arn,
        job_id=envelope.job_id,
        signed_at=envelope.signed_at,
        expires_at=envelope.expires_at,
    )
    if document["digest"] != layout.digest:
        return replace(
            facts, integrity_error="the package's SHA-384 digest does not match the signed digest"
        )
    publisher = trust.publisher(envelope.profile_version_arn)
    if publisher is None:
        return replace(facts, publisher_known=False)
    if publisher.public_key_b64 != envelope.public_key_b64:
        return replace(
            facts,
            integrity_error=f"the signing key is not the key of {envelope.profile_version_arn}",
        )
    return replace(
        facts,
        profile_revoked_from=publisher.revoked_from,
        signature_revoked_reason=trust.signature_revocation(envelope.job_id),
    )


def facts_from_file(path: Path, trust: TrustRecords, *, name: str | None = None) -> ArtifactFacts:
    """:func:`facts_from_bytes` for a file; a missing file is a :class:`CodesignError`."""
    try:
        with mapped(path) as data:
            return facts_from_bytes(data, trust, name=name or path.name)
    except FileNotFoundError:
        raise ValidationError(f"package {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValidationError(f"package {str(path)!r} is a directory, not a .zip file") from None
