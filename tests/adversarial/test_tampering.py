"""No tampered package is ever allowed or warned: 10,000+ seeded random mutations.

Each mutation of a signed package must be rejected as an integrity failure
(``InvalidCodeSignatureException``) or as a malformed package, under the *Warn* policy,
where anything merely untrusted would deploy.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.inspect_package import facts_from_bytes
from provider.package import SIGNATURE_MEMBER
from provider.verdict import Check, CscPolicy, Decision, decide

SEED = 20261128
MUTATIONS = 10_500
NOW = parse_instant("2026-06-01T00:00:00Z", field="now")


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, LocalBackend, CscPolicy]:
    home = tmp_path_factory.mktemp("tamper")
    backend = LocalBackend(home / "home")
    profile = backend.put_signing_profile(
        "tamper_test", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=NOW
    )
    source = home / "app.zip"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'ok'\n" * 20)
        archive.writestr("lib/util.py", "VALUE = 42\n")
        archive.writestr("data.json", '{"k": "v"}')
    job = backend.sign_package(source, str(home / "out"), "tamper_test", now=NOW)
    data = Path(job["signedObject"]["path"]).read_bytes()
    return data, backend, CscPolicy((profile["profileVersionArn"],), "Warn")


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def _rezip(
    data: bytes,
    rng: random.Random,
    *,
    reorder: bool = False,
    rename: bool = False,
    extra: bool = False,
    comment: bool = False,
) -> bytes:
    members = _members(data)
    if reorder:
        rng.shuffle(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for index, (info, content) in enumerate(members):
            new = zipfile.ZipInfo(info.filename, date_time=(2020 + rng.randrange(5), 1, 1, 0, 0, 0))
            new.compress_type = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
            if rename and index == len(members) - 1:
                new.filename = info.filename + rng.choice(["x", ".bak", "_"])
            if extra:
                new.extra = b"\xfe\xca\x02\x00" + bytes([rng.randrange(256), rng.randrange(256)])
            archive.writestr(new, content)
        if comment:
            archive.comment = rng.choice([b"", b"lambda-codesign signed package v1", b"edited"])
    return out.getvalue()


def _mutators(rng: random.Random) -> dict[str, Callable[[bytes], bytes]]:
    def flip(d: bytes) -> bytes:
        b = bytearray(d)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)

    def overwrite(d: bytes) -> bytes:
        b = bytearray(d)
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)

    def truncate(d: bytes) -> bytes:
        return d[: rng.randrange(len(d))]

    def append(d: bytes) -> bytes:
        return d + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))

    def insert(d: bytes) -> bytes:
        at = rng.randrange(len(d))
        return d[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))) + d[at:]

    def delete(d: bytes) -> bytes:
        at = rng.randrange(len(d))
        return d[:at] + d[at + rng.randrange(1, 16) :]

    def edit_comment(d: bytes) -> bytes:
        # Rewrite the end record's comment (and its length field) to something else.
        eocd = d.rfind(b"PK\x05\x06")
        comment = rng.choice([b"", b"x", b"lambda-codesign signed package v2", b"\x00" * 40])
        return d[: eocd + 20] + len(comment).to_bytes(2, "little") + comment

    def rename_in_place(d: bytes) -> bytes:
        # Change one character of a member name in the central directory or local header.
        name = rng.choice([b"app.py", b"lib/util.py", SIGNATURE_MEMBER.encode()])
        positions = [i for i in range(len(d)) if d.startswith(name, i)]
        at = rng.choice(positions) + rng.randrange(len(name))
        b = bytearray(d)
        b[at] = ord(rng.choice("abcdefgXYZ_"))
        return bytes(b)

    return {
        "bit flip": flip,
        "overwrite": overwrite,
        "truncate": truncate,
        "append": append,
        "insert": insert,
        "delete": delete,
        "edit zip comment": edit_comment,
        "rename member in place": rename_in_place,
        "re-zip same files": lambda d: _rezip(d, rng),
        "re-zip reordered": lambda d: _rezip(d, rng, reorder=True),
        "re-zip renamed signature": lambda d: _rezip(d, rng, rename=True),
        "re-zip with extra fields": lambda d: _rezip(d, rng, extra=True),
        "re-zip with comment": lambda d: _rezip(d, rng, comment=True),
    }


def test_no_mutation_is_allowed_or_warned(signed: tuple[bytes, LocalBackend, CscPolicy]) -> None:
    data, backend, warn_policy = signed
    assert decide(facts_from_bytes(data, backend), warn_policy, NOW).decision is Decision.ALLOW
    rng = random.Random(SEED)
    mutators = _mutators(rng)
    names = sorted(mutators)
    tried: Counter[str] = Counter()
    for _ in range(MUTATIONS):
        kind = rng.choice(names)
        mutated = mutators[kind](data)
        if mutated == data:
            continue
        tried[kind] += 1
        verdict = decide(facts_from_bytes(mutated, backend), warn_policy, NOW)
        assert verdict.decision is Decision.REJECT, (kind, verdict.message)
        assert verdict.checks[Check.INTEGRITY] == "FAILED", (kind, verdict.message)
        assert verdict.exception in {
            "InvalidCodeSignatureException",
            "InvalidParameterValueException",
        }
    assert sum(tried.values()) >= 10_000
    assert set(tried) == set(names), "every kind of mutation was exercised"
