"""A signed package has one byte form: every rewrite of its signature member that still
verifies is refused as an integrity failure.

The signature member (``.codesign/signature.json``) is outside the signed bytes: it holds
the signature. Each variant below rewrites it so that the *code is unchanged and a lenient
verifier would still accept it* (the same (r, s) in another spelling, or (r, n - s), or the
same JSON document in other bytes), and re-assembles a well-formed package around it, as
an attacker who can write the artifact directory would. Each must be rejected with
``InvalidCodeSignatureException`` under the Warn policy, where anything merely untrusted
would deploy (every verifier, trust files and the endpoint included, reads the envelope
through the same :func:`provider.envelope.open_envelope`).
"""

from __future__ import annotations

import base64
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.envelope import (
    P384_ORDER,
    canonical_json,
    ecdsa_sha384,
    load_public_key,
    open_envelope,
    sign_low_s,
)
from provider.errors import ValidationError
from provider.package import SIGNATURE_MEMBER, assemble_signed, prepare_unsigned, read_layout
from provider.verdict import INTEGRITY_EXCEPTION, CscPolicy, Decision

NOW = parse_instant("2026-06-01T00:00:00Z", field="now")


@dataclass(frozen=True)
class Signed:
    """One validly signed package: its source, the package, and its envelope."""

    source: Path
    package: Path
    envelope: bytes

    @property
    def document(self) -> dict[str, Any]:
        return dict(json.loads(self.envelope))

    @property
    def signature(self) -> str:
        return str(self.document["signature"])


@dataclass(frozen=True)
class Keystore:
    """A keystore with one profile, the packages it signed and a Warn policy allowing it."""

    backend: LocalBackend
    policy: CscPolicy
    #: Signed packages whose signatures cover every base64 padding case (none, "=", "==")
    #: and contain "+" or "/" (so the URL-safe alphabet differs).
    by_padding: dict[int, Signed]
    workdir: Path


@pytest.fixture(scope="module")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> Keystore:
    home = tmp_path_factory.mktemp("encodings")
    backend = LocalBackend(home / "home")
    profile = backend.put_signing_profile("encodings", now=NOW)
    source = home / "app.zip"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    job = backend.sign_package(source, str(home / "out"), "encodings", now=NOW)
    package = Path(job["signedObject"]["path"])
    layout = read_layout(package.read_bytes())
    assert layout is not None
    # A low-S DER P-384 signature is 103 bytes about half the time (base64 ends "=="),
    # 102 (no padding) or, rarely (r or s below 2**376), 101 ("="). Signing is randomised:
    # sign the same envelope again with the profile's key until each case is met, each
    # with a "+" or "/" (so the URL-safe alphabet differs).
    document = json.loads(layout.envelope)
    payload = canonical_json({key: value for key, value in document.items() if key != "signature"})
    private_key = backend.store.private_key("encodings", profile["profileVersion"])
    unsigned = prepare_unsigned(source.read_bytes())
    by_padding: dict[int, Signed] = {}
    for _ in range(20_000):
        signature = base64.b64encode(sign_low_s(private_key, payload)).decode()
        pad = signature.count("=")
        if pad not in by_padding and re.search("[+/]", signature):
            envelope = canonical_json({**document, "signature": signature})
            signed_path = home / f"signed-{pad}.zip"
            signed_path.write_bytes(assemble_signed(unsigned, envelope))
            by_padding[pad] = Signed(source, signed_path, envelope)
            if len(by_padding) == 3:
                break
    assert sorted(by_padding) == [0, 1, 2], sorted(by_padding)
    policy = CscPolicy((profile["profileVersionArn"],), "Warn")
    return Keystore(backend, policy, by_padding, home)


# --- the variants ----------------------------------------------------------------------------
def _with_signature(signed: Signed, signature: str) -> bytes:
    """The envelope with another ``signature`` string, in canonical JSON."""
    return canonical_json({**signed.document, "signature": signature})


def _high_s(signed: Signed) -> bytes:
    r, s = decode_dss_signature(base64.b64decode(signed.signature))
    flipped = encode_dss_signature(r, P384_ORDER - s)
    return _with_signature(signed, base64.b64encode(flipped).decode())


