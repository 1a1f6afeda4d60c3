"""The signature envelope: canonical JSON, signed with ECDSA P-384 over SHA-384.

The signature covers the canonical JSON (sorted keys, no whitespace, UTF-8) of every
envelope field except ``signature``; the envelope itself is stored in that same canonical
form, and the ``signature`` it carries is accepted in one form only (canonical base64 of
canonical DER, low S), so there is exactly one byte string per envelope: any other is
refused, even when its signature would verify.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from provider.arns import PLATFORM_LAMBDA
from provider.clock import format_instant
from provider.errors import ValidationError

# cryptography is imported on first use (a command that never signs or verifies, or
# that finds its answer in the cache's structure, never pays for it).
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

FORMAT_VERSION = 1

#: Base64 in its one canonical form (RFC 4648 section 3.5): the standard alphabet, whole
#: 4-character groups, padding only as needed and with zero padding bits, and nothing
#: after it: ``$(?!\n)`` is the end of the text in both JSON Schema's (ECMA-262) and
#: Python's regular expressions (Python's ``$`` alone also matches before a final newline).
CANONICAL_BASE64 = (
    r"^(?:[A-Za-z0-9+/]{4})*"
    r"(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)$(?!\n)"
)
#: The order n of the P-384 group. An ECDSA signature (r, s) verifies exactly when
#: (r, n - s) does, so only the "low-S" one (s <= n / 2) is accepted, and made.
P384_ORDER = int(
    "ffffffffffffffffffffffffffffffffffffffffffffffff"
    "c7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    16,
)
_HALF_ORDER = P384_ORDER // 2

#: The patterns of schemas/signature-envelope.schema.json (and the common definitions it
#: refers to), verbatim; tests/provider/test_envelope_validator.py proves this module
#: accepts and rejects exactly what the schema does, and that these strings are the
#: schema's own. Matched with ``re.search``, as jsonschema matches ``pattern``.
PATTERNS = {
    "profileName": r"^[a-zA-Z0-9_]{2,64}$",
    "profileVersion": r"^[a-zA-Z0-9]{10}$",
    "profileVersionArn": (
        r"^arn:aws[a-zA-Z-]*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/"
        r"[a-zA-Z0-9_]{2,64}/[a-zA-Z0-9]{10}$"
    ),
    "jobOwner": r"^[0-9]{12}$",
    "signedAt": (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"),
    "signatureExpiresAt": (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"),
    "digest": r"^[0-9a-f]{96}$",
    "publicKey": CANONICAL_BASE64,
    "signature": CANONICAL_BASE64,
}
#: Fields whose value must be exactly this (``formatVersion`` compares as a number).
CONSTANTS: dict[str, Any] = {
    "formatVersion": 1,
    "platformId": PLATFORM_LAMBDA,
    "digestAlgorithm": "SHA-384",
    "signatureAlgorithm": "ECDSA-P384-SHA384",
}
#: ``jobId``'s length bounds (in code points, as JSON Schema counts).
JOB_ID_LENGTH = (1, 128)
REQUIRED = (
    "formatVersion", "platformId", "profileName", "profileVersion", "profileVersionArn",
    "jobId", "signedAt", "signatureExpiresAt", "digestAlgorithm", "digest",
    "signatureAlgorithm", "publicKey", "signature",
)  # fmt: skip
FIELDS = frozenset((*REQUIRED, "jobOwner"))
_COMPILED = {field: re.compile(pattern) for field, pattern in PATTERNS.items()}


def envelope_error(document: Any) -> str | None:
    """Why ``document`` does not conform to the signature envelope schema (naming the
    field), or ``None`` when it does: the schema's rules, without jsonschema on the path
    every verification takes."""
    if not isinstance(document, dict):
        return f"(document): {document!r} is not of type 'object'"
    for field in REQUIRED:
        if field not in document:
            return f"(document): {field!r} is a required property"
    extra = sorted(str(key) for key in document if key not in FIELDS)
    if extra:
        return f"(document): additional properties are not allowed ({', '.join(map(repr, extra))})"
    for field, expected in CONSTANTS.items():
        value = document[field]
        if isinstance(value, bool) or type(value) is not type(expected):
            if not (
                isinstance(expected, int)
                and isinstance(value, float)
                and not isinstance(value, bool)
                and value == expected
            ):
                return f"{field}: {expected!r} was expected"
        elif value != expected:
            return f"{field}: {expected!r} was expected"
    for field, pattern in _COMPILED.items():
        if field not in document:
            continue  # only jobOwner is optional
        value = document[field]
        if not isinstance(value, str):
            return f"{field}: {value!r} is not of type 'string'"
        if not pattern.search(value):
            return f"{field}: {value!r} does not match {pattern.pattern!r}"
    job_id = document["jobId"]
    if not isinstance(job_id, str):
        return f"jobId: {job_id!r} is not of type 'string'"
    if not JOB_ID_LENGTH[0] <= len(job_id) <= JOB_ID_LENGTH[1]:
        return f"jobId: must be {JOB_ID_LENGTH[0]} to {JOB_ID_LENGTH[1]} characters"
    return None


@cache
def ecdsa_sha384() -> ec.ECDSA:
    """ECDSA with SHA-384 and a random nonce: the one signature algorithm of envelopes and
    trust files, cryptography's own ``ec.ECDSA(hashes.SHA384())``. (Making it imports
    cryptography's OpenSSL backend object, about 6 ms once per process, to ask whether
    deterministic nonces are supported; BENCHMARKS.md (b).)"""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.ECDSA(hashes.SHA384())


def sign_low_s(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """The DER ECDSA P-384/SHA-384 signature of ``data`` in its low-S form (s <= n / 2):
    the one form :func:`signature_bytes` accepts (OpenSSL returns either half)."""
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    der = private_key.sign(data, ecdsa_sha384())
    r, s = decode_dss_signature(der)
    return der if s <= _HALF_ORDER else encode_dss_signature(r, P384_ORDER - s)


def canonical_b64decode(text: str) -> bytes:
    """Decode base64 that is in its one canonical form (``base64.b64encode``'s output);
    raises ``ValueError`` saying why for anything else: a character outside the standard
    alphabet (a newline, a space, the URL-safe ``-`` and ``_``), missing or extra padding,
    or non-zero padding bits, each of which decodes (leniently) to the same bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValueError(f"not base64 ({exc})") from None
    if base64.b64encode(raw).decode() != text:
        raise ValueError("not canonical base64 (non-zero padding bits or extra padding)")
    return raw


def signature_bytes(text: str) -> bytes:
    """An envelope's ``signature`` as DER, accepted in one byte form only: canonical base64
    of canonical DER of a low-S (r, s). Raises ``ValueError`` saying which rule it breaks
    (any of them is a rewritten signature: the code is unchanged, the bytes are not)."""
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    der = canonical_b64decode(text)
    try:
        r, s = decode_dss_signature(der)  # strict DER SEQUENCE {r, s}, nothing after it
    except ValueError as exc:
        raise ValueError(f"the signature is not DER of an ECDSA (r, s) ({exc})") from None
    if encode_dss_signature(r, s) != der:
        raise ValueError("the signature is not in canonical DER")
    if s > _HALF_ORDER:
        raise ValueError(
            "the ECDSA signature is not in low-S form (s > n/2): (r, n - s) of a signature "
            "verifies too, so only s <= n/2 is accepted; sign the package again"
        )
    return der


def canonical_json(document: Any) -> bytes:
    """The one byte form of a JSON document that signatures are computed over."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


#: The DER of a SubjectPublicKeyInfo of an uncompressed P-384 point, up to the point:
#: SEQUENCE { SEQUENCE { id-ecPublicKey, secp384r1 }, BIT STRING (0 unused bits, 0x04 ...) }.
_P384_SPKI_PREFIX = bytes.fromhex("3076301006072a8648ce3d020106052b81040022036200")


def public_key_b64(public_key: ec.EllipticCurvePublicKey) -> str:
    """SubjectPublicKeyInfo DER, base64: how envelopes and the keystore carry a public key."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def load_public_key(b64: str) -> ec.EllipticCurvePublicKey:
    """Inverse of :func:`public_key_b64`; raises ``ValueError`` for anything but a P-384 key."""
    from cryptography.hazmat.primitives.asymmetric import ec

    der = base64.b64decode(b64, validate=True)
    if len(der) == len(_P384_SPKI_PREFIX) + 97 and der.startswith(_P384_SPKI_PREFIX):
        # What public_key_b64 writes: the point is checked to be on the curve, and
        # cryptography's serialization module (a third of its import time) is not needed.
        return ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP384R1(), der[len(_P384_SPKI_PREFIX) :]
        )
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_der_public_key(der)
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
    signature = sign_low_s(private_key, canonical_json(payload))
    return canonical_json({**payload, "signature": base64.b64encode(signature).decode()})


