"""Predicting Lambda's verdict for an S3 object without deploying it, from what its bytes
are, not from where they lie.

The object is read (GetObject: the version asked for, else the latest), then:

- bytes carrying this project's signature (as ``sam-ext serve``'s Signer writes it) are
  verified as Lambda verifies them (:func:`provider.inspect_package.facts_from_bytes`: the
  digest of the signed bytes, the envelope's ECDSA signature). Signer gives out no
  profile's public key, so the key is vouched for by the signing job the envelope names
  (DescribeSigningJob): that job must have succeeded, with the envelope's profile version,
  and the object it wrote (its first version) must carry the same key. The job's and the
  profile version's revocation records (DescribeSigningJob, GetSigningProfile) decide the
  rest; the envelope's signing and expiry times are its own.
- Other bytes (AWS Signer's own format is not documented) are matched to a signing job's
  signed object: the job the key names (or the caller), then the account's succeeded jobs
  (ListSigningJobs), by the ETag of the version each job wrote (ListObjectVersions), then
  by the bytes themselves. A match gives that job's records.
- Bytes neither decides leave every check ``UNKNOWN``, with the reason: they may carry a
  signature this backend cannot read, so they are never called unsigned, nor allowed.

A copy is therefore judged as the original, wherever it lies, and a changed copy fails
integrity (or stays undecided), wherever it lies, as Lambda would find.

The look-ups every object of one command shares (GetSigningProfile of a profile, the
ListSigningJobs listing) are read through :func:`provider.lookups.looked_up`: once within
a command's :func:`~provider.lookups.lookup_scope` (``sam-ext check``, ``sam-ext audit``),
each time outside one. Each object's own reads (GetObject, ListObjectVersions,
DescribeSigningJob) are made for it.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from provider.arns import PLATFORM_LAMBDA, Location
from provider.backends.aws.errors import aws_call
from provider.backends.aws.s3 import ObjectStore, ObjectVersion, S3Object, StoredObject
from provider.backends.values import SigningJob
from provider.envelope import open_envelope
from provider.errors import AccessDeniedError, CodesignError, NotFoundError, ValidationError
from provider.inspect_package import PublisherRecord, facts_from_bytes
from provider.lookups import looked_up
from provider.package import PackageError, SignedLayout, read_layout
from provider.statuses import JobStatus, ProfileStatus
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
#: At most this many of the account's signing jobs are searched for bytes that carry no
#: readable signature (the newest first, as ListSigningJobs lists them).
MAX_JOBS_SEARCHED = 1000


def job_id_from_key(key: str) -> str | None:
    """The signing job id a signed object's key ends with, if it ends with one."""
    match = _JOB_KEY_RE.search(key)
    return match["job"] if match else None


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _NoPublishers:
    """No profile's key is known in advance: the signing job vouches for it instead."""

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        return None

    def signature_revocation(self, job_id: str) -> str | None:
        return None


def _undecided(name: str, why: str) -> ArtifactFacts:
    """Bytes nothing here decides: every check unknown, and why."""
    return ArtifactFacts(name=name, signed=False, unknown=frozenset(Check), undecided=why)


def _describe(clients: AwsClients, job_id: str) -> dict[str, Any]:
    with aws_call("signer:DescribeSigningJob", f"signing job {job_id}"):
        return dict(clients.signer.describe_signing_job(jobId=job_id))


def _profile(clients: AwsClients, job: dict[str, Any]) -> dict[str, Any] | None:
    """GetSigningProfile of the job's profile (once per command run: every object a check
    judges shares it); ``None`` when this caller may not see it. The answer is shared:
    read it, never change it."""
    name, owner = str(job["profileName"]), str(job.get("jobOwner") or "")
    params: dict[str, Any] = {"profileName": name}
    if owner:
        params["profileOwner"] = owner

    def read() -> dict[str, Any] | None:
        try:
            with aws_call("signer:GetSigningProfile", f"signing profile {name!r}"):
                return dict(clients.signer.get_signing_profile(**params))
        except (AccessDeniedError, NotFoundError):
            return None

    return looked_up(("signer:GetSigningProfile", clients.region, owner, name), read)


def _version_arn(clients: AwsClients, job: dict[str, Any]) -> str:
    owner = str(job.get("jobOwner") or clients.caller_account())
    return Location(clients.region, owner, clients.partition).profile_version_arn(
        job["profileName"], job["profileVersion"]
    )