def _padding_bits(signed: Signed) -> bytes:
    """The last character before the padding with its unused (padding) bits set: the
    lenient decoder drops them, so the bytes are the same."""
    text = signed.signature
    body = text.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    unused = {1: 2, 2: 4}[len(text) - len(body)]  # bits of the last character not used
    last = alphabet.index(body[-1]) | ((1 << unused) - 1)
    return _with_signature(signed, body[:-1] + alphabet[last] + text[len(body) :])


def _in_signature(change: Callable[[str], str]) -> Callable[[Signed], bytes]:
    """A variant that spells the signature string otherwise (in canonical JSON)."""
    return lambda signed: _with_signature(signed, change(signed.signature))


def _in_json(change: Callable[[Signed], bytes]) -> Callable[[Signed], bytes]:
    """A variant that writes the same JSON document in other bytes (a label only)."""
    return change


def _escaped_signature_character(signed: Signed) -> bytes:
    """A character of the signature string written as a JSON unicode escape."""
    raw = signed.envelope.decode()
    start = raw.index('"signature":"') + len('"signature":"')
    return (raw[:start] + f"\\u{ord(raw[start]):04x}" + raw[start + 1 :]).encode()


def _escaped_key_name(signed: Signed) -> bytes:
    return signed.envelope.replace(b'"jobId"', b'"\\u006aobId"', 1)


def _escaped_solidus(signed: Signed) -> bytes:
    """JSON may write "/" as "\\/": the same string."""
    raw = signed.envelope.decode()
    start = raw.index('"signature":"')
    head, tail = raw[:start], raw[start:]
    assert "/" in tail or "/" in head
    return (head.replace("/", "\\/") + tail.replace("/", "\\/")).encode()


def _reordered(signed: Signed) -> bytes:
    document = signed.document
    return json.dumps(
        dict(reversed(list(document.items()))), separators=(",", ":"), ensure_ascii=False
    ).encode()


def _duplicate_signature(signed: Signed) -> bytes:
    """A second "signature" member first: the parser keeps the last."""
    return signed.envelope.replace(b"{", b'{"signature":"AAAA",', 1)


#: How each variant spells the same signature or document. Every one of them is accepted
#: by a lenient verifier (see _lenient_verifies) and must be refused by ours.
VARIANTS: dict[str, Callable[[Signed], bytes]] = {
    "high-S (r, n - s)": _high_s,
    "non-zero base64 padding bits": _padding_bits,
    "trailing newline in the signature": _in_signature(lambda t: t + "\n"),
    "trailing CRLF in the signature": _in_signature(lambda t: t + "\r\n"),
    "leading space in the signature": _in_signature(lambda t: " " + t),
    "space inside the signature": _in_signature(lambda t: t[:8] + " " + t[8:]),
    "tab inside the signature": _in_signature(lambda t: t[:8] + "\t" + t[8:]),
    "signature wrapped at 64 columns (MIME)": _in_signature(
        lambda t: "\n".join(t[i : i + 64] for i in range(0, len(t), 64))
    ),
    "missing padding": _in_signature(lambda t: t.rstrip("=")),
    "one more padding character": _in_signature(lambda t: t + "="),
    "a group of padding appended": _in_signature(lambda t: t + "===="),
    "URL-safe alphabet": _in_signature(lambda t: t.replace("+", "-").replace("/", "_")),
    "unicode escape in the signature": _in_json(_escaped_signature_character),
    "unicode escape in a key name": _in_json(_escaped_key_name),
    "escaped solidus": _in_json(_escaped_solidus),
    "keys reordered": _in_json(_reordered),
    "pretty-printed JSON": _in_json(
        lambda s: json.dumps(s.document, indent=2, sort_keys=True).encode()
    ),
    "spaces after separators": _in_json(
        lambda s: json.dumps(s.document, sort_keys=True, ensure_ascii=False).encode()
    ),
    "every signature character a unicode escape": _in_json(
        lambda s: s.envelope.replace(
            json.dumps(s.signature).encode(),
            ('"' + "".join(f"\\u{ord(c):04x}" for c in s.signature) + '"').encode(),
        )
    ),
    "trailing newline after the JSON": _in_json(lambda s: s.envelope + b"\n"),
    "leading whitespace before the JSON": _in_json(lambda s: b" " + s.envelope),
    "duplicate signature member": _in_json(_duplicate_signature),
}


