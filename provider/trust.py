"""Trust files: what a keystore knows about its publishers, for verifiers without it.

A trust file (``schemas/trust-file.schema.json``) holds, for chosen signing profiles, each
profile version's ARN, public key, status and revocation record, and the revoked
signatures of their jobs, as of its ``exportedAt`` instant. It is signed (ECDSA P-384 over
SHA-384, over the canonical JSON of everything but ``signature``) by the exporting
keystore's **trust key**, a key of its own that signs nothing else.

Trust is anchored by the verifier, not by the file: :func:`load_trust_file` accepts a file
only when its signer's fingerprint (SHA-256 of the public key's SubjectPublicKeyInfo DER,
``SHA256:<hex>``) is one the caller pins. A file's own key proves nothing (anyone can
re-sign a changed file with a key of their own), and a profile key must not vouch for its
own revocation (SECURITY.md, "Trust files").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from provider import schemas
from provider.clock import format_age, format_instant, parse_duration, parse_instant
from provider.envelope import (
    canonical_b64decode,
    canonical_json,
    ecdsa_sha384,
    load_public_key,
    public_key_b64,
    sign_low_s,
)
from provider.errors import StaleTrustFile, ValidationError
from provider.inspect_package import PublisherRecord, TrustRecords, facts_from_file
from provider.verdict import ArtifactFacts

FORMAT = "lambda-codesign-trust-file"
FORMAT_VERSION = 1
SIGNATURE_ALGORITHM = "ECDSA-P384-SHA384"
#: Environment variable with pinned trust-key fingerprints (space separated).
ANCHOR_ENV = "CODESIGN_TRUST_ANCHOR"
#: Environment variable with the longest a trust file may have been exported ago (``7d``).
MAX_AGE_ENV = "CODESIGN_TRUST_MAX_AGE"
#: A trust file is a few KB per profile; anything this large is not one.
_MAX_BYTES = 16 * 1024 * 1024
_FINGERPRINT_RE = re.compile(r"^SHA256:[0-9a-f]{64}$")


def fingerprint(public_key: ec.EllipticCurvePublicKey | str) -> str:
    """``SHA256:<hex>`` of a public key's SubjectPublicKeyInfo DER (a key or its base64)."""
    b64 = public_key if isinstance(public_key, str) else public_key_b64(public_key)
    return "SHA256:" + hashlib.sha256(base64.b64decode(b64)).hexdigest()


def check_anchor(text: str, field: str = "--trust-anchor") -> str:
    """A pinned fingerprint, normalised (``SHA256:`` + 64 lower-case hex digits)."""
    candidate = text.strip()
    if candidate[:7].upper() == "SHA256:":
        candidate = "SHA256:" + candidate[7:].lower()
    if not _FINGERPRINT_RE.match(candidate):
        raise ValidationError(
            f"{field}: {text!r} is not a trust-key fingerprint (SHA256: and 64 hex digits, "
            "as sam-ext profile export-trust prints it)",
            field=field,
        )
    return candidate


# --- writing ----------------------------------------------------------------------------
def sign_trust_document(
    *,
    profiles: Sequence[Mapping[str, Any]],
    revoked_signatures: Sequence[Mapping[str, Any]],
    exported_at: datetime,
    issuer: Mapping[str, str],
    key: ec.EllipticCurvePrivateKey,
) -> dict[str, Any]:
    """The signed trust file document (valid against its schema)."""
    public = public_key_b64(key.public_key())
    payload: dict[str, Any] = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "exportedAt": format_instant(exported_at),
        "issuer": dict(issuer),
        "signer": {
            "algorithm": SIGNATURE_ALGORITHM,
            "publicKey": public,
            "keyFingerprint": fingerprint(public),
        },
        "profiles": [dict(p) for p in profiles],
        "revokedSignatures": [dict(r) for r in revoked_signatures],
    }
    signature = sign_low_s(key, canonical_json(payload))
    document = {**payload, "signature": base64.b64encode(signature).decode()}
    schemas.validate(document, "trust-file", what="trust file")
    return document


