"""The signature envelope: canonical JSON, its schema, and what a wrong key does."""

from __future__ import annotations

import base64
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from provider import schemas
from provider.arns import PLATFORM_LAMBDA
from provider.backends.local import LocalBackend
from provider.envelope import (
    P384_ORDER,
    canonical_b64decode,
    canonical_json,
    open_envelope,
    public_key_b64,
    seal,
    sign_low_s,
    signature_bytes,
)
from provider.errors import ValidationError
from provider.package import assemble_signed, prepare_unsigned
from provider.verdict import INTEGRITY_EXCEPTION, VERIFICATION_EXCEPTION, Decision

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
JOB_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
ARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/publisher/AbCdE12345"


def _seal(key: ec.EllipticCurvePrivateKey, **overrides: object) -> bytes:
    fields: dict[str, object] = {
        "private_key": key,
        "profile_name": "publisher",
        "profile_version": "AbCdE12345",
        "profile_version_arn": ARN,
        "job_id": JOB_ID,
        "job_owner": "000000000000",
        "signed_at": T0,
        "expires_at": T0 + timedelta(days=30),
        "digest": "ab" * 48,
    }
    fields.update(overrides)
    return seal(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def test_sealed_envelope_is_canonical_and_schema_valid(key):
    raw = _seal(key)
    document = json.loads(raw)

    assert raw == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in raw and b"\n" not in raw
    assert list(schemas.validator("signature-envelope").iter_errors(document)) == []
    assert document["platformId"] == PLATFORM_LAMBDA == "AWSLambda-SHA384-ECDSA"
    assert document["profileName"] == "publisher"
    assert document["profileVersion"] == "AbCdE12345"
    assert document["profileVersionArn"] == ARN
    assert document["jobId"] == JOB_ID
    assert document["signedAt"] == "2026-01-15T12:00:00.000Z"
    assert document["signatureExpiresAt"] == "2026-02-14T12:00:00.000Z"
    assert document["digestAlgorithm"] == "SHA-384"
    assert document["signatureAlgorithm"] == "ECDSA-P384-SHA384"
    assert document["publicKey"] == public_key_b64(key.public_key())


def test_signature_is_ecdsa_p384_sha384_over_the_other_fields(key):
    document = json.loads(_seal(key))
    payload = {k: v for k, v in document.items() if k != "signature"}

    # Raises InvalidSignature if it is not.
    key.public_key().verify(
        base64.b64decode(document["signature"]),
        canonical_json(payload),
        ec.ECDSA(hashes.SHA384()),
    )


def test_open_envelope_returns_the_document(key):
    raw = _seal(key)

    assert open_envelope(raw) == json.loads(raw)


def test_a_non_canonical_envelope_is_refused(key):
    pretty = json.dumps(json.loads(_seal(key)), indent=2).encode()

    with pytest.raises(ValidationError, match="canonical"):
        open_envelope(pretty)


def test_an_envelope_with_another_key_does_not_verify(key):
    other = ec.generate_private_key(ec.SECP384R1())
    document = json.loads(_seal(key))
    document["publicKey"] = public_key_b64(other.public_key())

    with pytest.raises(ValidationError, match="does not verify"):
        open_envelope(canonical_json(document))


def test_changing_a_signed_field_breaks_the_signature(key):
    document = json.loads(_seal(key))
    document["signatureExpiresAt"] = "2099-01-01T00:00:00.000Z"

    with pytest.raises(ValidationError, match="does not verify"):
        open_envelope(canonical_json(document))


def test_a_non_p384_key_is_refused(key):
    p256 = ec.generate_private_key(ec.SECP256R1())
    document = json.loads(_seal(key))
    document["publicKey"] = public_key_b64(p256.public_key())

    with pytest.raises(ValidationError, match="P-384"):
        open_envelope(canonical_json(document))


@pytest.mark.parametrize("missing", ["digest", "jobId", "signature", "profileVersionArn"])
def test_schema_errors_name_the_field(key, missing):
    document = json.loads(_seal(key))
    del document[missing]

    with pytest.raises(ValidationError, match=missing):
        open_envelope(canonical_json(document))


def test_unknown_fields_are_refused(key):
    document = json.loads(_seal(key))
    document["extra"] = "x"

    with pytest.raises(ValidationError, match="extra"):
        open_envelope(canonical_json(document))


def test_not_json_is_refused():
    with pytest.raises(ValidationError, match="not JSON"):
        open_envelope(b"\xff\xfe not json")


# --- a forged envelope inside a package ----------------------------------------------------


def _forge(source: Path, target: Path, key: ec.EllipticCurvePrivateKey, arn: str) -> Path:
    """Sign ``source`` with ``key`` while claiming profile version ``arn``."""
    unsigned = prepare_unsigned(source.read_bytes())
    name, version = arn.rsplit("/", 2)[-2:]
    envelope = _seal(
        key,
        profile_name=name,
        profile_version=version,
        profile_version_arn=arn,
        digest=unsigned.digest,
    )
    target.write_bytes(assemble_signed(unsigned, envelope))
    return target


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_a_package_signed_with_a_key_that_is_not_the_profiles_is_an_integrity_failure(
    ks, make_zip, tmp_path, key, policy
):
    forged = _forge(make_zip(), tmp_path / "forged.zip", key, ks.arn)
    assert zipfile.ZipFile(forged).testzip() is None  # well-formed, self-consistent

    verdict = ks.evaluate(forged, policy)

    assert verdict.decision is Decision.REJECT
    assert verdict.exception == INTEGRITY_EXCEPTION
    assert "not the key of" in verdict.failed[0].message


def test_a_same_named_profile_of_another_keystore_is_not_our_publisher(ks, make_zip, tmp_path):
    # Another keystore's "publisher" has its own version and key: its signature is a
    # mismatch under a CSC that allows ours, and an integrity failure if it claims our ARN.
    other = LocalBackend(tmp_path / "other-keystore")
    other.put_signing_profile("publisher", now=T0)
    job = other.sign_package(make_zip(), str(tmp_path / "other"), "publisher", now=T0)
    theirs = Path(job["signedObject"]["path"])

    verdict = ks.evaluate(theirs, "Enforce")

    assert verdict.exception == VERIFICATION_EXCEPTION
    assert [f.check.value for f in verdict.failed] == ["mismatch"]


def test_an_unknown_publisher_that_the_csc_allows_is_an_integrity_failure(
    ks, make_zip, tmp_path, key
):
    unknown = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/stranger/ZZZZZZZZZZ"
    forged = _forge(make_zip(), tmp_path / "forged.zip", key, unknown)

    verdict = ks.evaluate(forged, "Warn", arns=(unknown,))

    assert verdict.decision is Decision.REJECT
    assert verdict.exception == INTEGRITY_EXCEPTION
    assert "cannot be verified" in verdict.failed[0].message


def test_an_unknown_publisher_that_the_csc_does_not_allow_is_a_mismatch(
    ks, make_zip, tmp_path, key
):
    unknown = "arn:aws:signer:us-east-1:111111111111:/signing-profiles/stranger/ZZZZZZZZZZ"
    forged = _forge(make_zip(), tmp_path / "forged.zip", key, unknown)

    assert ks.evaluate(forged, "Warn").decision is Decision.WARN
    enforced = ks.evaluate(forged, "Enforce")
    assert enforced.exception == VERIFICATION_EXCEPTION
    assert [f.check.value for f in enforced.failed] == ["mismatch"]


# --- the signature algorithm object ---------------------------------------------------------


def test_ecdsa_sha384_signs_and_verifies_as_cryptographys_own_ecdsa_sha384():
    from cryptography.exceptions import InvalidSignature

    from provider.envelope import ecdsa_sha384

    key = ec.generate_private_key(ec.SECP384R1())
    theirs = ec.ECDSA(hashes.SHA384())
    ours = ecdsa_sha384()

    assert isinstance(ours, ec.ECDSA) and isinstance(ours.algorithm, hashes.SHA384)
    assert ours.deterministic_signing is False
    key.public_key().verify(key.sign(b"data", ours), b"data", theirs)
    key.public_key().verify(key.sign(b"data", theirs), b"data", ours)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(key.sign(b"data", ours), b"datA", ours)
    with pytest.raises(InvalidSignature):  # a SHA-256 signature is not a SHA-384 one
        key.public_key().verify(key.sign(b"data", ec.ECDSA(hashes.SHA256())), b"data", ours)


#: An envelope sealed before issue 21, when the algorithm object was a subclass of
#: ec.ECDSA that skipped its __init__ (provider/envelope.py at e930492).
SEALED_BEFORE_ISSUE_21 = (
    b'{"digest":"' + b"ab" * 48 + b'","digestAlgorithm":"SHA-384","formatVersion":1,'
    b'"jobId":"job-made-before-issue-21","jobOwner":"000000000000",'
    b'"platformId":"AWSLambda-SHA384-ECDSA","profileName":"publisher",'
    b'"profileVersion":"AbCdE12345","profileVersionArn":"' + ARN.encode() + b'",'
    b'"publicKey":"MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE87GEfa0c1hXrT9qRm4EMUF/WP14O+sXgUSYYtwLHO4bL'
    b'pn0obwjWGZm2kyfXwURaSzz+jKNKgUrt7xxUS8TQjIDKrTif2LN9UIR2JMMVZpFwGleG7jnmFnTMntwddN5p",'
    b'"signature":"MGUCMQDZ+bcfe3Soi1HcBMPfj75hXiMsctWhJfn3+f2rqJ8xxClcewElLEYWmlKV8/lL8QUCMDXem'
    b'mlrJBPR8VVlV5z2Q6ZBwcs7595eIKkhcSbTW2hnQymrl1Fbe3jo+F9pZ40EQg==",'
    b'"signatureAlgorithm":"ECDSA-P384-SHA384","signatureExpiresAt":"2026-01-31T00:00:00.000Z",'
    b'"signedAt":"2026-01-01T00:00:00.000Z"}'
)


def test_signatures_verify_across_the_change_of_algorithm_object(key):
    """The algorithm object is cryptography's own now; an envelope sealed with the old one
    opens, and one sealed now verifies under the old one: the signature format is the same."""
    from provider.envelope import ecdsa_sha384

    assert type(ecdsa_sha384()) is ec.ECDSA
    assert open_envelope(SEALED_BEFORE_ISSUE_21)["jobId"] == "job-made-before-issue-21"

    class OldEcdsaSha384(ec.ECDSA):  # as provider/envelope.py had it before issue 21
        def __init__(self) -> None:
            pass

        @property
        def algorithm(self) -> hashes.SHA384:
            return hashes.SHA384()

        @property
        def deterministic_signing(self) -> bool:
            return False

    document = json.loads(_seal(key))
    payload = canonical_json({k: v for k, v in document.items() if k != "signature"})
    der = base64.b64decode(document["signature"])
    key.public_key().verify(der, payload, OldEcdsaSha384())
    assert decode_dss_signature(der)[1] <= P384_ORDER // 2  # low S, as before


# --- one byte form: canonical base64, canonical DER, low S ----------------------------------


def _s_of(envelope: bytes) -> int:
    return decode_dss_signature(base64.b64decode(json.loads(envelope)["signature"]))[1]


def test_signing_always_emits_low_s(key):
    # OpenSSL returns the high-S half about half the time: 64 envelopes in a row with
    # s <= n/2 happen by chance once in 2**64.
    for index in range(64):
        assert _s_of(_seal(key, job_id=f"job-{index}")) <= P384_ORDER // 2


def test_a_high_s_signature_from_the_library_is_normalised(key):
    """sign_low_s turns the (r, n - s) OpenSSL may return into (r, s), which verifies."""
    data = b"payload"
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA384())))
    high = encode_dss_signature(r, max(s, P384_ORDER - s))

    class HighS:
        def sign(self, payload: bytes, algorithm: object) -> bytes:
            assert payload == data
            return high

    low = sign_low_s(HighS(), data)  # type: ignore[arg-type]

    assert decode_dss_signature(low) == (r, min(s, P384_ORDER - s))
    key.public_key().verify(low, data, ec.ECDSA(hashes.SHA384()))


