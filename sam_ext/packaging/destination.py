"""Where packaged code goes: a local artifact directory, or an S3 bucket and prefix.

The packager's plan and checks do not depend on it. A destination says how an unsigned
package is placed, where signing jobs write, how a placed object is remembered in the
package cache, and how it is written into the template, as ``sam package`` writes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from provider.backends.values import SigningJob
from provider.errors import ValidationError
from provider.objects import S3Object, check_bucket
from sam_ext.packaging.resources import Packageable

#: A placed package: a local file, or one version of an S3 object.
Placed = Path | S3Object

#: The bucket name written where a template expects an S3 object (``Code``/``Content``)
#: but the local backend placed a file; the key is the file's absolute path.
LOCAL_BUCKET = "sam-ext-local-artifacts"


class ArtifactDestination(Protocol):
    """Where one ``sam-ext package`` run places packages."""

    @property
    def cache_scope(self) -> str:
        """What tells this destination's signed objects apart in the package cache and in
        signing jobs' client request tokens, so that a destination owns its objects (a
        job started for one is never answered with another's signed object)."""

    @property
    def signing_destination(self) -> str:
        """The ``destination`` of signing jobs (a directory, or ``s3://bucket/prefix``)."""

    def prepare(self) -> None:
        """Check (and make) the destination before any package is placed."""

    def place_unsigned(self, package: Path, digest: str) -> Placed:
        """Put an unsigned package (SHA-384 ``digest``) in place; unchanged, it is not
        copied or uploaded again."""

    def signed(self, job: SigningJob) -> Placed:
        """Where a succeeded signing job wrote its signed object."""

    def record(self, placed: Placed) -> dict[str, Any]:
        """The cache's record of a placed object."""

    def from_record(self, record: dict[str, Any]) -> Placed | None:
        """A placed object from the cache's record (``None`` if it is another kind)."""

    def exists(self, placed: Placed) -> bool:
        """Whether a placed object may still be there (cheap; the verdict checks more)."""

    def reference(self, placed: Placed) -> str:
        """The form backends evaluate: a path, or ``s3://bucket/key``."""

    def label(self, placed: Placed) -> str:
        """A short name for the summary table."""

    def template_value(self, entry: Packageable, placed: Placed) -> Any:
        """The value of ``entry.property`` that points at ``placed``."""

    def place_template(self, body: bytes) -> str:
        """Put a packaged nested template in place; the ``Location``/``TemplateURL`` that
        points at it."""