def write_trust_file(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically (never a half-written trust file)."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ValidationError(
            f"--output: cannot write {str(path)!r}: {exc.strerror}", field="--output"
        ) from None


# --- reading ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrustedProfile:
    """One profile version as the trust file states it."""

    profile_version_arn: str
    public_key_b64: str
    status: str
    revoked_from: datetime | None


@dataclass(frozen=True)
class TrustFile:
    """A verified trust file: :class:`~provider.inspect_package.TrustRecords` as of
    :attr:`exported_at`."""

    path: Path
    exported_at: datetime
    signer_fingerprint: str
    profiles: Mapping[str, TrustedProfile]
    revoked_signatures: Mapping[str, str]

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        """The profile version's key and revocation, if this file lists it."""
        profile = self.profiles.get(profile_version_arn)
        if profile is None:
            return None
        return PublisherRecord(profile.public_key_b64, profile.revoked_from)

    def signature_revocation(self, job_id: str) -> str | None:
        """The revocation reason of a job's signature, if this file records one."""
        return self.revoked_signatures.get(job_id)

    def over(self, fallback: TrustRecords) -> TrustRecords:
        """This file's records first, then ``fallback``'s (a keystore of this machine)."""
        return _Chained(self, fallback)

    def annotate(self, facts: ArtifactFacts) -> ArtifactFacts:
        """``facts`` marked as judged on this file's records (its date goes into the
        verdict), when this file is what vouched for the package's publisher."""
        if facts.profile_version_arn in self.profiles:
            return replace(facts, trust_as_of=self.exported_at)
        return facts

    def facts_of(self, package: Path, *, name: str | None = None) -> ArtifactFacts:
        """What the checks need to know about a local package, on this file alone."""
        return self.annotate(facts_from_file(package, self, name=name))

    def staleness(self, at: datetime) -> str:
        """One line saying how old this file is at ``at`` (the instant verdicts are judged
        at), and what that means: revocations made after its export are not known."""
        age = at - self.exported_at
        when = (
            f"{format_age(age)} ago"
            if age >= timedelta(0)
            else f"{format_age(age)} after the instant judged at ({format_instant(at)})"
        )
        return (
            f"trust file {self.path}: exported at {format_instant(self.exported_at)}, {when}; "
            "revocations made after that are not known to these verdicts"
        )

    def check_age(self, max_age: MaxAge | None, at: datetime) -> None:
        """Refuse this file (:class:`StaleTrustFile`) when it was exported longer than
        ``max_age`` before ``at``."""
        if max_age is None or at - self.exported_at <= max_age.bound:
            return
        raise StaleTrustFile(
            f"--trust-file {self.path}: exported at {format_instant(self.exported_at)}, "
            f"{format_age(at - self.exported_at)} before {format_instant(at)}, longer ago "
            f"than {max_age.source} {max_age.text} allows; refusing it (export it again "
            "from the keystore: revocations made since are not in it)"
        )


@dataclass(frozen=True)
class MaxAge:
    """The longest a trust file may have been exported ago, and where it was given."""

    bound: timedelta
    text: str
    source: str


def max_age_from(given: str | None) -> MaxAge | None:
    """``--trust-max-age``'s bound, else ``$CODESIGN_TRUST_MAX_AGE``'s, else ``None`` (no
    bound); a value that is not a duration is a :class:`ValidationError` naming where it
    came from."""
    if given is not None:
        return MaxAge(parse_duration(given, field="--trust-max-age"), given, "--trust-max-age")
    from_env = os.environ.get(MAX_AGE_ENV)
    if not from_env:
        return None
    return MaxAge(parse_duration(from_env, field=MAX_AGE_ENV), from_env, MAX_AGE_ENV)


@dataclass(frozen=True)
class _Chained:
    first: TrustFile
    then: TrustRecords

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        return self.first.publisher(profile_version_arn) or self.then.publisher(profile_version_arn)

    def signature_revocation(self, job_id: str) -> str | None:
        return self.first.signature_revocation(job_id) or self.then.signature_revocation(job_id)