def _revocations(
    clients: AwsClients, job: dict[str, Any]
) -> tuple[datetime | None, str | None, bool]:
    """The profile version's revocation instant, the signature's revocation reason, and
    whether the revocation check stays unknown (the profile cannot be read)."""
    revoked_reason = (job.get("revocationRecord") or {}).get("reason")
    profile = _profile(clients, job)
    if profile is None or profile.get("profileVersion") != job["profileVersion"]:
        # The profile version's revocation cannot be read: unknown, unless the signature
        # itself is revoked (which fails the check whatever the profile says).
        return None, revoked_reason, revoked_reason is None
    record = profile.get("revocationRecord") or {}
    revoked_from = _utc(record.get("revocationEffectiveFrom"))
    unknown = (
        revoked_from is None
        and profile.get("status") == ProfileStatus.REVOKED
        and not revoked_reason
    )
    return revoked_from, revoked_reason, unknown


def _written(versions: list[ObjectVersion], job: dict[str, Any], where: str) -> ObjectVersion | str:
    """The version of a job's signed object that the job wrote (its first), or why it is
    gone."""
    written = [v for v in versions if not v.delete_marker]
    if not written:
        return f"the object signing job {job['jobId']} wrote ({where}) was deleted"
    original = written[0]
    if original.version == "null":
        completed = _utc(job.get("completedAt")) or _utc(job.get("createdAt"))
        modified = _utc(original.last_modified)
        if completed and modified and modified > completed + _SKEW:
            return (
                f"the object signing job {job['jobId']} wrote ({where}, an unversioned bucket) "
                f"was overwritten at {modified.isoformat()}, after the job completed"
            )
    return original


def _signed_object(job: dict[str, Any]) -> tuple[str, str] | None:
    signed: dict[str, Any] = (job.get("signedObject") or {}).get("s3") or {}
    bucket, key = signed.get("bucketName"), signed.get("key")
    return (str(bucket), str(key)) if bucket and key else None


def _read_written(
    objects: ObjectStore, stored: StoredObject, bucket: str, key: str, original: ObjectVersion
) -> StoredObject:
    """The bytes of the version a job wrote (``stored`` itself when it is that version)."""
    version = None if original.version == "null" else original.version
    if (stored.obj.bucket, stored.obj.key, stored.obj.version) == (bucket, key, version):
        return stored
    return objects.read(S3Object(bucket, key, version))


# --- bytes that carry this project's signature ------------------------------------------------
def _job_key(
    clients: AwsClients, objects: ObjectStore, stored: StoredObject, job: dict[str, Any]
) -> str:
    """The public key (base64) in the signature of the object ``job`` wrote.

    Raises :class:`_Undecidable` when that object cannot be read, or carries no signature
    this backend can read."""
    job_id = job["jobId"]
    signed = _signed_object(job)
    if signed is None:
        raise _Undecidable(f"signing job {job_id} names no signed object")
    bucket, key = signed
    where = f"s3://{bucket}/{key}"
    try:
        original = _written(objects.versions(bucket, key), job, where)
        if isinstance(original, str):
            raise _Undecidable(original)
        written = _read_written(objects, stored, bucket, key, original)
        layout = read_layout(written.data)
        if layout is None or not layout.envelope:
            raise _Undecidable(
                f"the object signing job {job_id} wrote ({where}) carries no signature in "
                "this project's format"
            )
        return str(open_envelope(layout.envelope)["publicKey"])
    except (AccessDeniedError, NotFoundError) as exc:
        raise _Undecidable(
            f"the object signing job {job_id} wrote cannot be read ({exc.message})"
        ) from None
    except (PackageError, ValidationError) as exc:
        reason = exc.reason if isinstance(exc, PackageError) else exc.message
        raise _Undecidable(
            f"the object signing job {job_id} wrote ({where}) has no readable signature ({reason})"
        ) from None


class _Undecidable(CodesignError):
    """What leaves the signing key of a signature unconfirmed (never leaves this module:
    it becomes the facts' ``undecided`` reason)."""

    code = "Undecidable"


