"""Adopting third-party layers: sign a publisher's layer unchanged, and show it unchanged.

Many public layers (observability vendors') are unsigned, so functions under ``Enforce``
cannot use them. Adoption signs a copy with one of the caller's profiles and publishes it
as the caller's own layer version. Signing adds a signature member to the zip, so the zip's
own SHA-256 changes; what must not change is the *content*: every file, byte for byte.
:func:`content_sha256` digests exactly that (each file's name and SHA-256, sorted), so the
same number before and after shows the user the layer was not altered.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provider.errors import CodesignError, ValidationError
from provider.package import Buffer, PackageError, prepare_unsigned

LAYER_VERSION_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):"
    r"(?P<account>[0-9]{12}):layer:(?P<name>[a-zA-Z0-9-_]{1,140}):(?P<version>[0-9]+)$"
)
LAYER_NAME_RE = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
#: Lambda's ``Description`` limit.
_MAX_DESCRIPTION = 256


def check_layer_version_arn(arn: str) -> re.Match[str]:
    """A layer version ARN's parts; a :class:`ValidationError` naming the option otherwise."""
    match = LAYER_VERSION_ARN_RE.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise ValidationError(
            f"--layer-version-arn: {arn!r} is not a layer version ARN "
            "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)"
        )
    return match


def check_layer_name(name: str) -> str:
    """A layer name of the caller's account (1 to 64 letters, digits, '-' or '_')."""
    if not isinstance(name, str) or not LAYER_NAME_RE.match(name):
        raise ValidationError(f"--layer-name: {name!r} must be 1 to 64 letters, digits, '-' or '_'")
    return name


def check_plain_zip(data: Buffer, source: str) -> None:
    """Refuse what is not a plain, signable zip (malformed, empty, already signed,
    encrypted or unsafe members, over Lambda's size limit), naming ``source``."""
    try:
        prepare_unsigned(data)
    except PackageError as exc:
        raise ValidationError(
            f"{source}: not a plain zip that can be signed: {exc.reason}"
        ) from None


def file_digests(data: Buffer, *, skip_prefix: str | None = None) -> dict[str, str]:
    """SHA-256 (hex) of every file member, by name (directory entries have no content)."""
    digests: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        for info in archive.infolist():
            if info.is_dir() or (skip_prefix and info.filename.startswith(skip_prefix)):
                continue
            hasher = hashlib.sha256()
            with archive.open(info) as member:
                for block in iter(lambda: member.read(1 << 20), b""):
                    hasher.update(block)
            digests[info.filename] = hasher.hexdigest()
    return digests


def content_sha256(digests: Mapping[str, str]) -> str:
    """One SHA-256 over the files: ``name NUL sha256 LF`` per file, sorted by name."""
    listing = "".join(f"{name}\0{digests[name]}\n" for name in sorted(digests))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def code_sha256(data: Buffer) -> str:
    """Lambda's ``CodeSha256``: the base64 SHA-256 of the zip itself."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass(frozen=True)
class ContentCheck:
    """The signed copy holds every file of the source unchanged; ``added`` are the members
    signing added (the signature)."""

    before: str
    after: str
    files: int
    added: tuple[str, ...]


def compare_contents(source: Buffer, signed: Buffer, what: str) -> ContentCheck:
    """Check that ``signed`` holds every file of ``source`` byte for byte; raise otherwise
    (nothing is published then)."""
    before = file_digests(source)
    signed_files = file_digests(signed)
    changed = sorted(name for name, digest in before.items() if signed_files.get(name) != digest)
    if changed:
        raise CodesignError(
            f"{what}: the signed copy does not hold the layer's files unchanged "
            f"({len(changed)} differ, e.g. {changed[0]!r}); nothing was published"
        )
    added = tuple(sorted(set(signed_files) - set(before)))
    after = content_sha256({name: signed_files[name] for name in before})
    return ContentCheck(content_sha256(before), after, len(before), added)


def adopted_description(source: str, original: str | None) -> str:
    """The new layer version's description: where it came from (Lambda's 256 limit)."""
    text = f"Adopted unchanged from {source}" + (f": {original}" if original else "")
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 3] + "..."


def adoption_document(
    *,
    layer_version_arn: str,
    source: str,
    profile_name: str,
    job: Mapping[str, Any],
    check: ContentCheck,
    source_code_sha256: str,
    signed_code_sha256: str,
) -> dict[str, Any]:
    """What ``sam-ext layer adopt`` prints (``schemas/layer-adoption.schema.json``)."""
    return {
        "LayerVersionArn": layer_version_arn,
        "Source": source,
        "ProfileName": profile_name,
        "SigningJobId": job["jobId"],
        "ContentSha256Before": check.before,
        "ContentSha256After": check.after,
        "Files": check.files,
        "AddedBySigning": list(check.added),
        "SourceCodeSha256": source_code_sha256,
        "CodeSha256": signed_code_sha256,
    }
