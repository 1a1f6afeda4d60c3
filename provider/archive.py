"""Deterministic .zip packages from source directories, and content hashes of sources.

The same tree always gives the same bytes: entries sorted by path, fixed timestamps
(1980-01-01), fixed modes (0644, or 0755 when the owner may execute), deflate level 6,
no directory entries, no comment. So "has the source changed?" is a hash comparison,
and an unchanged source is never zipped, uploaded or signed again.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

from provider.errors import ValidationError

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: Never packaged: caches, VCS data, build and deploy tools' own directories.
_SKIPPED_DIRS = {"__pycache__", ".git", ".aws-sam", ".pulumi", ".sam-ext"}


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(archive name, path)`` for every regular file under ``root``, sorted.

    Symlinks are followed only while they stay inside ``root``; one that leaves it is
    refused, so packaging never reads outside the source tree.
    """
    resolved_root = root.resolve()
    found: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in filenames + [d for d in dirnames if (Path(directory) / d).is_symlink()]:
            path = Path(directory) / name
            target = path.resolve()
            if not target.is_relative_to(resolved_root):
                raise ValidationError(
                    f"source {str(root)!r}: {path.relative_to(root)} links outside the source "
                    f"directory (to {target})"
                )
            if target.is_file():
                found.append((path.relative_to(root).as_posix(), target))
    return iter(sorted(found))


def zip_directory(root: Path) -> bytes:
    """The deterministic .zip of a directory's files."""
    if not root.is_dir():
        raise ValidationError(f"source {str(root)!r} is not a directory")
    buffer = BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, path in _files(root):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=6)
            count += 1
    if count == 0:
        raise ValidationError(f"source {str(root)!r} has no files to package")
    return buffer.getvalue()


def package_bytes(source: Path) -> bytes:
    """The unsigned package for ``source``: a directory is zipped, a .zip is read as is."""
    if source.is_dir():
        return zip_directory(source)
    if source.is_file():
        return source.read_bytes()
    raise ValidationError(f"source {str(source)!r} does not exist")


def source_hash(source: Path) -> str:
    """SHA-384 of the package :func:`package_bytes` would produce."""
    return hashlib.sha384(package_bytes(source)).hexdigest()
