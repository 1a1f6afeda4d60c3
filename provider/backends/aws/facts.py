"""Predicting Lambda's verdict for a signed S3 object, without deploying it.

Where AWS puts a signature inside the package is not documented, so the facts come from
the records around it instead of from its bytes:

- DescribeSigningJob: the job's status, profile version, ``signatureExpiresAt`` and the
  signature's ``revocationRecord``, and the object it wrote;
- GetSigningProfile (of the job's owner): the profile's status and ``revocationRecord``
  (``revocationEffectiveFrom``);
- ListObjectVersions: whether the object is still what the job wrote. The job wrote the
  key's first version (the key holds the job id); a later version with another ETag is
  code changed after signing, an integrity failure as Lambda would find it.

The same :func:`provider.verdict.decide` as the local backend turns them into a verdict.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from provider.arns import Location
from provider.backends.aws.errors import AccessDeniedError, aws_call
from provider.backends.aws.s3 import ObjectStore, ObjectVersion, S3Object
from provider.errors import NotFoundError
from provider.verdict import ArtifactFacts, Check

if TYPE_CHECKING:
    from provider.backends.aws.session import AwsClients

#: Signer names a signed object ``prefix + jobId + ".zip"`` (observed, not documented).
_JOB_KEY_RE = re.compile(
    r"(?P<job>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.zip$"
)
#: An unversioned destination has one "null" version: an overwrite shows only as a
#: LastModified later than the job's completion (beyond this much clock skew).
_SKEW = timedelta(minutes=5)


def job_id_from_key(key: str) -> str | None:
    """The signing job id a signed object's key ends with, if it ends with one."""
    match = _JOB_KEY_RE.search(key)
    return match["job"] if match else None


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _integrity(
    objects: ObjectStore, obj: S3Object, job: dict[str, Any], completed_at: datetime | None
) -> str | None:
    """Why ``obj`` is not what the signing job wrote, or ``None`` when it still is."""
    signed: dict[str, Any] = (job.get("signedObject") or {}).get("s3") or {}
    if (signed.get("bucketName"), signed.get("key")) != (obj.bucket, obj.key):
        written = f"s3://{signed.get('bucketName')}/{signed.get('key')}"
        return f"{obj.uri} is not the object signing job {job['jobId']} wrote ({written})"
    versions = objects.versions(obj.bucket, obj.key)
    written_versions = [v for v in versions if not v.delete_marker]
    if not written_versions:
        raise NotFoundError(f"{obj.uri} was deleted (only delete markers remain)")
    original = written_versions[0]
    target: ObjectVersion | None
    if obj.version:
        target = next((v for v in versions if v.version == obj.version), None)
        if target is None or target.delete_marker:
            raise NotFoundError(f"{obj.uri}: that version does not exist")
    else:
        target = next((v for v in versions if v.is_latest), versions[-1])
        if target.delete_marker:
            raise NotFoundError(f"{obj.uri} was deleted (its latest version is a delete marker)")
    if original.version == "null":
        modified = _utc(target.last_modified)
        if completed_at and modified and modified > completed_at + _SKEW:
            return (
                f"{obj.uri} was modified at {modified.isoformat()}, after signing job "
                f"{job['jobId']} completed"
            )
        return None
    if target.etag != original.etag:
        return (
            f"{obj.uri} version {target.version} (ETag {target.etag}) is not what signing job "
            f"{job['jobId']} wrote (version {original.version}, ETag {original.etag}): the "
            "object was overwritten after signing"
        )
    return None


def _profile(clients: AwsClients, job: dict[str, Any]) -> dict[str, Any] | None:
    """GetSigningProfile of the job's profile; ``None`` when this caller may not see it."""
    params: dict[str, Any] = {"profileName": job["profileName"]}
    if job.get("jobOwner"):
        params["profileOwner"] = job["jobOwner"]
    try:
        with aws_call("signer:GetSigningProfile", f"signing profile {job['profileName']!r}"):
            return dict(clients.signer.get_signing_profile(**params))
    except (AccessDeniedError, NotFoundError):
        return None


def object_facts(
    clients: AwsClients,
    objects: ObjectStore,
    obj: S3Object,
    *,
    name: str,
    job_id: str | None = None,
) -> ArtifactFacts:
    """What the checks need to know about a (signed) S3 object."""
    job_id = job_id or job_id_from_key(obj.key)
    if job_id is None:
        objects.head(obj)  # a missing object is an error, not "unsigned"
        # No signing job names it: as far as this backend can tell, it is unsigned.
        return ArtifactFacts(name=name, signed=False)
    with aws_call("signer:DescribeSigningJob", f"signing job {job_id} (of {obj.uri})"):
        job: dict[str, Any] = dict(clients.signer.describe_signing_job(jobId=job_id))
    status = job.get("status")
    if status == "InProgress":
        return ArtifactFacts(name=name, signed=True, job_id=job_id, unknown=frozenset(Check))
    if status != "Succeeded":
        return ArtifactFacts(
            name=name,
            signed=True,
            job_id=job_id,
            integrity_error=(
                f"signing job {job_id} ended {status}: {job.get('statusReason', 'no reason')}; "
                f"{obj.uri} is not a package it signed"
            ),
        )
    completed_at = _utc(job.get("completedAt")) or _utc(job.get("createdAt"))
    unknown: set[Check] = set()
    try:
        integrity_error = _integrity(objects, obj, job, completed_at)
    except AccessDeniedError:
        integrity_error = None
        unknown.add(Check.INTEGRITY)
    owner = str(job.get("jobOwner") or clients.caller_account())
    version_arn = Location(clients.region, owner, clients.partition).profile_version_arn(
        job["profileName"], job["profileVersion"]
    )
    revoked_reason = (job.get("revocationRecord") or {}).get("reason")
    revoked_from: datetime | None = None
    profile = _profile(clients, job)
    if profile is None or profile.get("profileVersion") != job["profileVersion"]:
        # The profile version's revocation cannot be read: unknown, unless the signature
        # itself is revoked (which fails the check whatever the profile says).
        if revoked_reason is None:
            unknown.add(Check.REVOCATION)
    else:
        record = profile.get("revocationRecord") or {}
        revoked_from = _utc(record.get("revocationEffectiveFrom"))
        if revoked_from is None and profile.get("status") == "Revoked" and not revoked_reason:
            unknown.add(Check.REVOCATION)
    return ArtifactFacts(
        name=name,
        signed=True,
        integrity_error=integrity_error,
        profile_version_arn=version_arn,
        job_id=job_id,
        signed_at=completed_at,
        expires_at=_utc(job.get("signatureExpiresAt")),
        profile_revoked_from=revoked_from,
        signature_revoked_reason=revoked_reason,
        unknown=frozenset(unknown),
    )
