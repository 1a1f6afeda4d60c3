"""A local backend in ``tmp_path`` with one Active signing profile, and signing helpers:
fixtures shared by the tests of the local backend (tests/backends/local) and of the core
that signs with it (tests/provider); each directory's conftest imports them. Also
:func:`flip_code_byte`, the tampering the packaging and CDK tests do to a signed package."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from provider.validity import ValidityPeriod
from provider.verdict import CscPolicy, Verdict

#: The instant the fixtures act at: every test passes time in explicitly.
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def flip_code_byte(package: Path, member: str = "app.py") -> None:
    """Flip one bit inside ``member``'s stored (compressed) data: a package tampered with
    after signing, whose zip still reads."""
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo(member)
    data = bytearray(package.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0x01
    package.write_bytes(bytes(data))


@dataclass
class Keystore:
    """A LocalBackend with an Active profile ``publisher`` and a place to write packages."""

    backend: LocalBackend
    profile: dict[str, Any]
    workdir: Path

    @property
    def arn(self) -> str:
        """The profile version ARN of ``publisher``."""
        return str(self.profile["profileVersionArn"])

    def add_profile(
        self, name: str, *, validity: ValidityPeriod | None = None, now: datetime = T0
    ) -> dict[str, Any]:
        """Put another signing profile."""
        return self.backend.put_signing_profile(name, validity=validity, now=now)

    def sign(
        self,
        source: Path,
        *,
        profile: str = "publisher",
        now: datetime = T0,
        token: str | None = None,
        prefix: str = "",
    ) -> dict[str, Any]:
        """Sign ``source`` into ``workdir/signed``; returns the described job (any status)."""
        return self.backend.sign_package(
            source,
            str(self.workdir / "signed"),
            profile,
            client_request_token=token,
            now=now,
            prefix=prefix,
        )

    def signed(self, source: Path, **options: Any) -> Path:
        """Sign ``source`` and return the signed package's path (the job must succeed)."""
        job = self.sign(source, **options)
        assert job["status"] == "Succeeded", job
        return Path(job["signedObject"]["path"])

    def policy(self, policy: str, *arns: str) -> CscPolicy:
        """A CSC policy allowing ``arns`` (default: ``publisher``'s version ARN)."""
        return CscPolicy(arns or (self.arn,), policy)

    def evaluate(
        self, package: Path, policy: str, *, at: datetime = T0, arns: tuple[str, ...] = ()
    ) -> Verdict:
        """The local backend's verdict for ``package`` under a ``policy`` CSC allowing
        ``arns`` (default: ``publisher``)."""
        return self.backend.evaluate_package(package, self.policy(policy, *arns), at=at)


@pytest.fixture
def backend(home: Path) -> LocalBackend:
    """An empty local backend in a fresh keystore."""
    return LocalBackend(home)


@pytest.fixture
def ks(backend: LocalBackend, tmp_path: Path) -> Keystore:
    """The local backend with an Active signing profile named ``publisher``."""
    profile = backend.put_signing_profile("publisher", now=T0)
    return Keystore(backend, profile, tmp_path)
