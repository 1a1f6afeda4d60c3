"""The signature envelope: canonical JSON, signed with ECDSA P-384 over SHA-384.

The signature covers the canonical JSON (sorted keys, no whitespace, UTF-8) of every
envelope field except ``signature``; the envelope itself is stored in that same canonical
form, so there is exactly one byte string per envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provider import schemas
from provider.arns import PLATFORM_LAMBDA
from provider.clock import format_instant
from provider.errors import ValidationError

FORMAT_VERSION = 1
_ECDSA_SHA384 = ec.ECDSA(hashes.SHA384())


def canonical_json(document: Any) -> bytes:
    """The one byte form of a JSON document that signatures are computed over."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key_b64(public_key: ec.EllipticCurvePublicKey) -> str:
    """SubjectPublicKeyInfo DER, base64: how envelopes and the keystore carry a public key."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def load_public_key(b64: str) -> ec.EllipticCurvePublicKey:
    """Inverse of :func:`public_key_b64`; raises ``ValueError`` for anything but a P-384 key."""
    key = serialization.load_der_public_key(base64.b64decode(b64, validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise ValueError("not an ECDSA P-384 public key")
    return key


def seal(
    *,
    private_key: ec.EllipticCurvePrivateKey,
    profile_name: str,
    profile_version: str,
    profile_version_arn: str,
    job_id: str,
    job_owner: str,
    signed_at: datetime,
    expires_at: datetime,
    digest: str,
) -> bytes:
    """Build and sign an envelope; returns its canonical bytes."""
    payload: dict[str, Any] = {
        "formatVersion": FORMAT_VERSION,
        "platformId": PLATFORM_LAMBDA,
        "profileName": profile_name,
        "profileVersion": profile_version,
        "profileVersionArn": profile_version_arn,
        "jobId": job_id,
        "jobOwner": job_owner,
        "signedAt": format_instant(signed_at),
        "signatureExpiresAt": format_instant(expires_at),
        "digestAlgorithm": "SHA-384",
        "digest": digest,
        "signatureAlgorithm": "ECDSA-P384-SHA384",
        "publicKey": public_key_b64(private_key.public_key()),
    }
    signature = private_key.sign(canonical_json(payload), _ECDSA_SHA384)
    return canonical_json({**payload, "signature": base64.b64encode(signature).decode()})


def open_envelope(raw: bytes) -> dict[str, Any]:
    """Parse, schema-check and signature-check an envelope.

    Raises :class:`ValidationError` with the reason when the bytes are not a canonical,
    valid envelope whose signature verifies under its own public key. Whether that key is
    the profile version's is the caller's question (it needs the keystore).
    """
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"signature envelope is not JSON: {exc}") from None
    schemas.validate(document, "signature-envelope", what="signature envelope")
    if canonical_json(document) != raw:
        raise ValidationError("signature envelope is not in canonical form")
    payload = {key: value for key, value in document.items() if key != "signature"}
    try:
        key = load_public_key(document["publicKey"])
        key.verify(base64.b64decode(document["signature"]), canonical_json(payload), _ECDSA_SHA384)
    except (ValueError, binascii.Error) as exc:
        raise ValidationError(
            f"signature envelope has an unusable key or signature: {exc}"
        ) from None
    except InvalidSignature:
        raise ValidationError("the envelope's ECDSA signature does not verify") from None
    return dict(document)