def test_a_high_s_envelope_verifies_cryptographically_but_is_refused(key):
    document = json.loads(_seal(key))
    r, s = decode_dss_signature(base64.b64decode(document["signature"]))
    flipped = encode_dss_signature(r, P384_ORDER - s)
    payload = canonical_json({k: v for k, v in document.items() if k != "signature"})
    key.public_key().verify(flipped, payload, ec.ECDSA(hashes.SHA384()))  # it does verify
    document["signature"] = base64.b64encode(flipped).decode()

    with pytest.raises(ValidationError, match="low-S"):
        open_envelope(canonical_json(document))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("QUJD\n", "not base64 .Only base64 data"),  # a trailing newline
        ("QU JD", "not base64 .Only base64 data"),  # whitespace
        ("QUJ-", "not base64 .Only base64 data"),  # URL-safe alphabet
        ("QUJ\u0414", "not base64 .string argument should contain only ASCII"),
        ("QUI", "not base64 .Incorrect padding"),  # missing padding
        ("QUJDRA=", "not base64 .Incorrect padding"),
        ("QUI==", "not base64 .Excess data after padding"),  # extra padding
        ("QUJD=", "not canonical base64"),
        ("QUJD====", "not canonical base64"),
        ("QR==", "not canonical base64"),  # padding bits set: "QQ==" is the same byte
        ("QUK=", "not canonical base64"),  # "QUI=" is the same bytes
    ],
)
def test_only_canonical_base64_is_decoded(text, reason):
    with pytest.raises(ValueError, match=reason):
        canonical_b64decode(text)


def test_canonical_base64_is_decoded():
    for data in (b"A", b"AB", b"ABC", bytes(range(256))):
        assert canonical_b64decode(base64.b64encode(data).decode()) == data


def test_the_signature_must_be_canonical_der(key):
    document = json.loads(_seal(key))
    der = base64.b64decode(document["signature"])
    r, s = decode_dss_signature(der)
    for bad in (der + b"\x00", b"\x30\x81" + der[1:]):
        with pytest.raises(ValueError, match="DER"):
            signature_bytes(base64.b64encode(bad).decode())
    assert signature_bytes(document["signature"]) == der == encode_dss_signature(r, s)
