"""Deterministic .zip packages from source directories, and content digests of sources.

The same tree always gives the same bytes on the same machine: entries sorted by path,
fixed timestamps (1980-01-01), fixed modes (0644, or 0755 when the owner may execute),
no directory entries, no comment, each member deflated by :mod:`provider.deflate` (or
stored when deflate would not make it smaller). The zip is written here, in one pass: each
file is read once, its CRC-32 and deflate computed, and the archive's SHA-384 (the digest
a signature covers) is taken while it is written.

"Has the source changed?" is answered by :func:`source_hash`, the source's *content
digest* (names, modes and contents; never the compressed bytes), so a faster compressor,
a new version of it or another machine never makes unchanged code look changed.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from provider.deflate import implementation
from provider.errors import ValidationError

#: Never packaged: caches, VCS data, build and deploy tools' own directories.
_SKIPPED_DIRS = {"__pycache__", ".git", ".aws-sam", ".pulumi", ".sam-ext"}

# MS-DOS time and date of 1980-01-01 00:00, the earliest a zip can say.
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1
_STORED, _DEFLATED = 0, 8
_UTF8_FLAG = 0x800
_MADE_BY_UNIX_20 = (3 << 8) | 20
_LFH = struct.Struct("<4s5H3L2H")
_CDH = struct.Struct("<4s6H3L5H2L")
_EOCD = struct.Struct("<4s4H2LH")
#: Beyond these a zip needs zip64 extensions, which signed packages do not use.
_MAX_ENTRIES, _MAX_OFFSET = 0xFFFF, 0xFFFFFFFF
_TREE_HEADER = b"lambda-codesign source tree v1\n"


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(archive name, path)`` for every regular file under ``root``, sorted.

    Symlinks are followed only while they stay inside ``root``; one that leaves it is
    refused, so packaging never reads outside the source tree.
    """
    resolved_root = root.resolve()
    found: list[tuple[str, Path]] = []
    prefix = len(str(root).rstrip(os.sep)) + 1
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            relative = path[prefix:].replace(os.sep, "/")
            if not os.path.islink(path):
                # A plain file below a directory os.walk entered without following links.
                if os.path.isfile(path):
                    found.append((relative, Path(path)))
                continue
            target = Path(path).resolve()
            if not target.is_relative_to(resolved_root):
                raise ValidationError(
                    f"source {str(root)!r}: {relative} links outside the source directory "
                    f"(to {target})"
                )
            if target.is_file():
                found.append((relative, target))
    return iter(sorted(found))


def _read(path: Path) -> tuple[bytes, int]:
    """A file's bytes and its zip mode (0644, or 0755 when the owner may execute)."""
    with path.open("rb") as handle:
        mode = 0o755 if os.fstat(handle.fileno()).st_mode & stat.S_IXUSR else 0o644
        return handle.read(), mode


def _tree_entry(name: str, mode: int, data: bytes) -> bytes:
    """One file's line of the content digest: name, mode, size and SHA-256 of the bytes
    (length-prefixed fields, so no two trees share a digest input)."""
    encoded = name.encode()
    return (
        struct.pack("<IHQ", len(encoded), mode, len(data)) + encoded + hashlib.sha256(data).digest()
    )


@dataclass(frozen=True)
class BuiltPackage:
    """A zip written by :func:`build_package`, with what was computed while writing it."""

    data: bytes
    #: SHA-384 of ``data``, which has no comment: exactly the digest a signature covers.
    sha384: str
    #: :func:`source_hash` of the tree (independent of the compressor).
    content_digest: str
    members: int


def build_package(root: Path) -> BuiltPackage:
    """Zip a directory deterministically, hashing the zip and the content as it goes."""
    if not root.is_dir():
        raise ValidationError(f"source {str(root)!r} is not a directory")
    deflate = implementation()
    zip_hash = hashlib.sha384()
    tree_hash = hashlib.sha384(_TREE_HEADER)
    pieces: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, path in _files(root):
        data, mode = _read(path)
        tree_hash.update(_tree_entry(name, mode, data))
        crc = deflate.crc32(data)
        compressed = deflate.compress(data)
        method = _DEFLATED
        if len(compressed) >= len(data):
            compressed, method = data, _STORED
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode(), _UTF8_FLAG
        # The fields a central directory entry repeats from its local header (APPNOTE
        # 4.3.7 and 4.3.12): version needed, flags, method, time, date, sizes, name length.
        sizes = (len(compressed), len(data), len(encoded))
        shared = (20, flags, method, _DOS_TIME, _DOS_DATE, crc, *sizes)
        header = _LFH.pack(b"PK\x03\x04", *shared, 0) + encoded
        attributes = (stat.S_IFREG | mode) << 16
        central.append(
            _CDH.pack(b"PK\x01\x02", _MADE_BY_UNIX_20, *shared, 0, 0, 0, 0, attributes, offset)
            + encoded
        )
        for piece in (header, compressed):
            zip_hash.update(piece)
            pieces.append(piece)
        offset += len(header) + len(compressed)
        if offset > _MAX_OFFSET or len(central) > _MAX_ENTRIES:
            raise ValidationError(
                f"source {str(root)!r} is too large for a zip package (over 4 GiB or "
                f"{_MAX_ENTRIES} files)"
            )
    if not central:
        raise ValidationError(f"source {str(root)!r} has no files to package")
    directory = b"".join(central)
    end = _EOCD.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
    for piece in (directory, end):
        zip_hash.update(piece)
        pieces.append(piece)
    return BuiltPackage(b"".join(pieces), zip_hash.hexdigest(), tree_hash.hexdigest(), len(central))


def zip_directory(root: Path) -> bytes:
    """The deterministic .zip of a directory's files."""
    return build_package(root).data


def package_bytes(source: Path) -> bytes:
    """The unsigned package for ``source``: a directory is zipped, a .zip is read as is."""
    if source.is_dir():
        return zip_directory(source)
    if source.is_file():
        return source.read_bytes()
    raise ValidationError(f"source {str(source)!r} does not exist")


def source_hash(source: Path) -> str:
    """What decides whether code changed: for a directory, the SHA-384 of its files'
    names, modes and contents (nothing is zipped to compute it); for a .zip, the SHA-384
    of the file (it is packaged as is)."""
    if source.is_dir():
        tree_hash = hashlib.sha384(_TREE_HEADER)
        count = 0
        for name, path in _files(source):
            data, mode = _read(path)
            tree_hash.update(_tree_entry(name, mode, data))
            count += 1
        if count == 0:
            raise ValidationError(f"source {str(source)!r} has no files to package")
        return tree_hash.hexdigest()
    if source.is_file():
        with source.open("rb") as handle:
            return hashlib.file_digest(handle, "sha384").hexdigest()
    raise ValidationError(f"source {str(source)!r} does not exist")
