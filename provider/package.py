"""The signed package format: a .zip that carries its own signature.

A signed package is the unsigned archive with one extra, stored (uncompressed) member,
:data:`SIGNATURE_MEMBER`, holding the canonical JSON signature envelope, appended after the
last file entry, and with the archive comment set to :data:`MARKER`::

    [local entries of the unsigned archive]      <- signed, verbatim
    [local header + envelope of SIGNATURE_MEMBER] <- not signed (it holds the signature)
    [central directory records of the unsigned archive] <- signed, verbatim
    [central directory record of SIGNATURE_MEMBER]      <- not signed
    [end of central directory, comment MARKER]   <- signed in its unsigned form

**Where the signed bytes end.** The SHA-384 digest in the envelope covers the *unsigned
archive* exactly: bytes ``[0, signature_offset)`` of the signed file, then the central
directory without its last record, then an end-of-central-directory record that counts
one entry fewer, points the directory at ``signature_offset`` and has an empty comment.
Everything else in the file is derived from the envelope, and verification rebuilds it
and compares byte for byte, so no byte of a signed package can change unnoticed: a
change inside the signed bytes breaks the digest, a change outside them breaks the
rebuild. The marker comment and any member under :data:`RESERVED_PREFIX` are independent
signs that a package is signed, so damaging one never makes a tampered package look
merely unsigned (which Warn would deploy); re-zipping the files, the signature member
included (even renamed), breaks the digest or the structure.

Still a plain zip: ``unzip`` and :mod:`zipfile` list and extract it, the signature member
included. Zip64 archives are refused (Lambda's 250 MB unzipped limit keeps packages far
below zip64's thresholds) and the unsigned archive's own comment is not kept.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from mmap import mmap
from typing import Any, BinaryIO

from provider.deflate import InflateError, implementation
from provider.errors import CodesignError

#: What the readers accept: bytes in memory or a memory-mapped file.
Buffer = bytes | memoryview | mmap

SIGNATURE_MEMBER = ".codesign/signature.json"
#: The directory of :data:`SIGNATURE_MEMBER`, reserved: any member in it marks a package
#: as signed (so a renamed or damaged signature is never mistaken for "unsigned").
RESERVED_PREFIX = ".codesign/"
MARKER = b"lambda-codesign signed package v1"

_EOCD_SIG = b"PK\x05\x06"
_CDH_SIG = b"PK\x01\x02"
_LFH_SIG = b"PK\x03\x04"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_EOCD = struct.Struct("<4s4H2LH")
_CDH = struct.Struct("<4s6H3L5H2L")
_LFH = struct.Struct("<4s5H3L2H")
_MAX_COMMENT = 0xFFFF
_STORED, _DEFLATED = 0, 8
# MS-DOS time and date of 1980-01-01 00:00, the earliest a zip can say: fixed so the
# signature member's headers are a pure function of the envelope.
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1
_UNIX_FILE_0644 = 0o100644 << 16
_MADE_BY_UNIX_20 = (3 << 8) | 20


class PackageError(CodesignError):
    """A file is not a package that can be signed or verified; ``reason`` says why (the
    caller names the file: a job fails with it, a verdict says the package is malformed)."""

    code = "PackageError"

    @property
    def reason(self) -> str:
        """Why the file is not such a package (the message, without the code)."""
        return self.message


@dataclass(frozen=True)
class _Directory:
    """Where an archive's central directory and end record sit."""

    eocd_offset: int
    cd_offset: int
    cd_size: int
    entries: int
    comment: bytes


def _find_directory(data: Buffer) -> _Directory:
    """Locate the end record strictly: it must end the file, with an exact comment length."""
    size = len(data)
    if size < _EOCD.size:
        raise PackageError(f"not a zip archive ({size} bytes is too short)")
    view = memoryview(data)
    lowest = max(0, size - _EOCD.size - _MAX_COMMENT)
    tail = bytes(view[lowest:])
    position = tail.rfind(_EOCD_SIG)
    while position != -1:
        offset = lowest + position
        if offset + _EOCD.size <= size:
            (_, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, comment_len) = (
                _EOCD.unpack_from(view, offset)
            )
            if offset + _EOCD.size + comment_len == size:
                if disk != 0 or cd_disk != 0 or disk_entries != entries:
                    raise PackageError("multi-disk zip archives are not supported")
                if offset >= 20 and bytes(view[offset - 20 : offset - 16]) == _ZIP64_LOCATOR_SIG:
                    raise PackageError("zip64 archives are not supported")
                if cd_offset + cd_size != offset:
                    raise PackageError(
                        "the central directory does not end where the end record starts "
                        "(prepended or inserted data)"
                    )
                comment = bytes(view[offset + _EOCD.size : size])
                return _Directory(offset, cd_offset, cd_size, entries, comment)
        position = tail.rfind(_EOCD_SIG, 0, position)
    raise PackageError("not a zip archive (no end-of-central-directory record at its end)")


