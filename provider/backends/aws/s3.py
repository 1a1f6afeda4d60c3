"""S3 for signing: a versioned bucket, content-addressed uploads, object versions.

AWS Signer reads a *version* of the source object, so the bucket must have versioning
enabled; an unversioned bucket is refused before anything is uploaded. Unsigned packages
are stored as ``PREFIX<sha256>.zip`` (as ``sam package`` stores ``<md5>.zip``): an
unchanged package is found by a HEAD and neither uploaded nor, with the same version and
client request token, signed again.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from provider.backends.aws.errors import aws_call, error_code
from provider.errors import CodesignError, NotFoundError, ValidationError
from provider.objects import S3Object, as_object, check_bucket, parse_destination

__all__ = [
    "DIGEST_METADATA",
    "ObjectStore",
    "ObjectVersion",
    "S3Object",
    "StoredObject",
    "as_object",
    "check_bucket",
    "parse_destination",
]

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: The metadata key holding an unsigned package's SHA-256 (``x-amz-meta-codesign-sha256``).
DIGEST_METADATA = "codesign-sha256"
#: A package larger than this is copied to a temporary file before its upload, not memory.
_SPOOL_BYTES = 16 << 20
#: CloudFormation's limit for a template read from S3 (``TemplateURL``): 1 MB.
MAX_TEMPLATE_URL_BYTES = 1_000_000


@dataclass(frozen=True)
class ObjectVersion:
    """One entry of ListObjectVersions for a key."""

    version: str
    etag: str
    last_modified: Any
    is_latest: bool
    delete_marker: bool = False


@contextmanager
def read_once(path: Path, field: str = "source") -> Iterator[tuple[IO[bytes], str]]:
    """A private copy of a file (spooled: in memory while small), read once in blocks, and
    its SHA-256, hex: what is uploaded is what was hashed, even if the file is replaced
    meanwhile. A file that cannot be read is a :class:`ValidationError` naming ``field``."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as copy:
        hasher = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(block)
                    copy.write(block)
        except OSError as exc:
            raise ValidationError(
                f"{field}: {str(path)!r} cannot be read: {exc.strerror or exc}", field=field
            ) from None
        copy.seek(0)
        yield copy, hasher.hexdigest()


@dataclass(frozen=True)
class StoredObject:
    """One version of an object, read whole (GetObject): its bytes and what S3 says of them."""

    #: The object, with the version that was read (``None`` for an unversioned bucket).
    obj: S3Object
    data: bytes
    etag: str
    last_modified: Any


