"""A content-addressed cache, so unchanged code is neither zipped nor signed again.

``fingerprint`` (paths, sizes, modification times) -> the unsigned package (its SHA-384
and the source's content digest), and (content digest, profile, owner) -> the signed
object: keyed by content, not by compressed bytes, so a new compressor never re-signs
unchanged code. The index is one JSON file written atomically; concurrent packagers at
worst redo work, never corrupt it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sam_ext import output

_INDEX_VERSION = 2


@dataclass(frozen=True)
class UnsignedEntry:
    """A cached unsigned package."""

    path: Path
    #: SHA-384 of the package's bytes.
    digest: str
    #: The source's content digest (:func:`provider.archive.source_hash`).
    content: str


def fingerprint(source: Path) -> str:
    """A cheap identity of a source tree or file: what changes when its content may have."""
    hasher = hashlib.sha256()
    if source.is_file():
        stat = source.stat()
        hasher.update(f"file:{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return hasher.hexdigest()
    # The directory itself is part of the identity: two trees with equal names, sizes and
    # times (e.g. extracted from one archive) must not share a package.
    hasher.update(f"dir:{source.resolve()}\n".encode())
    for directory, dirnames, filenames in os.walk(source):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            relative = path.relative_to(source).as_posix()
            hasher.update(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_mode}\n".encode())
    return hasher.hexdigest()


_DIGEST_RE = re.compile(r"^[0-9a-f]{96}$")


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _valid_signed_record(record: Any) -> bool:
    """A signed object's record: its job, expiry and place (a path, or an S3 object)."""
    if not isinstance(record, dict) or not all(
        _is_text(record.get(key)) for key in ("jobId", "signatureExpiresAt")
    ):
        return False
    if "path" in record:
        return _is_text(record["path"])
    return (
        _is_text(record.get("bucketName"))
        and _is_text(record.get("key"))
        and ("version" not in record or _is_text(record["version"]))
    )


def _damage(index: Any) -> str | None:
    """What is wrong with an index of this version, or ``None``."""
    sources, signed = index.get("sources"), index.get("signed")
    if not isinstance(sources, dict) or not isinstance(signed, dict):
        return "'sources' and 'signed' must be objects"
    for fingerprint_, entry in sources.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("zip"), str)
            or not _DIGEST_RE.match(entry["zip"])
            or not _is_text(entry.get("content"))
        ):
            return f"sources[{fingerprint_!r}] is not an unsigned package's record"
    for key, record in signed.items():
        if not _valid_signed_record(record):
            return f"signed[{key!r}] is not a signed object's record"
    return None


class PackageCache:
    """The cache of one artifact directory."""

    def __init__(self, directory: Path, *, warn: Callable[[str], None] | None = None) -> None:
        """``warn`` hears of a damaged index (default: the CLI's warning on stderr)."""
        self.directory = directory / ".cache"
        self.unsigned_dir = self.directory / "unsigned"
        self.unsigned_dir.mkdir(parents=True, exist_ok=True)
        self._index_path = self.directory / "index.json"
        self._lock = threading.Lock()
        self._warn = warn or output.warn
        self._index = self._load()

    def _load(self) -> dict[str, Any]:
        empty = {"version": _INDEX_VERSION, "sources": {}, "signed": {}}
        try:
            text = self._index_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return empty
        except OSError as exc:
            damage: str | None = f"unreadable ({exc.strerror})"
        else:
            try:
                index = json.loads(text)
            except ValueError as exc:
                damage = f"not JSON ({exc})"
            else:
                if not isinstance(index, dict):
                    damage = "not a JSON object"
                elif index.get("version") != _INDEX_VERSION:
                    return empty  # another version's index: rebuilt in this one's shape
                else:
                    damage = _damage(index)
                    if damage is None:
                        return dict(index)
        # A damaged index only costs work: every package is zipped and signed again once.
        self._warn(
            f"package cache index {self._index_path} is damaged ({damage}); rebuilding it "
            "(unchanged code is zipped and signed again this once)"
        )
        return empty

    def save(self) -> None:
        """Write the index (temporary file + rename)."""
        with self._lock:
            temporary = self._index_path.with_name(f".index.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self._index, indent=1, sort_keys=True))
            temporary.replace(self._index_path)

    def unsigned_for(self, source_fingerprint: str) -> UnsignedEntry | None:
        """The cached unsigned package of a fingerprint, if still present."""
        with self._lock:
            entry = self._index["sources"].get(source_fingerprint)
        if not isinstance(entry, dict):
            return None
        path = self.unsigned_dir / f"{entry['zip']}.zip"
        return UnsignedEntry(path, entry["zip"], entry["content"]) if path.is_file() else None

    def store_unsigned(
        self, source_fingerprint: str, data: bytes, *, digest: str, content: str
    ) -> Path:
        """Keep an unsigned package under its SHA-384 ``digest`` (computed by its writer)."""
        path = self.unsigned_dir / f"{digest}.zip"
        if not path.is_file():
            temporary = path.with_name(f".{digest}.{threading.get_ident()}.tmp")
            temporary.write_bytes(data)
            temporary.replace(path)
        with self._lock:
            self._index["sources"][source_fingerprint] = {"zip": digest, "content": content}
        return path

    @staticmethod
    def signed_key(content: str, profile: str, owner: str | None, scope: str = "") -> str:
        """The cache key of a signed object: the source's content digest and the signer
        (``scope`` names a destination other than this directory, e.g. ``s3://bucket/prefix``)."""
        key = f"{content}:{profile}:{owner or ''}"
        return f"{key}:{scope}" if scope else key

    def signed_for(self, key: str) -> dict[str, Any] | None:
        """The record of a previously signed object."""
        with self._lock:
            record = self._index["signed"].get(key)
        return dict(record) if record else None

    def store_signed(self, key: str, record: dict[str, Any]) -> None:
        """Remember a signed object."""
        with self._lock:
            self._index["signed"][key] = record