def _lenient_der(text: str) -> bytes:
    """What a lenient base64 reader makes of ``text``: whitespace dropped, the URL-safe
    alphabet mapped, padding restored, padding bits ignored."""
    compact = re.sub(r"\s", "", text).replace("-", "+").replace("_", "/").rstrip("=")
    return base64.b64decode(compact + "=" * (-len(compact) % 4))


def _lenient_verifies(envelope: bytes) -> bool:
    """Whether ``envelope`` verifies by the rules of a lenient verifier: any JSON spelling
    of the document, any base64 spelling of the signature, either S."""
    document = json.loads(envelope)
    payload = {key: value for key, value in document.items() if key != "signature"}
    key = load_public_key(document["publicKey"])
    key.verify(_lenient_der(document["signature"]), canonical_json(payload), ecdsa_sha384())
    return True


def _rebuilt(keystore: Keystore, signed: Signed, envelope: bytes, name: str) -> Path:
    """The signed package with ``envelope`` as its signature member, every byte around it
    made as signing makes it (a well-formed, self-consistent zip)."""
    unsigned = prepare_unsigned(signed.source.read_bytes())
    path = keystore.workdir / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.zip"
    path.write_bytes(assemble_signed(unsigned, envelope))
    return path


def test_the_packages_as_signed_are_allowed(keystore: Keystore):
    """The packages the variants start from are validly signed (so a rejection below is
    the variant's doing)."""
    for signed in keystore.by_padding.values():
        open_envelope(signed.envelope)
        verdict = keystore.backend.evaluate_package(signed.package, keystore.policy, at=NOW)
        assert verdict.decision is Decision.ALLOW, verdict.message


def test_a_package_rebuilt_around_its_own_envelope_is_the_signed_package(keystore: Keystore):
    """The rebuilding of the tests below is sound: a signed package, re-assembled around
    its own envelope, is the same bytes."""
    job = keystore.backend.sign_package(
        keystore.by_padding[0].source, str(keystore.workdir / "out"), "encodings", now=NOW
    )
    signed = Path(job["signedObject"]["path"]).read_bytes()
    layout = read_layout(signed)
    assert layout is not None
    unsigned = prepare_unsigned(keystore.by_padding[0].source.read_bytes())
    assert assemble_signed(unsigned, layout.envelope) == signed


#: Every variant on signatures with each padding (base64 without padding has no padding
#: bits, and "missing padding" is no change there).
CASES = [
    pytest.param(variant, padding, id=f"{variant} [{'=' * padding or 'no padding'}]")
    for variant in sorted(VARIANTS)
    for padding in (0, 1, 2)
    if padding or variant not in ("non-zero base64 padding bits", "missing padding")
]


@pytest.mark.parametrize(("variant", "padding"), CASES)
def test_a_rewritten_signature_member_is_an_integrity_failure(
    keystore: Keystore, variant: str, padding: int
):
    signed = keystore.by_padding[padding]
    envelope = VARIANTS[variant](signed)

    assert envelope != signed.envelope
    assert _lenient_verifies(envelope), variant  # the same signature, spelled otherwise
    with pytest.raises(ValidationError):
        open_envelope(envelope)
    package = _rebuilt(keystore, signed, envelope, f"{variant}-{padding}")
    with zipfile.ZipFile(package) as archive:  # a well-formed zip: only the member changed
        assert archive.testzip() is None
        assert archive.read(SIGNATURE_MEMBER) == envelope

    verdict = keystore.backend.evaluate_package(package, keystore.policy, at=NOW)

    assert verdict.decision is Decision.REJECT, (variant, verdict.message)
    assert verdict.exception == INTEGRITY_EXCEPTION, (variant, verdict.message)