def anchors_from(given: Iterable[str]) -> list[str]:
    """Pinned fingerprints: the given ones, else ``$CODESIGN_TRUST_ANCHOR``'s."""
    values = [part for text in given for part in text.replace(",", " ").split()]
    if not values:
        values = os.environ.get(ANCHOR_ENV, "").replace(",", " ").split()
    return [check_anchor(value) for value in values]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"the key {duplicated[0]!r} appears twice in one object")
    return dict(pairs)


def _read_document(path: Path) -> Any:
    where = f"--trust-file: {str(path)!r}"
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise ValidationError(f"{where} is {size} bytes, too large to be a trust file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise ValidationError(f"{where} is a directory, not a trust file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{where} cannot be read: {exc}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ValidationError(f"{where} is not JSON ({exc})") from None


def load_trust_file(path: Path, anchors: Sequence[str]) -> TrustFile:
    """Read, schema-check and verify a trust file against pinned fingerprints.

    Raises :class:`ValidationError` naming the file when it is not a trust file, when its
    signer is not pinned, or when its signature does not verify (it was changed).
    """
    if not anchors:
        raise ValidationError(
            f"--trust-anchor: required with --trust-file (or set {ANCHOR_ENV}): the "
            "fingerprint of the key that signs the trust file, as sam-ext profile "
            "export-trust printed it; without a pinned key anyone could re-sign a changed "
            "trust file",
            field="--trust-anchor",
        )
    document = _read_document(path)
    schemas.validate(document, "trust-file", what=f"--trust-file {path}")
    signer = document["signer"]
    try:
        key = load_public_key(signer["publicKey"])
    except (ValueError, binascii.Error):
        raise ValidationError(
            f"--trust-file {path}: signer.publicKey is not an ECDSA P-384 public key"
        ) from None
    actual = fingerprint(signer["publicKey"])
    if actual != signer["keyFingerprint"]:
        raise ValidationError(
            f"--trust-file {path}: signer.keyFingerprint {signer['keyFingerprint']} is not "
            f"the fingerprint of signer.publicKey ({actual}); the file was changed"
        )
    if actual not in anchors:
        raise ValidationError(
            f"--trust-file {path}: signed by the trust key {actual}, which is not a pinned "
            f"trust anchor ({', '.join(anchors)}); refusing it"
        )
    payload = {name: value for name, value in document.items() if name != "signature"}
    try:
        signature = canonical_b64decode(document["signature"])
        key.verify(signature, canonical_json(payload), ecdsa_sha384())
    except (InvalidSignature, ValueError):
        raise ValidationError(
            f"--trust-file {path}: its signature does not verify; the file was changed after "
            "it was exported (export it again from the keystore)"
        ) from None
    return _parsed(path, document, actual)


def _parsed(path: Path, document: Mapping[str, Any], signer: str) -> TrustFile:
    profiles: dict[str, TrustedProfile] = {}
    for index, entry in enumerate(document["profiles"]):
        arn = entry["profileVersionArn"]
        if arn in profiles:
            raise ValidationError(f"--trust-file {path}: profiles[{index}]: {arn} is listed twice")
        try:
            load_public_key(entry["publicKey"])
        except (ValueError, binascii.Error):
            raise ValidationError(
                f"--trust-file {path}: profiles[{index}].publicKey is not an ECDSA P-384 key"
            ) from None
        record = entry.get("revocationRecord")
        revoked_from = (
            parse_instant(record["revocationEffectiveFrom"], field="revocationEffectiveFrom")
            if record
            else None
        )
        profiles[arn] = TrustedProfile(arn, entry["publicKey"], entry["status"], revoked_from)
    revoked = {
        entry["jobId"]: entry["revocationRecord"]["reason"]
        for entry in document["revokedSignatures"]
    }
    return TrustFile(
        path=path,
        exported_at=parse_instant(document["exportedAt"], field="exportedAt"),
        signer_fingerprint=signer,
        profiles=profiles,
        revoked_signatures=revoked,
    )