def _signature_facts(
    clients: AwsClients,
    objects: ObjectStore,
    stored: StoredObject,
    layout: SignedLayout,
    name: str,
) -> ArtifactFacts:
    facts = facts_from_bytes(stored.data, _NoPublishers(), name=name)
    if facts.integrity_error or facts.malformed or not facts.signed or facts.job_id is None:
        return facts
    job_id, claimed = facts.job_id, facts.profile_version_arn
    facts = replace(facts, publisher_known=True)
    unconfirmed = frozenset({Check.INTEGRITY, Check.REVOCATION})
    try:
        job = _describe(clients, job_id)
    except (AccessDeniedError, NotFoundError) as exc:
        return replace(
            facts,
            unknown=unconfirmed,
            undecided=f"signing job {job_id}, which the signature names, cannot be read, so "
            f"its signing key cannot be confirmed ({exc.message})",
        )
    status = job.get("status")
    if status == JobStatus.IN_PROGRESS:
        return replace(
            facts,
            unknown=unconfirmed,
            undecided=f"signing job {job_id}, which the signature names, is still InProgress",
        )
    if status != JobStatus.SUCCEEDED:
        return replace(
            facts,
            integrity_error=f"the signature names signing job {job_id}, which ended {status} "
            f"({job.get('statusReason', 'no reason')}) and signed nothing",
        )
    signer = _version_arn(clients, job)
    if signer != claimed:
        return replace(
            facts,
            integrity_error=f"the signature claims {claimed}, but signing job {job_id} "
            f"signed with {signer}",
        )
    revoked_from, revoked_reason, revocation_unknown = _revocations(clients, job)
    facts = replace(
        facts,
        profile_revoked_from=revoked_from,
        signature_revoked_reason=revoked_reason,
        unknown=frozenset({Check.REVOCATION}) if revocation_unknown else frozenset(),
        undecided=(
            f"the revocation record of {signer} cannot be read" if revocation_unknown else None
        ),
    )
    try:
        expected = _job_key(clients, objects, stored, job)
    except _Undecidable as exc:
        return replace(
            facts,
            unknown=facts.unknown | {Check.INTEGRITY},
            undecided=f"the signing key cannot be confirmed: {exc.message}",
        )
    # The envelope is open (facts_from_bytes verified it under this key).
    if json.loads(layout.envelope)["publicKey"] != expected:
        return replace(
            facts,
            integrity_error=f"the signing key is not the key of {signer} (the one signing "
            f"job {job_id} signed with)",
        )
    return facts


# --- other bytes: matched to a signing job's signed object ------------------------------------
def _job_facts(clients: AwsClients, job: dict[str, Any], name: str) -> ArtifactFacts:
    """The facts of a signature from its job's records (the bytes are what it wrote)."""
    revoked_from, revoked_reason, revocation_unknown = _revocations(clients, job)
    signer = _version_arn(clients, job)
    return ArtifactFacts(
        name=name,
        signed=True,
        profile_version_arn=signer,
        job_id=str(job["jobId"]),
        signed_at=_utc(job.get("completedAt")) or _utc(job.get("createdAt")),
        expires_at=_utc(job.get("signatureExpiresAt")),
        profile_revoked_from=revoked_from,
        signature_revoked_reason=revoked_reason,
        unknown=frozenset({Check.REVOCATION}) if revocation_unknown else frozenset(),
        undecided=(
            f"the revocation record of {signer} cannot be read" if revocation_unknown else None
        ),
    )


def _wrote(
    objects: ObjectStore,
    stored: StoredObject,
    digest: str,
    job: dict[str, Any],
    versions: list[ObjectVersion] | None,
) -> bool:
    """Whether ``job`` wrote exactly the bytes of ``stored``: the version it wrote has the
    same ETag (or is that very version), and then the same SHA-384."""
    signed = _signed_object(job)
    if signed is None or not versions:
        return False
    bucket, key = signed
    original = _written(versions, job, f"s3://{bucket}/{key}")
    if isinstance(original, str) or original.etag != stored.etag:
        return False
    try:
        written = _read_written(objects, stored, bucket, key, original)
    except (AccessDeniedError, NotFoundError):
        return False
    return written is stored or hashlib.sha384(written.data).hexdigest() == digest