@dataclass(frozen=True)
class _Record:
    """One central directory record: what the member checks need."""

    offset: int
    name: str
    local_offset: int
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int


def _central_records(data: Buffer, directory: _Directory) -> list[_Record]:
    """Every central record, names decoded as :mod:`zipfile` decodes them (UTF-8 when the
    record says so, else CP437)."""
    view = memoryview(data)
    records: list[_Record] = []
    position = directory.cd_offset
    end = directory.cd_offset + directory.cd_size
    for _ in range(directory.entries):
        if position + _CDH.size > end:
            raise PackageError("the central directory is truncated")
        fields = _CDH.unpack_from(view, position)
        if fields[0] != _CDH_SIG:
            raise PackageError(f"bad central directory record at offset {position}")
        name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
        name_bytes = bytes(view[position + _CDH.size : position + _CDH.size + name_len])
        flags = fields[3]
        name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        records.append(
            _Record(position, name, fields[16], flags, fields[4], fields[7], fields[8], fields[9])
        )
        position += _CDH.size + name_len + extra_len + comment_len
    if position != end:
        raise PackageError("the central directory's size does not match its records")
    return records


def _signature_headers(envelope: bytes, local_offset: int) -> tuple[bytes, bytes]:
    """The local header and central record of the signature member (pure functions)."""
    name = SIGNATURE_MEMBER.encode()
    crc = zlib.crc32(envelope)
    size = len(envelope)
    local = (
        _LFH.pack(_LFH_SIG, 20, 0, _STORED, _DOS_TIME, _DOS_DATE, crc, size, size, len(name), 0)
        + name
    )
    central = (
        _CDH.pack(
            _CDH_SIG,
            _MADE_BY_UNIX_20,
            20,
            0,
            _STORED,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            size,
            size,
            len(name),
            0,
            0,
            0,
            0,
            _UNIX_FILE_0644,
            local_offset,
        )
        + name
    )
    return local, central


def _end_record(entries: int, cd_size: int, cd_offset: int, comment: bytes) -> bytes:
    return _EOCD.pack(_EOCD_SIG, 0, 0, entries, entries, cd_size, cd_offset, len(comment)) + comment


#: Lambda's limit on a function's unzipped code (250 MB); it also bounds the work a
#: hostile archive (a "zip bomb") can cause when its members are checked.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024


def _check_members(records: list[_Record]) -> None:
    """Refuse archives that could write outside their target or exhaust resources."""
    seen: set[str] = set()
    total = 0
    for member in records:
        name = member.name
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\0" in name:
            raise PackageError(f"the zip member {name!r} has an absolute path")
        if ".." in parts:
            raise PackageError(f"the zip member {name!r} leaves its directory ('..')")
        if name in seen:
            raise PackageError(f"the zip member {name!r} appears twice")
        seen.add(name)
        if member.flags & 0x1:
            raise PackageError(f"the zip member {name!r} is encrypted")
        total += member.size
        if total > MAX_UNZIPPED_BYTES:
            raise PackageError(
                f"the archive unzips to more than {MAX_UNZIPPED_BYTES} bytes (Lambda's 250 MB "
                "limit)"
            )


