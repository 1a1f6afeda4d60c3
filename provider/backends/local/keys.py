"""Private keys of the local backend: ECDSA P-384, PKCS#8 PEM, 0600, optionally encrypted."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from provider.errors import KeystoreError

# cryptography is imported when a key is made or read: verifying needs neither.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

#: The passphrase that encrypts the keystore's private keys, when set.
PASSPHRASE_ENV = "CODESIGN_PASSPHRASE"


def refuse_symlink(path: Path, what: str) -> None:
    """Refuse ``path`` (a key file or key directory, described by ``what``) when it is a
    symbolic link: a key must be the keystore's own file, never a pointer to another
    profile's or another keystore's (signing would succeed with the wrong key)."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise KeystoreError(f"cannot read {what} ({path}): {exc.strerror}") from None
    if is_link:
        try:
            target = f" -> {os.readlink(path)}"
        except OSError:
            target = ""
        raise KeystoreError(
            f"{what} is a symbolic link ({path}{target}); the keystore refuses linked key "
            "files and key directories: put the file or directory itself there (restore it "
            "from a backup)"
        )


def read_private_file(path: Path, what: str) -> tuple[bytes, int]:
    """The bytes and permission bits of a key file, opened without following a symbolic
    link (refused, naming ``path``); ``FileNotFoundError`` when it is missing."""
    refuse_symlink(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # made a link since the check
            refuse_symlink(path, what)
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeystoreError(f"{what} is not a regular file ({path})")
        return handle.read(), stat.S_IMODE(info.st_mode)


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
    refuse_symlink(path.parent, "the key directory")
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
    """Read a private key, refusing one that other users can read, and a key file or key
    directory that is a symbolic link."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    refuse_symlink(path.parent, f"the key directory of profile {profile!r}")
    try:
        pem, mode = read_private_file(path, f"the private key of profile {profile!r}")
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
