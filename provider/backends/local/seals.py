"""Keyed records that prove a signed object unchanged since it was last verified or made.

Re-verifying a cached signed object costs its SHA-384 and an ECDSA check. A *seal* is a
record of the file's identity as the kernel keeps it (device, inode, size, modification
and status-change times, in nanoseconds) and of the signature facts, under an HMAC-SHA256
whose key lives in the keystore (``keys/record-mac.key``, 0600). Any write to the file,
a rename over it or a ``touch`` changes its status-change time, which no unprivileged
process can set back; so a seal that still matches proves the bytes are the ones that
were checked, and one that does not is simply ignored (the object is verified in full,
and sealed anew). Someone without the keystore cannot make a seal for a file they changed.

A seal is only made for a file whose status-change time is older than the clock's
granularity, so a change in the same clock tick as the seal cannot go unseen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

from provider.backends.local.keys import read_private_file

#: 2 since signatures are accepted in low-S form only: a seal of version 1 may vouch for
#: an object signed before, which must be verified in full again (and signed anew).
_VERSION = 2
_KEY_NAME = "record-mac.key"
#: Older than this, a file's times cannot share a clock tick with a later change (Linux
#: timestamps tick at most every 10 ms); coarse file systems get :data:`_COARSE_MARGIN_NS`.
MARGIN_NS = 20_000_000
_COARSE_MARGIN_NS = 2_100_000_000


def _identity(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _margin(identity: list[int]) -> int:
    # Whole seconds on both times: a file system without sub-second times (FAT, some
    # network ones) may tick every 2 s.
    coarse = identity[3] % 1_000_000_000 == 0 and identity[4] % 1_000_000_000 == 0
    return _COARSE_MARGIN_NS if coarse else MARGIN_NS


def wait_until_sealable(paths: list[Path]) -> None:
    """Sleep until every file is old enough to be sealed (at most a margin)."""
    newest = [(identity[4], _margin(identity)) for p in paths if (identity := _identity(p))]
    if newest:
        ready_at = max(ctime + margin for ctime, margin in newest)
        delay = ready_at - time.time_ns()
        if 0 < delay <= MARGIN_NS:
            time.sleep(delay / 1e9)


def mac_key(keys_dir: Path) -> bytes:
    """The keystore's record key, made (randomly, 0600) on first use."""
    path = keys_dir / _KEY_NAME
    what = "the keystore's record key"
    try:
        return read_private_file(path, what)[0]  # never through a symbolic link
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{_KEY_NAME}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)  # the first writer wins; everyone reads its key
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return read_private_file(path, what)[0]


def _mac(key: bytes, path: Path, identity: list[int], facts: dict[str, str], bound_to: str) -> str:
    message = json.dumps(
        [_VERSION, str(path.resolve()), identity, facts, bound_to],
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


#: The signature facts a seal carries (the envelope's names).
FACTS = ("profileVersionArn", "jobId", "signedAt", "signatureExpiresAt")


def make_seal(
    key: bytes, path: Path, facts: dict[str, str], bound_to: str
) -> dict[str, Any] | None:
    """A seal of ``path`` with ``facts`` (see :data:`FACTS`), bound to ``bound_to`` (what
    the object stands for, e.g. a cache key); ``None`` if the file is too fresh or gone."""
    identity = _identity(path)
    if identity is None or identity[4] > time.time_ns() - _margin(identity):
        return None
    chosen = {name: str(facts[name]) for name in FACTS}
    return {"v": _VERSION, **chosen, "mac": _mac(key, path, identity, chosen, bound_to)}


def check_seal(key: bytes, path: Path, seal: Any, bound_to: str) -> dict[str, str] | None:
    """The facts of a seal that still matches the file, else ``None``."""
    if not isinstance(seal, dict) or seal.get("v") != _VERSION:
        return None
    facts = {name: seal.get(name) for name in FACTS}
    if not all(isinstance(value, str) for value in facts.values()):
        return None
    identity = _identity(path)
    mac = seal.get("mac")
    if identity is None or not isinstance(mac, str):
        return None
    expected = _mac(key, path, identity, facts, bound_to)  # type: ignore[arg-type]
    return facts if hmac.compare_digest(expected, mac) else None  # type: ignore[return-value]