def _check_contents(data: Buffer, records: list[_Record], end: int) -> None:
    """Read every member back and compare its CRC-32 and size with its record.

    Stored and deflated members (all that Lambda's own tools write) are checked here,
    inflating with :mod:`provider.deflate` into a buffer bounded by the declared size;
    any other method goes through :mod:`zipfile` (imported only then).
    """
    view = memoryview(data)
    deflate = implementation()
    others: list[_Record] = []
    for member in records:
        start = member.local_offset
        if start + _LFH.size > end:
            raise PackageError(f"the zip member {member.name!r} has no local header")
        fields = _LFH.unpack_from(view, start)
        name_len, extra_len = fields[9], fields[10]
        if fields[0] != _LFH_SIG:
            raise PackageError(f"the zip member {member.name!r} has a bad local header")
        local_name = bytes(view[start + _LFH.size : start + _LFH.size + name_len])
        if (
            local_name.decode("utf-8" if member.flags & 0x800 else "cp437", errors="replace")
            != member.name
        ):
            raise PackageError(
                f"the zip archive cannot be read: file name in directory {member.name!r} and "
                "header differ"
            )
        if member.method not in (_STORED, _DEFLATED):
            others.append(member)
            continue
        begin = start + _LFH.size + name_len + extra_len
        stop = begin + member.compressed_size
        if stop > end:
            raise PackageError(f"the zip member {member.name!r} is truncated")
        stream = view[begin:stop]
        if member.method == _STORED:
            if member.compressed_size != member.size:
                raise PackageError(f"the zip member {member.name!r} is corrupt (sizes differ)")
            content: bytes | memoryview = stream
        else:
            try:
                content = deflate.inflate(stream, member.size)
            except InflateError as exc:
                raise PackageError(
                    f"the zip member {member.name!r} is corrupt: {exc.message}"
                ) from None
        if deflate.crc32(content) != member.crc:
            raise PackageError(f"the zip member {member.name!r} is corrupt (CRC mismatch)")
    if others:
        _check_with_zipfile(data, {member.name for member in others})