@dataclass(frozen=True)
class LocalDirectory:
    """The local backend's artifact directory: packages are files in it."""

    root: Path

    @property
    def cache_scope(self) -> str:
        """The directory: two projects signing the same code with the same profile each
        get a signed object in their own artifact directory (the local signer answers a
        known client request token with the earlier job, wherever it wrote)."""
        return str(self.root.resolve())

    @property
    def signing_destination(self) -> str:
        """The directory itself."""
        return str(self.root)

    def prepare(self) -> None:
        """Make the directory."""
        self.root.mkdir(parents=True, exist_ok=True)

    def place_unsigned(self, package: Path, digest: str) -> Placed:
        """Copy the package to ``ROOT/<digest[:32]>.zip`` unless it is there."""
        target = self.root / f"{digest[:32]}.zip"
        if not target.is_file():
            import shutil  # only here: start-up time

            shutil.copyfile(package, target)
        return target

    def signed(self, job: SigningJob) -> Placed:
        """The job's ``signedObject.path``."""
        if job.signed_object is None or job.signed_object.path is None:
            raise ValidationError(f"signing job {job.job_id}: no signed local file")
        return Path(job.signed_object.path)

    def record(self, placed: Placed) -> dict[str, Any]:
        """``{path}``."""
        return {"path": str(placed)}

    def from_record(self, record: dict[str, Any]) -> Placed | None:
        """The recorded path."""
        return Path(record["path"]) if "path" in record else None

    def exists(self, placed: Placed) -> bool:
        """Whether the file is there."""
        return isinstance(placed, Path) and placed.is_file()

    def reference(self, placed: Placed) -> str:
        """The path."""
        return str(placed)

    def label(self, placed: Placed) -> str:
        """The file name."""
        return placed.name if isinstance(placed, Path) else placed.key

    def template_value(self, entry: Packageable, placed: Placed) -> Any:
        """The path for ``CodeUri``/``ContentUri``; ``{S3Bucket: LOCAL_BUCKET, S3Key:
        path}`` for ``Code``/``Content``."""
        location = str(placed)
        if entry.remote_form == "uri":
            return location
        return {"S3Bucket": LOCAL_BUCKET, "S3Key": location}

    def place_template(self, body: bytes) -> str:
        """Write ``ROOT/<sha256[:32]>.template.yaml`` (content-addressed, like the
        packages, so an unchanged template keeps its path); its absolute path."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{hashlib.sha256(body).hexdigest()[:32]}.template.yaml"
        if not target.is_file() or target.read_bytes() != body:
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_bytes(body)
            temporary.replace(target)
        return str(target)


class PutsObjects(Protocol):
    """The S3 upload the destination needs (the aws backend's object store)."""

    def require_versioning(self, bucket: str) -> None:
        """Refuse a bucket without versioning (Signer signs object versions only)."""

    def put_content_addressed(
        self, source: Path, bucket: str, prefix: str
    ) -> tuple[S3Object, bool]:
        """Upload ``source`` as ``prefix<sha256>.zip`` unless that object holds it."""

    def put_template(self, body: bytes, bucket: str, prefix: str) -> S3Object:
        """Upload a template as ``prefix<sha256>.template`` unless that object holds it."""

    def https_url(self, obj: S3Object) -> str:
        """The path-style HTTPS URL of an object (what ``TemplateURL`` takes)."""


class S3Prefix:
    """A versioned S3 bucket and key prefix, as ``sam package --s3-bucket --s3-prefix``:
    unsigned packages under content-addressed keys ``PREFIX/<sha256>.zip``, signed ones
    under ``PREFIX/signed_<jobId>.zip`` (SAM's convention)."""

    def __init__(self, objects: PutsObjects, bucket: str, prefix: str = "") -> None:
        self.objects = objects
        self.bucket = check_bucket(bucket, "--s3-bucket")
        self.prefix = prefix.strip("/")
        self.signing_destination = f"s3://{self.bucket}/{self.prefix}"
        self.cache_scope = self.signing_destination

    @property
    def key_prefix(self) -> str:
        """The prefix of every key: ``PREFIX/``, or nothing."""
        return f"{self.prefix}/" if self.prefix else ""

    def prepare(self) -> None:
        """Refuse a bucket without versioning, before anything is uploaded."""
        self.objects.require_versioning(self.bucket)

    def place_unsigned(self, package: Path, digest: str) -> Placed:
        """Upload as ``PREFIX/<sha256>.zip``, unless that object already holds it."""
        placed, _ = self.objects.put_content_addressed(package, self.bucket, self.key_prefix)
        return placed

    def signed(self, job: SigningJob) -> Placed:
        """The job's ``signedObject`` ``{bucketName, key, version}``."""
        if job.signed_object is None or job.signed_object.s3 is None:
            raise ValidationError(f"signing job {job.job_id}: no signed S3 object")
        return job.signed_object.s3

    def record(self, placed: Placed) -> dict[str, Any]:
        """``{bucketName, key, version}``."""
        assert isinstance(placed, S3Object)
        record = {"bucketName": placed.bucket, "key": placed.key}
        if placed.version:
            record["version"] = placed.version
        return record

    def from_record(self, record: dict[str, Any]) -> Placed | None:
        """The recorded object."""
        return S3Object.from_location(record) if "bucketName" in record else None

    def exists(self, placed: Placed) -> bool:
        """Taken as there: the verdict's look-ups find out (and say) otherwise."""
        return isinstance(placed, S3Object)

    def reference(self, placed: Placed) -> str:
        """``s3://bucket/key``: its latest version, which is what a ``CodeUri`` (no
        version) deploys, so an object overwritten since it was signed fails to verify
        and is signed anew."""
        if isinstance(placed, S3Object):
            return f"s3://{placed.bucket}/{placed.key}"
        return str(placed)

    def label(self, placed: Placed) -> str:
        """The key."""
        return placed.key if isinstance(placed, S3Object) else placed.name

    def template_value(self, entry: Packageable, placed: Placed) -> Any:
        """``s3://bucket/key`` for ``CodeUri``/``ContentUri``; ``{S3Bucket, S3Key,
        S3ObjectVersion}`` for ``Code``/``Content``."""
        assert isinstance(placed, S3Object)
        if entry.remote_form == "uri":
            return f"s3://{placed.bucket}/{placed.key}"
        return placed.lambda_code()

    def place_template(self, body: bytes) -> str:
        """Upload as ``PREFIX/<sha256>.template``; its path-style HTTPS URL with the version,
        as ``sam package`` writes a nested stack's ``TemplateURL``/``Location``."""
        placed = self.objects.put_template(body, self.bucket, self.key_prefix)
        return self.objects.https_url(placed)
