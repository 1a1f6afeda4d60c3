"""S3 object locations as plain data: parsing, validation, and the shapes templates and
Lambda use for them. No boto3 here, so the CLI and the Pulumi resources can name S3
objects without loading the aws backend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.errors import ValidationError

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: S3's own hosts: path style (``s3.amazonaws.com``, ``s3.REGION.amazonaws.com``,
#: ``s3-REGION.amazonaws.com``, dual-stack) or virtual-hosted (``BUCKET.s3...``).
_S3_HOST_RE = re.compile(
    r"^(?:(?P<bucket>.+)\.)?s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$"
)


def check_bucket(bucket: str, field: str = "bucket") -> str:
    """Validate an S3 bucket name (3-63 of lower-case letters, digits, '.', '-')."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise ValidationError(
            f"{field}: {bucket!r} is not an S3 bucket name (3 to 63 lower-case letters, "
            "digits, '.' and '-')",
            field=field,
        )
    return bucket


def _split_uri(text: str, field: str) -> tuple[str, str]:
    # A URI that went through pathlib (click.Path) has lost one slash: accept s3:/b/k too.
    match = re.match(r"^s3:/{1,2}([^/?]+)/?([^?]*)$", text)
    if not match:
        raise ValidationError(
            f"{field}: {text!r} is not an S3 location (s3://BUCKET/KEY)", field=field
        )
    return check_bucket(match[1], field), match[2]


@dataclass(frozen=True)
class S3Object:
    """One S3 object, optionally one version of it."""

    bucket: str
    key: str
    version: str | None = None

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` (plus ``?versionId=`` when a version is pinned)."""
        suffix = f"?versionId={self.version}" if self.version else ""
        return f"s3://{self.bucket}/{self.key}{suffix}"

    @classmethod
    def parse(cls, text: str, field: str = "package") -> S3Object:
        """Parse ``s3://bucket/key[?versionId=V]``."""
        location, _, query = str(text).partition("?")
        bucket, key = _split_uri(location, field)
        if not key or key.endswith("/"):
            raise ValidationError(
                f"{field}: {text!r} names no object (s3://BUCKET/KEY)", field=field
            )
        version = None
        if query:
            name, sep, value = query.partition("=")
            if name != "versionId" or not sep or not value:
                raise ValidationError(
                    f"{field}: {text!r}: only ?versionId=V may follow the key", field=field
                )
            version = value
        return cls(bucket, key, version)

    @classmethod
    def from_location(cls, location: dict[str, Any], field: str = "signedObject") -> S3Object:
        """From a ``{bucketName, key[, version]}`` document (a signing job's objects)."""
        if not isinstance(location, dict) or "bucketName" not in location or "key" not in location:
            raise ValidationError(
                f"{field}: {location!r} is not an S3 object location", field=field
            )
        return cls(location["bucketName"], location["key"], location.get("version"))

    @classmethod
    def from_url(cls, url: str, field: str = "TemplateURL") -> S3Object:
        """From an HTTP(S) URL of an object, as CloudFormation reads a ``TemplateURL``: on
        S3's own hosts path-style (``s3.REGION.amazonaws.com/BUCKET/KEY``) or
        virtual-hosted (``BUCKET.s3.REGION.amazonaws.com/KEY``); on any other host (an
        endpoint such as ``sam-ext serve``, LocalStack, moto) path-style
        (``http://127.0.0.1:PORT/BUCKET/KEY``), as clients given an endpoint URL build
        them. A ``versionId`` query names the version."""
        from urllib.parse import parse_qs, unquote, urlsplit

        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(
                f"{field}: {url!r} is not an HTTPS URL of an S3 object", field=field
            )
        path = unquote(parts.path).lstrip("/")
        virtual = _S3_HOST_RE.match(parts.hostname.lower())
        if virtual is not None and virtual.group("bucket"):
            bucket, key = virtual.group("bucket"), path
        else:
            bucket, _, key = path.partition("/")
        if not bucket or not key or key.endswith("/"):
            raise ValidationError(f"{field}: {url!r} names no S3 object (BUCKET/KEY)", field=field)
        check_bucket(bucket, field)
        versions = parse_qs(parts.query).get("versionId")
        version = versions[0] if versions else None
        return cls(bucket, key, version)

    def lambda_code(self) -> dict[str, str]:
        """Lambda's ``Code``/``Content`` parameters for this object."""
        code = {"S3Bucket": self.bucket, "S3Key": self.key}
        if self.version:
            code["S3ObjectVersion"] = self.version
        return code


def as_object(value: S3Object | str | Path, field: str = "package") -> S3Object:
    """An :class:`S3Object` from an object or ``s3://`` text; a local path is refused with
    the way forward (its AWS signature cannot be read, nor can Lambda deploy it from here)."""
    if isinstance(value, S3Object):
        return value
    text = str(value)
    if not text.startswith("s3:/"):
        raise ValidationError(
            f"{field}: {text!r} is a local file; the aws backend works on signed S3 objects "
            "(s3://BUCKET/KEY[?versionId=V]), as sign_package returns them",
            field=field,
        )
    return S3Object.parse(text, field)


def parse_destination(text: str, field: str = "destination") -> tuple[str, str]:
    """``s3://bucket[/prefix]`` as ``(bucket, key prefix)``; a non-empty prefix is made to
    end in ``/``, so objects land *in* it."""
    bucket, prefix = _split_uri(str(text).partition("?")[0], field)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def location_text(location: dict[str, Any]) -> str:
    """A signing job's ``source``/``signedObject`` as text: the local path, or
    ``s3://bucket/key[?versionId=V]``."""
    if "path" in location:
        return str(location["path"])
    return S3Object.from_location(location).uri
