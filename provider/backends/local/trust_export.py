"""Exporting a keystore's trust records as a signed trust file (see :mod:`provider.trust`).

The keystore's trust key (``keys/trust-key.pem``, P-384, stored like the profile keys)
signs trust files and nothing else; it is created by the first export.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec

from provider.arns import check_profile_name
from provider.backends.jobs import JobFilter, Pagination
from provider.backends.local import keys
from provider.errors import ValidationError
from provider.trust import fingerprint, sign_trust_document

if TYPE_CHECKING:
    from provider.backends.local import LocalBackend

TRUST_KEY_FILE = "trust-key.pem"
_PROFILE_FIELDS = (
    "profileName",
    "profileVersion",
    "profileVersionArn",
    "platformId",
    "signatureValidityPeriod",
    "status",
    "statusReason",
    "revocationRecord",
)


def trust_key(backend: LocalBackend) -> ec.EllipticCurvePrivateKey:
    """The keystore's trust key, created on first use (under the index's write lock, so
    two first exports at once still make one key)."""
    path = backend.store.keys_dir / TRUST_KEY_FILE
    with backend.store.transaction():
        if not path.exists():
            keys.save(keys.generate(), path)
    return keys.load(path, profile="trust key")


def export_trust(
    backend: LocalBackend, profile_names: Sequence[str], *, now: datetime
) -> dict[str, Any]:
    """The signed trust file document for these profiles (each listed once)."""
    names = list(dict.fromkeys(check_profile_name(n, "--profile-name") for n in profile_names))
    if not names:
        raise ValidationError("--profile-name: give at least one profile to export")
    profiles: list[dict[str, Any]] = []
    for name in names:
        document = backend.get_signing_profile(name)
        publisher = backend.publisher(document["profileVersionArn"])
        assert publisher is not None, "a profile of this keystore has a key record"
        entry = {field: document[field] for field in _PROFILE_FIELDS if field in document}
        entry["publicKey"] = publisher.public_key_b64
        entry["publicKeyFingerprint"] = fingerprint(publisher.public_key_b64)
        profiles.append(entry)
    arns = {(p["profileName"], p["profileVersion"]): p["profileVersionArn"] for p in profiles}
    revoked: list[dict[str, Any]] = []
    listing = backend.list_signing_jobs(JobFilter(is_revoked=True), Pagination())
    for job in listing["jobs"]:
        arn = arns.get((job["profileName"], job["profileVersion"]))
        if arn is None:
            continue
        record = backend.describe_signing_job(job["jobId"])["revocationRecord"]
        revoked.append(
            {"jobId": job["jobId"], "profileVersionArn": arn, "revocationRecord": record}
        )
    return sign_trust_document(
        profiles=profiles,
        revoked_signatures=sorted(revoked, key=lambda r: r["jobId"]),
        exported_at=now,
        issuer={"account": backend.location.account, "region": backend.location.region},
        key=trust_key(backend),
    )
