"""Objects in moto's S3 of this process: what signing jobs read and write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provider.errors import NotFoundError, ValidationError


def _backend(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def _bucket(account: str, name: str, field: str) -> Any:
    from moto.s3.exceptions import MissingBucket

    try:
        return _backend(account).get_bucket(name)
    except MissingBucket:
        raise ValidationError(f"{field}: bucket {name!r} does not exist", field=field) from None


@dataclass(frozen=True)
class StoredObject:
    """An object version's bytes."""

    data: bytes
    version: str | None


def read_version(account: str, bucket: str, key: str, version: str, field: str) -> StoredObject:
    """An object version of a versioned bucket, as Signer reads a job's source."""
    found = _bucket(account, bucket, f"{field}.bucketName")
    if not found.is_versioned:
        raise ValidationError(
            f"{field}.bucketName: bucket {bucket!r} is not versioned; Signer reads sources "
            "from versioned buckets only (put-bucket-versioning Status=Enabled)"
        )
    obj = _backend(account).get_object(bucket, key, version_id=version)
    if obj is None:
        raise NotFoundError(
            f"{field}: object s3://{bucket}/{key} version {version!r} does not exist"
        )
    return StoredObject(bytes(obj.value), str(obj.version_id) if obj.version_id else None)


def read_object(account: str, bucket: str, key: str, version: str | None = None) -> bytes | None:
    """An object's bytes (latest version unless ``version``), or None if absent."""
    from moto.s3.exceptions import MissingBucket

    try:
        obj = _backend(account).get_object(bucket, key, version_id=version)
    except MissingBucket:
        return None
    return None if obj is None else bytes(obj.value)


def has_bucket(account: str, bucket: str) -> bool:
    """Whether the bucket exists."""
    from moto.s3.exceptions import MissingBucket

    try:
        _backend(account).get_bucket(bucket)
    except MissingBucket:
        return False
    return True


def check_bucket(account: str, bucket: str, field: str) -> None:
    """Refuse a destination bucket that does not exist."""
    _bucket(account, bucket, field)


def write_object(account: str, bucket: str, key: str, data: bytes) -> str | None:
    """Write an object; returns its version id (versioned buckets)."""
    written = _backend(account).put_object(bucket, key, data)
    return str(written.version_id) if getattr(written, "version_id", None) else None