class ObjectStore:
    """The S3 calls of the backend."""

    def __init__(self, s3: S3Client) -> None:
        self.s3 = s3
        self._versioned: set[str] = set()
        self._lock = threading.Lock()

    def require_versioning(self, bucket: str) -> None:
        """Refuse a bucket without versioning enabled, saying how to enable it."""
        check_bucket(bucket)
        with self._lock:
            if bucket in self._versioned:
                return
        with aws_call("s3:GetBucketVersioning", f"S3 bucket {bucket!r}"):
            status = self.s3.get_bucket_versioning(Bucket=bucket).get("Status")
        if status != "Enabled":
            state = "suspended" if status == "Suspended" else "not enabled"
            raise ValidationError(
                f"S3 bucket {bucket!r}: versioning is {state}, and AWS Signer signs only "
                "versioned objects; enable it with: aws s3api put-bucket-versioning "
                f"--bucket {bucket} --versioning-configuration Status=Enabled"
            )
        with self._lock:
            self._versioned.add(bucket)

    def ensure_versioning(
        self, bucket: str, *, progress: Callable[[str], None] = lambda _: None
    ) -> None:
        """Enable versioning on a bucket of ours (the managed one) if it is not."""
        check_bucket(bucket)
        with aws_call("s3:GetBucketVersioning", f"S3 bucket {bucket!r}"):
            status = self.s3.get_bucket_versioning(Bucket=bucket).get("Status")
        if status != "Enabled":
            progress(f"enabling versioning on S3 bucket {bucket} (AWS Signer signs versions)")
            with aws_call("s3:PutBucketVersioning", f"S3 bucket {bucket!r}"):
                self.s3.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
                )
        with self._lock:
            self._versioned.add(bucket)

    def head(self, obj: S3Object) -> dict[str, Any]:
        """HeadObject (the given version, else the latest)."""
        params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version:
            params["VersionId"] = obj.version
        with aws_call("s3:GetObject", obj.uri):
            return dict(self.s3.head_object(**params))

    def read(self, obj: S3Object) -> StoredObject:
        """GetObject (the given version, else the latest), its bytes read whole."""
        params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version:
            params["VersionId"] = obj.version
        with aws_call("s3:GetObject", obj.uri):
            response = self.s3.get_object(**params)
            data = response["Body"].read()
        version = response.get("VersionId")
        return StoredObject(
            S3Object(obj.bucket, obj.key, version if version and version != "null" else None),
            data,
            str(response.get("ETag")),
            response.get("LastModified"),
        )

    def code_sha256(self, obj: S3Object) -> str:
        """Lambda's ``CodeSha256`` of an object (the base64 SHA-256 of its bytes, read)."""
        params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version:
            params["VersionId"] = obj.version
        hasher = hashlib.sha256()
        with aws_call("s3:GetObject", obj.uri):
            body = self.s3.get_object(**params)["Body"]
            for block in iter(lambda: body.read(1 << 20), b""):
                hasher.update(block)
        return base64.b64encode(hasher.digest()).decode("ascii")

    def _existing(self, obj: S3Object, digest: str) -> str | None:
        """The version id of ``obj`` when it already holds the package with ``digest``."""
        try:
            head = self.s3.head_object(Bucket=obj.bucket, Key=obj.key)
        except ClientError as error:
            if error_code(error) in {"404", "NoSuchKey", "NotFound"}:
                return None
            with aws_call("s3:GetObject", obj.uri):
                raise
        if head.get("Metadata", {}).get(DIGEST_METADATA) != digest:
            return None  # overwritten by something else: upload ours again
        version = head.get("VersionId")
        return version if version and version != "null" else None

    def put_content_addressed(
        self, source: Path, bucket: str, prefix: str
    ) -> tuple[S3Object, bool]:
        """Upload ``source`` as ``prefix<sha256>.zip`` unless that object already holds it.

        Returns the object (with its version) and whether this call uploaded it.
        """
        if not source.is_file():
            raise ValidationError(
                f"source: {str(source)!r} does not exist or is not a file", field="source"
            )
        self.require_versioning(bucket)
        with read_once(source) as (body, digest):
            return self._put_copy(body, digest, bucket, prefix)

    def _put_copy(
        self, body: IO[bytes], digest: str, bucket: str, prefix: str
    ) -> tuple[S3Object, bool]:
        """:meth:`put_content_addressed` of a package read once (``body``, ``digest``)."""
        target = S3Object(bucket, f"{prefix}{digest}.zip")
        version = self._existing(target, digest)
        if version is not None:
            return S3Object(bucket, target.key, version), False
        checksum = base64.b64encode(bytes.fromhex(digest)).decode("ascii")
        with aws_call("s3:PutObject", target.uri):
            response = self.s3.put_object(
                Bucket=bucket,
                Key=target.key,
                Body=body,
                ContentType="application/zip",
                ChecksumSHA256=checksum,
                Metadata={DIGEST_METADATA: digest},
            )
        version = response.get("VersionId")
        if not version or version == "null":
            # Versioning was turned off between the check and the upload.
            raise ValidationError(
                f"S3 bucket {bucket!r}: the upload of {target.uri} got no version id; enable "
                f"versioning: aws s3api put-bucket-versioning --bucket {bucket} "
                "--versioning-configuration Status=Enabled"
            )
        return S3Object(bucket, target.key, version), True

    def put_template(self, body: bytes, bucket: str, prefix: str) -> S3Object:
        """Upload a CloudFormation template as ``prefix<sha256>.template`` (as ``sam
        deploy`` uploads templates too large to pass inline, and ``sam package`` nested
        ones), unless that object already holds it (so its URL stays the same)."""
        check_bucket(bucket)
        digest = hashlib.sha256(body).hexdigest()
        key = f"{prefix}{digest}.template"
        version = self._existing(S3Object(bucket, key), digest)
        if version is not None:
            return S3Object(bucket, key, version)
        with aws_call("s3:PutObject", f"s3://{bucket}/{key}"):
            response = self.s3.put_object(
                Bucket=bucket, Key=key, Body=body, Metadata={DIGEST_METADATA: digest}
            )
        version = response.get("VersionId")
        return S3Object(bucket, key, version if version and version != "null" else None)

    def read_template(self, obj: S3Object) -> bytes:
        """A CloudFormation template's bytes (GetObject), refused past CloudFormation's
        limit for a template in S3 (:data:`MAX_TEMPLATE_URL_BYTES`)."""
        params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version:
            params["VersionId"] = obj.version
        with aws_call("s3:GetObject", obj.uri):
            body = self.s3.get_object(**params)["Body"]
            data: bytes = body.read(MAX_TEMPLATE_URL_BYTES + 1)
            body.close()
        if len(data) > MAX_TEMPLATE_URL_BYTES:
            raise ValidationError(
                f"{obj.uri}: more than {MAX_TEMPLATE_URL_BYTES} bytes, CloudFormation's limit "
                "for a template in S3"
            )
        return data

    def https_url(self, obj: S3Object) -> str:
        """The path-style HTTPS URL of an object on this client's endpoint (what
        CloudFormation's ``TemplateURL`` takes)."""
        base = str(self.s3.meta.endpoint_url).rstrip("/")
        suffix = f"?versionId={obj.version}" if obj.version else ""
        return f"{base}/{obj.bucket}/{obj.key}{suffix}"

    def delete_version(self, obj: S3Object) -> None:
        """Delete one version of an object (undoing an upload of this process)."""
        if not obj.version:
            raise CodesignError(f"{obj.uri}: no version to delete")
        with aws_call("s3:DeleteObjectVersion", obj.uri):
            self.s3.delete_object(Bucket=obj.bucket, Key=obj.key, VersionId=obj.version)

    def newest_first(self, bucket: str, prefix: str) -> list[tuple[datetime, str]]:
        """``(LastModified, key)`` of the keys under ``prefix`` (their current versions),
        newest first (LastModified has whole seconds: keys written in one second tie)."""
        found: list[tuple[datetime, str]] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        with aws_call("s3:ListBucket", f"s3://{bucket}/{prefix}"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                found += [(e["LastModified"], e["Key"]) for e in page.get("Contents", [])]
        return sorted(found, key=lambda f: f[0], reverse=True)

    def versions(self, bucket: str, key: str) -> list[ObjectVersion]:
        """Every version and delete marker of exactly ``key``, oldest first."""
        found = self.versions_under(bucket, key).get(key)
        if not found:
            raise NotFoundError(f"s3://{bucket}/{key} does not exist")
        return found

    def versions_under(self, bucket: str, prefix: str) -> dict[str, list[ObjectVersion]]:
        """Every version and delete marker of each key under ``prefix`` (one listing),
        oldest first per key."""
        found: dict[str, list[ObjectVersion]] = {}
        paginator = self.s3.get_paginator("list_object_versions")
        with aws_call("s3:ListBucketVersions", f"s3://{bucket}/{prefix}"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Versions", []):
                    found.setdefault(str(entry.get("Key")), []).append(
                        ObjectVersion(
                            str(entry.get("VersionId")),
                            str(entry.get("ETag")),
                            entry.get("LastModified"),
                            bool(entry.get("IsLatest")),
                        )
                    )
                for marker in page.get("DeleteMarkers", []):
                    found.setdefault(str(marker.get("Key")), []).append(
                        ObjectVersion(
                            str(marker.get("VersionId")),
                            "",
                            marker.get("LastModified"),
                            bool(marker.get("IsLatest")),
                            delete_marker=True,
                        )
                    )
        # Same-second writes keep the listing's order (newest first), hence the reverse.
        return {
            key: sorted(reversed(versions), key=lambda v: v.last_modified)
            for key, versions in found.items()
        }