def open_envelope(raw: bytes) -> dict[str, Any]:
    """Parse, schema-check and signature-check an envelope.

    Raises :class:`ValidationError` with the reason when the bytes are not a canonical,
    valid envelope whose signature verifies under its own public key. Whether that key is
    the profile version's is the caller's question (it needs the keystore).

    A signed package has one byte form: the envelope must be its own canonical JSON and
    its signature canonical base64 of canonical DER with a low S (:func:`signature_bytes`),
    so no rewrite of the signature member that still verifies is accepted.
    """
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"signature envelope is not JSON: {exc}") from None
    error = envelope_error(document)
    if error is not None:
        raise ValidationError(f"signature envelope: {error}")
    if canonical_json(document) != raw:
        raise ValidationError("signature envelope is not in canonical form")
    from cryptography.exceptions import InvalidSignature

    payload = {key: value for key, value in document.items() if key != "signature"}
    try:
        key = load_public_key(document["publicKey"])
        signature = signature_bytes(document["signature"])
        key.verify(signature, canonical_json(payload), ecdsa_sha384())
    except (ValueError, binascii.Error) as exc:
        raise ValidationError(
            f"signature envelope has an unusable key or signature: {exc}"
        ) from None
    except InvalidSignature:
        raise ValidationError("the envelope's ECDSA signature does not verify") from None
    return dict(document)
