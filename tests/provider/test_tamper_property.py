"""No change to a signed package's bytes is ever deployed, even under the Warn policy.

The verdicts here are computed in memory (``facts_from_bytes``) against a real local
keystore, so thousands of variants stay fast.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provider.backends.local import LocalBackend
from provider.inspect_package import facts_from_bytes
from provider.verdict import (
    INTEGRITY_EXCEPTION,
    MALFORMED_EXCEPTION,
    CscPolicy,
    Decision,
    Verdict,
    decide,
)

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BOUNDED = settings(max_examples=300, deadline=None, derandomize=True, database=None)

# A module-scoped fixture cannot use the function-scoped make_zip; same files as HELLO_FILES.
FILES = {
    "app.py": b"def handler(event, context):\n    return {'statusCode': 200}\n",
    "lib/util.py": b"VALUE = 42\n" * 20,
}


@dataclass(frozen=True)
class SignedFixture:
    backend: LocalBackend
    csc: CscPolicy
    packages: tuple[bytes, ...]

    def verdict(self, data: bytes) -> Verdict:
        return decide(facts_from_bytes(data, self.backend), self.csc, T0)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedFixture]:
    """One keystore and two signed packages (stored and deflated members)."""
    root = tmp_path_factory.mktemp("tamper")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CODESIGN_PASSPHRASE", raising=False)
        backend = LocalBackend(root / "keystore")
        profile = backend.put_signing_profile("publisher", now=T0)
        packages = []
        for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            source = root / f"src{compression}.zip"
            with zipfile.ZipFile(source, "w", compression) as archive:
                for name, content in FILES.items():
                    archive.writestr(name, content)
            job = backend.sign_package(source, str(root / "out"), "publisher", now=T0)
            packages.append(Path(job["signedObject"]["path"]).read_bytes())
        fixture = SignedFixture(
            backend, CscPolicy((profile["profileVersionArn"],), "Warn"), tuple(packages)
        )
        for package in fixture.packages:  # the baseline: unchanged packages are allowed
            assert fixture.verdict(package).decision is Decision.ALLOW
        yield fixture


def _never_deployed(verdict: Verdict) -> None:
    assert verdict.decision is Decision.REJECT, verdict.message
    assert verdict.exception in (INTEGRITY_EXCEPTION, MALFORMED_EXCEPTION)
    assert verdict.checks["integrity"] == "FAILED"


def test_flipping_any_bit_of_any_byte_is_rejected(signed):
    package = signed.packages[1]
    for offset in range(len(package)):
        for bit in range(8):
            changed = bytearray(package)
            changed[offset] ^= 1 << bit
            _never_deployed(signed.verdict(bytes(changed)))


def test_every_truncation_is_rejected(signed):
    package = signed.packages[0]
    for length in range(len(package)):
        _never_deployed(signed.verdict(package[:length]))


@st.composite
def _mutations(draw: st.DrawFn) -> tuple[int, list[tuple[str, int, bytes]]]:
    which = draw(st.integers(0, 1))
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["flip", "overwrite", "truncate", "append", "insert", "delete"]),
                st.integers(min_value=0, max_value=1 << 20),
                st.binary(min_size=1, max_size=16),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return which, steps


def _apply(data: bytes, steps: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, position, payload in steps:
        offset = position % (len(out) + 1)
        if kind == "flip" and out:
            out[offset % len(out)] ^= payload[0] or 0x01
        elif kind == "overwrite":
            out[offset : offset + len(payload)] = payload
        elif kind == "truncate":
            del out[offset:]
        elif kind == "append":
            out += payload
        elif kind == "insert":
            out[offset:offset] = payload
        elif kind == "delete":
            del out[offset : offset + len(payload)]
    return bytes(out)


@BOUNDED
@given(mutation=_mutations())
def test_random_changes_are_never_allowed_or_warned_under_warn(signed, mutation):
    which, steps = mutation
    original = signed.packages[which]
    changed = _apply(original, steps)
    if changed == original:  # the steps cancelled out: nothing to detect
        return

    _never_deployed(signed.verdict(changed))