def _listed_jobs(clients: AwsClients) -> list[dict[str, Any]]:
    """The account's succeeded Lambda signing jobs (ListSigningJobs), up to
    :data:`MAX_JOBS_SEARCHED` (once per command run: every object a check judges shares
    them). The answer is shared: read it, never change it."""

    def read() -> list[dict[str, Any]]:
        paginator = clients.signer.get_paginator("list_signing_jobs")
        with aws_call("signer:ListSigningJobs", "signing jobs"):
            result = paginator.paginate(
                status="Succeeded",  # boto3-stubs types it as the literal
                platformId=PLATFORM_LAMBDA,
                PaginationConfig={"MaxItems": MAX_JOBS_SEARCHED},
            ).build_full_result()
        return [dict(job) for job in result.get("jobs", [])]

    return looked_up(("signer:ListSigningJobs", clients.region), read)


def _matched_facts(
    clients: AwsClients,
    objects: ObjectStore,
    stored: StoredObject,
    name: str,
    named: str | None,
) -> ArtifactFacts:
    digest = hashlib.sha384(stored.data).hexdigest()
    if named is not None:
        try:
            job = _describe(clients, named)
            signed = _signed_object(job)
            if job.get("status") == JobStatus.SUCCEEDED and signed is not None:
                versions = objects.versions(*signed)
                if _wrote(objects, stored, digest, job, versions):
                    return _job_facts(clients, job, name)
        except (AccessDeniedError, NotFoundError):
            pass  # the account's jobs are searched next
    unreadable = "it carries no signature this backend can read (AWS Signer's own format is not"
    try:
        jobs = [job for job in _listed_jobs(clients) if job.get("jobId") != named]
    except CodesignError as exc:
        return _undecided(
            name,
            f"{unreadable} documented), and the signing jobs cannot be listed to find the one "
            f"that wrote these bytes ({exc.message})",
        )
    by_place: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for job in jobs:
        signed = _signed_object(job)
        if signed is not None:
            directory = posixpath.dirname(signed[1])
            by_place.setdefault((signed[0], f"{directory}/" if directory else ""), []).append(job)
    skipped = 0
    for (bucket, prefix), group in by_place.items():
        try:
            listing = objects.versions_under(bucket, prefix)
        except CodesignError:
            skipped += len(group)
            continue
        for job in group:
            signed = _signed_object(job)
            assert signed is not None
            if _wrote(objects, stored, digest, job, listing.get(signed[1])):
                return _job_facts(clients, _describe(clients, str(job["jobId"])), name)
    cut = f" (the objects of {skipped} job(s) could not be listed)" if skipped else ""
    return _undecided(
        name,
        f"{unreadable} documented), and no signing job this account can see wrote these bytes{cut}",
    )


def object_facts(
    clients: AwsClients,
    objects: ObjectStore,
    obj: S3Object,
    *,
    name: str,
    job_id: str | None = None,
) -> ArtifactFacts:
    """What the checks need to know about the S3 object ``obj``, judged by its bytes
    (``job_id``: the job to match other bytes with first, else the one its key names)."""
    try:
        stored = objects.read(obj)
    except AccessDeniedError as exc:
        return _undecided(name, f"its bytes cannot be read ({exc.message})")
    try:
        layout = read_layout(stored.data)
    except PackageError as exc:
        return ArtifactFacts(name=name, malformed=exc.reason)
    if layout is not None and not layout.foreign:
        return _signature_facts(clients, objects, stored, layout, name)
    return _matched_facts(clients, objects, stored, name, job_id or job_id_from_key(obj.key))


def signed_object_sha256(objects: ObjectStore, job: SigningJob) -> str | None:
    """Lambda's ``CodeSha256`` of the object ``job`` signed, in the version it wrote (the
    one its record names, else the key's first); ``None`` when that object cannot be read,
    was deleted, or was overwritten in an unversioned bucket."""
    signed = job.signed_object.s3 if job.signed_object is not None else None
    if signed is None or not job.succeeded:
        return None
    try:
        obj = signed
        if not signed.version:
            versions = objects.versions(signed.bucket, signed.key)
            original = _written(versions, dict(job.document), signed.uri)
            if isinstance(original, str):
                return None
            version = None if original.version == "null" else original.version
            obj = S3Object(signed.bucket, signed.key, version)
        return objects.code_sha256(obj)
    except (AccessDeniedError, NotFoundError):
        return None
