"""Private keys of the local backend: ECDSA P-384, PKCS#8 PEM, 0600, optionally encrypted."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from provider.backends.local.store import PASSPHRASE_ENV
from provider.errors import KeystoreError

# cryptography is imported when a key is made or read: verifying needs neither.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def generate() -> ec.EllipticCurvePrivateKey:
    """A new P-384 key."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP384R1())


def save(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    """Write ``key`` to ``path`` (created 0600, never readable by others, atomically)."""
    from cryptography.hazmat.primitives import serialization

    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: Path, *, profile: str) -> ec.EllipticCurvePrivateKey:
    """Read a private key, refusing one that other users can read."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        pem = path.read_bytes()
    except FileNotFoundError:
        raise KeystoreError(f"the private key of profile {profile!r} is missing ({path})") from None
    except OSError as exc:
        raise KeystoreError(f"cannot read the private key of profile {profile!r}: {exc}") from None
    if mode & 0o077:
        raise KeystoreError(
            f"the private key of profile {profile!r} is accessible by other users (mode "
            f"{mode:04o}); fix it with: chmod 600 {path}"
        )
    encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
    passphrase = _passphrase()
    if encrypted and not passphrase:
        raise KeystoreError(
            f"the private key of profile {profile!r} is encrypted: set {PASSPHRASE_ENV}"
        )
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase if encrypted else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            # A wrong passphrase and a damaged encrypted file look the same to the parser.
            raise KeystoreError(
                f"cannot decrypt the private key of profile {profile!r} ({path}): wrong "
                f"{PASSPHRASE_ENV}, or the key file is damaged"
            ) from None
        raise KeystoreError(
            f"the private key file of profile {profile!r} is damaged: {path} is not a "
            "readable PEM private key (restore it from a backup; without it this profile "
            "version cannot sign)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeystoreError(f"the key file of profile {profile!r} is not an ECDSA key")
    return key
