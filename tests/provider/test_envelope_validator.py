"""The envelope validator on the verification path accepts and rejects exactly what
schemas/signature-envelope.schema.json does (checked with jsonschema, by hypothesis)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategies import json_values as json_values_of
from schema_strategies import near

from provider import envelope, schemas

VALID: dict[str, Any] = {
    "formatVersion": 1,
    "platformId": "AWSLambda-SHA384-ECDSA",
    "profileName": "team_a",
    "profileVersion": "AbCdE12345",
    "profileVersionArn": (
        "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a/AbCdE12345"
    ),
    "jobId": "5f0c6a9e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
    "jobOwner": "000000000000",
    "signedAt": "2026-12-01T09:00:00Z",
    "signatureExpiresAt": "2038-03-01T09:00:00.123456+01:00",
    "digestAlgorithm": "SHA-384",
    "digest": "0" * 96,
    "signatureAlgorithm": "ECDSA-P384-SHA384",
    "publicKey": "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE",
    "signature": "MGUCMQ==",
}


def _schema_accepts(document: Any) -> bool:
    return not list(schemas.validator("signature-envelope").iter_errors(document))


def _ours_accepts(document: Any) -> bool:
    return envelope.envelope_error(document) is None


json_values = json_values_of([1.0, 0.0, -1.0, 1, True, False])


def _near(text: str) -> st.SearchStrategy[str]:
    """Near-valid strings with the tricky characters of the envelope's patterns (newline
    before ``$``, non-ASCII digits, padding)."""
    return near(text, ["\n", " ", "=", "==", "===", "+", "/", "-", "_", "٣", "Z", ".", ":"])


def _field_values(field: str) -> st.SearchStrategy[Any]:
    value = VALID[field]
    if isinstance(value, str):
        return st.one_of(_near(value), json_values)
    return st.one_of(st.just(value), json_values)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """Valid envelopes with a few fields changed, dropped or added; sometimes not an
    object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    document = dict(VALID)
    for field in draw(st.lists(st.sampled_from(sorted(VALID)), max_size=3, unique=True)):
        action = draw(st.integers(0, 5))
        if action == 0:
            del document[field]
        else:
            document[field] = draw(_field_values(field))
    if draw(st.booleans()) and draw(st.booleans()):
        document[draw(st.text(max_size=8))] = draw(json_values)
    return document


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_accepts_and_rejects_exactly_what_the_schema_does(document: Any) -> None:
    assert _ours_accepts(document) == _schema_accepts(document), document


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(envelope.PATTERNS)), st.data())
def test_strings_generated_from_each_pattern_are_judged_alike(field: str, data: Any) -> None:
    value = data.draw(st.from_regex(envelope.PATTERNS[field]))
    document = {**VALID, field: value}
    assert _ours_accepts(document) == _schema_accepts(document), document


def test_a_valid_envelope_passes_and_every_field_is_named_when_wrong() -> None:
    assert _schema_accepts(VALID) and _ours_accepts(VALID)
    for field in envelope.REQUIRED:
        missing = {k: v for k, v in VALID.items() if k != field}
        error = envelope.envelope_error(missing)
        assert error is not None and field in error
        wrong = {**VALID, field: ["not", "this"]}
        error = envelope.envelope_error(wrong)
        assert error is not None and field in error


def test_constants_compare_as_json_schema_compares_them() -> None:
    """``const: 1`` takes 1.0 (numbers compare by value) but not ``true``."""
    for value, accepted in ((1, True), (1.0, True), (True, False), ("1", False), (2, False)):
        document = {**VALID, "formatVersion": value}
        assert _schema_accepts(document) is accepted
        assert _ours_accepts(document) is accepted


def test_the_validators_rules_are_the_schemas_own() -> None:
    """The patterns, constants, required fields and bounds are those of the schema files,
    so the two cannot drift apart unnoticed."""
    directory = schemas.schema_dir()
    schema = json.loads((directory / "signature-envelope.schema.json").read_text())
    common = json.loads((directory / "common.schema.json").read_text())["$defs"]
    properties = schema["properties"]

    def resolved(field: str) -> dict[str, Any]:
        spec = properties[field]
        if "$ref" in spec:
            return dict(common[spec["$ref"].rsplit("/", 1)[1]])
        return dict(spec)

    assert tuple(schema["required"]) == envelope.REQUIRED
    assert set(properties) == envelope.FIELDS
    assert schema["additionalProperties"] is False and schema["type"] == "object"
    for field in properties:
        spec = resolved(field)
        if "const" in spec:
            assert envelope.CONSTANTS[field] == spec["const"], field
        elif "pattern" in spec:
            assert envelope.PATTERNS[field] == spec["pattern"], field
            assert spec["type"] == "string"
        else:
            assert field == "jobId"
            assert spec == {"type": "string", "minLength": 1, "maxLength": 128}
            assert envelope.JOB_ID_LENGTH == (1, 128)
    assert set(envelope.CONSTANTS) | set(envelope.PATTERNS) | {"jobId"} == envelope.FIELDS


def test_public_keys_load_alike_by_the_fast_path_and_by_der() -> None:
    """The envelope's key is read without cryptography's serialization module when it is
    the uncompressed P-384 SubjectPublicKeyInfo that signing writes; anything else goes
    through the DER loader, and an off-curve point is refused either way."""
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    written = envelope.public_key_b64(key)
    assert envelope.load_public_key(written).public_numbers() == key.public_numbers()
    compressed = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    spki_compressed = bytes.fromhex("3046301006072a8648ce3d020106052b81040022033200") + compressed
    loaded = envelope.load_public_key(base64.b64encode(spki_compressed).decode())
    assert loaded.public_numbers() == key.public_numbers()
    off_curve = bytearray(base64.b64decode(written))
    off_curve[-1] ^= 1
    with pytest.raises(ValueError):
        envelope.load_public_key(base64.b64encode(bytes(off_curve)).decode())
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ValueError, match="P-384"):
        envelope.load_public_key(envelope.public_key_b64(p256))