class _ViewReader(io.RawIOBase):
    """A seekable, read-only stream over a buffer (bytes or a memory-mapped file), so
    :mod:`zipfile` can read an archive without a copy of it."""

    def __init__(self, data: Buffer) -> None:
        self._view = memoryview(data)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self._position : self._position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def _check_with_zipfile(data: Buffer, names: set[str]) -> None:
    """CRC-check the members compressed with methods other than stored and deflate."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BufferedReader(_ViewReader(data))) as archive:
            for info in archive.infolist():
                if info.filename in names or info.orig_filename in names:
                    with archive.open(info) as member:
                        while member.read(1 << 20):
                            pass
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise PackageError(f"the zip archive is corrupt: {exc}") from None
        raise PackageError(f"the zip archive cannot be read: {exc}") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise PackageError(f"the zip archive cannot be read: {exc}") from None
    except (OSError, EOFError, ValueError, LookupError) as exc:
        raise PackageError(f"the zip archive is corrupt: {exc}") from None


@dataclass(frozen=True)
class UnsignedArchive:
    """A zip that may be signed, read in place (never copied), and the SHA-384 of its
    unsigned form: the archive up to its end record, then that record with no comment."""

    source: Buffer
    directory: _Directory
    digest: str
    members: int

    def chunks(self) -> tuple[Buffer, bytes]:
        """The unsigned form, as two pieces (the archive's bytes are not copied)."""
        end = _end_record(
            self.directory.entries, self.directory.cd_size, self.directory.cd_offset, b""
        )
        return memoryview(self.source)[: self.directory.eocd_offset], end

    @property
    def data(self) -> bytes:
        """The unsigned form as one byte string (a copy; for small archives and tests)."""
        return b"".join(self.chunks())


def _signable(data: Buffer) -> tuple[_Directory, list[_Record]]:
    """The directory and records of an archive that may be signed (structure and names
    checked; contents not read)."""
    directory = _find_directory(data)
    records = _central_records(data, directory)
    if directory.comment == MARKER or any(r.name == SIGNATURE_MEMBER for r in records):
        raise PackageError("the package is already signed")
    reserved = [r.name for r in records if r.name.startswith(RESERVED_PREFIX)]
    if reserved:
        raise PackageError(
            f"the zip member {reserved[0]!r} is in {RESERVED_PREFIX}, which is reserved for "
            "signatures"
        )
    if not records:
        raise PackageError("the zip archive is empty (no members)")
    _check_members(records)
    return directory, records


def prepare_unsigned(data: Buffer) -> UnsignedArchive:
    """Check that ``data`` can be signed and return it in the form the digest covers.

    Raises :class:`PackageError` for a malformed file, an empty archive, an archive that
    is already signed, members with unsafe names (absolute, ``..``, duplicated), encrypted
    members, more than 250 MB unzipped, or members that do not read back (CRC errors).
    Members are checked by streaming them; the archive itself is never copied.
    """
    directory, records = _signable(data)
    _check_contents(data, records, directory.cd_offset)
    hasher = hashlib.sha384()
    unsigned = UnsignedArchive(data, directory, "", len(records))
    for chunk in unsigned.chunks():
        hasher.update(chunk)
    return UnsignedArchive(data, directory, hasher.hexdigest(), len(records))


def prepare_written(data: bytes, digest: str) -> UnsignedArchive:
    """:func:`prepare_unsigned` for a zip this process has just written in memory, with
    the SHA-384 computed while writing it (see :func:`provider.archive.build_package`).

    Structure and names are checked as for any archive; the members are not read back,
    since their CRCs were computed from the very bytes that were compressed. Input from
    anywhere else (a file, a cache) must go through :func:`prepare_unsigned`.
    """
    directory, records = _signable(data)
    if directory.comment:
        raise PackageError("a written archive has no comment")
    return UnsignedArchive(data, directory, digest, len(records))


def write_signed(unsigned: UnsignedArchive, envelope: bytes, sink: BinaryIO) -> None:
    """Write the signed package (``unsigned`` + ``envelope`` as :data:`SIGNATURE_MEMBER`)."""
    directory = unsigned.directory
    view = memoryview(unsigned.source)
    local, central = _signature_headers(envelope, directory.cd_offset)
    new_cd_offset = directory.cd_offset + len(local) + len(envelope)
    for piece in (
        view[: directory.cd_offset],
        local,
        envelope,
        view[directory.cd_offset : directory.eocd_offset],
        central,
        _end_record(directory.entries + 1, directory.cd_size + len(central), new_cd_offset, MARKER),
    ):
        sink.write(piece)


def assemble_signed(unsigned: UnsignedArchive, envelope: bytes) -> bytes:
    """The signed package as bytes (see :func:`write_signed`, which streams it)."""
    buffer = io.BytesIO()
    write_signed(unsigned, envelope, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class SignedLayout:
    """What a signed-looking package holds, before any cryptography.

    ``structure_error`` is set when the file says it is signed (marker or member) but the
    bytes outside the signed region are not exactly what signing would have written.
    ``foreign`` is set when only a zip comment other than the marker says so: no sign of
    this format, but a comment could hold another format's signature (AWS Signer's own).
    """

    envelope: bytes
    digest: str
    structure_error: str | None
    foreign: bool = False


def read_layout(data: Buffer) -> SignedLayout | None:
    """Split a package into envelope and digest of the signed bytes.

    Returns ``None`` for a well-formed zip that carries no sign of a signature (an
    unsigned package). Raises :class:`PackageError` when the file is not a zip at all.
    """
    directory = _find_directory(data)
    records = _central_records(data, directory)
    names = [record.name for record in records]
    marked = directory.comment == MARKER
    if not marked and SIGNATURE_MEMBER not in names:
        reserved = [name for name in names if name.startswith(RESERVED_PREFIX)]
        if reserved:
            return SignedLayout(b"", "", f"{reserved[0]!r} is not a valid signature entry")
        if directory.comment:
            # A comment is reserved for the marker: a damaged marker must not pass as
            # "unsigned", which Warn would deploy.
            return SignedLayout(
                b"", "", "the zip comment is not the signature marker", foreign=True
            )
        return None
    if not records or names[-1] != SIGNATURE_MEMBER or names.count(SIGNATURE_MEMBER) != 1:
        return SignedLayout(b"", "", f"{SIGNATURE_MEMBER} is not the last and only signature entry")
    view = memoryview(data)
    last_record, signature_offset = records[-1].offset, records[-1].local_offset
    fields = (
        _LFH.unpack_from(view, signature_offset)
        if signature_offset + _LFH.size <= len(view)
        else None
    )
    if fields is None or fields[0] != _LFH_SIG:
        return SignedLayout(b"", "", "the signature entry's local header is damaged")
    start = signature_offset + _LFH.size + fields[9] + fields[10]
    envelope = bytes(view[start : start + fields[8]])
    unsigned_cd_size = last_record - directory.cd_offset
    unsigned_end = _end_record(len(records) - 1, unsigned_cd_size, signature_offset, b"")
    local, central = _signature_headers(envelope, signature_offset)
    expected_tail = (
        directory.cd_offset == signature_offset + len(local) + len(envelope)
        and bytes(view[signature_offset : directory.cd_offset]) == local + envelope
        and bytes(view[last_record : directory.eocd_offset]) == central
        and bytes(view[directory.eocd_offset :])
        == _end_record(len(records), directory.cd_size, directory.cd_offset, MARKER)
    )
    hasher = hashlib.sha384(view[:signature_offset])
    hasher.update(view[directory.cd_offset : last_record])
    hasher.update(unsigned_end)
    error = None if expected_tail else "bytes outside the signed region were changed"
    return SignedLayout(envelope, hasher.hexdigest(), error)
