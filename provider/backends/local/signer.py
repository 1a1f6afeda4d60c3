"""AWS Signer's operations on the local keystore."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from provider.archive import BuiltPackage
from provider.arns import (
    PLATFORM_LAMBDA,
    Location,
    check_account,
    check_profile_name,
    new_job_id,
    new_profile_version,
    parse_profile_version_arn,
)
from provider.backends.base import (
    Document,
    check_profile_revocation,
    check_reason,
    profile_request,
)
from provider.backends.jobs import JobFilter, Pagination
from provider.backends.local import keys, seals
from provider.backends.local.store import Keystore
from provider.backends.values import SigningJob, SigningProfile
from provider.clock import format_instant, parse_instant
from provider.envelope import public_key_b64, seal
from provider.errors import (
    CodesignError,
    ConflictError,
    KeystoreError,
    NotFoundError,
    ValidationError,
)
from provider.inspect_package import PublisherRecord, facts_from_file, mapped
from provider.package import (
    PackageError,
    UnsignedArchive,
    prepare_unsigned,
    prepare_written,
    write_signed,
)
from provider.statuses import JobStatus, ProfileStatus
from provider.validity import ValidityPeriod
from provider.verdict import ArtifactFacts

_PLATFORM_DISPLAY = "AWS Lambda"
#: Lambda's limit for a direct .zip upload; larger sources fail the job like Signer's.
_MAX_SOURCE_BYTES = 250 * 1024 * 1024


def _check_size(size: int) -> None:
    if size > _MAX_SOURCE_BYTES:
        raise PackageError(f"the source is {size} bytes; the limit is {_MAX_SOURCE_BYTES}")


def _write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``:
    a crash leaves either no file or the whole file, never part of one."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    try:
        with temporary.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_TEMPORARY = re.compile(r"^\..+\.tmp(?P<pid>\d+)\.\d+$")


def remove_orphaned_temporaries(directory: Path, *, at_start: bool = False) -> None:
    """Delete temporary files left in ``directory`` by signers that were killed
    (``at_start``: this process has written none yet, so its own pid's are a dead
    process's whose pid was reused)."""
    for path in directory.glob(".*.tmp*"):
        match = _TEMPORARY.match(path.name)
        if match and (
            (at_start and int(match["pid"]) == os.getpid()) or not _pid_alive(int(match["pid"]))
        ):
            path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalSigner:
    """PutSigningProfile ... RevokeSignature against a :class:`Keystore` (a
    :class:`~provider.backends.base.SignerPart`; also the trust records the Lambda part
    judges publishers by)."""

    def __init__(self, store: Keystore, location: Location) -> None:
        self.store = store
        self.location = location

    # --- profiles ---------------------------------------------------------------------
    def _profile_row(self, profile_name: str, profile_owner: str | None = None) -> sqlite3.Row:
        check_profile_name(profile_name)
        if profile_owner is not None and check_account(profile_owner) != self.location.account:
            raise NotFoundError(
                f"signing profile {profile_name!r} of account {profile_owner} is not in this "
                f"keystore (its account is {self.location.account})"
            )
        with self.store.read() as db:
            row = db.execute("SELECT * FROM profiles WHERE name = ?", (profile_name,)).fetchone()
        if row is None:
            raise NotFoundError(f"signing profile {profile_name!r} does not exist")
        return row  # type: ignore[no-any-return]

    def _profile_document(self, row: sqlite3.Row) -> Document:
        document: Document = {
            "profileName": row["name"],
            "profileVersion": row["version"],
            "profileVersionArn": self.location.profile_version_arn(row["name"], row["version"]),
            "arn": self.location.profile_arn(row["name"]),
            "platformId": row["platform_id"],
            "platformDisplayName": _PLATFORM_DISPLAY,
            "signatureValidityPeriod": {
                "value": row["validity_value"],
                "type": row["validity_type"],
            },
            "status": row["status"],
            "tags": json.loads(row["tags"]),
        }
        if row["status_reason"]:
            document["statusReason"] = row["status_reason"]
        if row["revocation_effective_from"]:
            document["revocationRecord"] = {
                "revocationEffectiveFrom": row["revocation_effective_from"],
                "revokedAt": row["revoked_at"],
                "revokedBy": row["revoked_by"],
            }
        return document

    def put_signing_profile(
        self,
        profile_name: str,
        *,
        platform_id: str = PLATFORM_LAMBDA,
        validity: ValidityPeriod | None = None,
        tags: dict[str, str] | None = None,
        now: datetime,
    ) -> Document:
        """PutSigningProfile. A name is never reused, even once canceled (as on AWS)."""
        request = profile_request(profile_name, platform_id, validity, tags)
        period = request.validity
        version = new_profile_version()
        key = keys.generate()
        with self.store.transaction() as db:
            existing = db.execute(
                "SELECT status FROM profiles WHERE name = ?", (profile_name,)
            ).fetchone()
            if existing is not None:
                raise ConflictError(
                    f"signing profile {profile_name!r} already exists (status "
                    f"{existing['status']}); profile names are never reused, choose another"
                )
            keys.save(key, self.store.key_path(profile_name, version))
            db.execute(
                "INSERT INTO profiles (name, version, platform_id, validity_value, "
                "validity_type, status, created_at, public_key, tags) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    profile_name,
                    version,
                    request.platform_id,
                    period.value,
                    period.type,
                    ProfileStatus.ACTIVE,
                    format_instant(now),
                    public_key_b64(key.public_key()),
                    json.dumps(request.tags, sort_keys=True),
                ),
            )
        return {
            "arn": self.location.profile_arn(profile_name),
            "profileVersion": version,
            "profileVersionArn": self.location.profile_version_arn(profile_name, version),
        }

    def get_signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> Document:
        """GetSigningProfile."""
        return self._profile_document(self._profile_row(profile_name, profile_owner))

    def signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> SigningProfile:
        """GetSigningProfile, as a :class:`SigningProfile`."""
        return SigningProfile.from_document(
            self.get_signing_profile(profile_name, profile_owner=profile_owner)
        )

    def list_signing_profiles(self, *, include_canceled: bool = False) -> Document:
        """ListSigningProfiles (canceled ones only when asked, as on AWS)."""
        with self.store.read() as db:
            rows = db.execute("SELECT * FROM profiles ORDER BY name").fetchall()
        return {
            "profiles": [
                self._profile_document(row)
                for row in rows
                if include_canceled or row["status"] != ProfileStatus.CANCELED
            ]
        }

    def cancel_signing_profile(self, profile_name: str, *, now: datetime) -> None:
        """CancelSigningProfile. Signatures already made stay valid."""
        self._profile_row(profile_name)
        with self.store.transaction() as db:
            db.execute(
                "UPDATE profiles SET status = ? WHERE name = ? AND status = ?",
                (ProfileStatus.CANCELED, profile_name, ProfileStatus.ACTIVE),
            )

    def revoke_signing_profile(
        self,
        profile_name: str,
        profile_version: str,
        reason: str,
        effective_time: datetime,
        *,
        now: datetime,
    ) -> None:
        """RevokeSigningProfile: irreversible; a repeat may only move the time earlier."""
        check_profile_revocation(profile_version, reason, effective_time, now)
        row = self._profile_row(profile_name)
        if row["version"] != profile_version:
            raise NotFoundError(
                f"signing profile {profile_name!r} has no version {profile_version!r}"
            )
        previous = row["revocation_effective_from"]
        if previous and effective_time > parse_instant(previous, field="revocationEffectiveFrom"):
            raise ValidationError(
                f"effectiveTime: {format_instant(effective_time)} is later than the current "
                f"revocation's {previous}; a revocation can only move earlier"
            )
        with self.store.transaction() as db:
            db.execute(
                "UPDATE profiles SET status = ?, status_reason = ?, "
                "revocation_effective_from = ?, revoked_at = ?, revoked_by = ? WHERE name = ?",
                (
                    ProfileStatus.REVOKED,
                    reason,
                    format_instant(effective_time),
                    format_instant(now),
                    f"arn:aws:iam::{self.location.account}:root",
                    profile_name,
                ),
            )

    # --- jobs ---------------------------------------------------------------------------
    # A job's record and its signed object change in this order, so that whatever moment a
    # process is killed at, a Succeeded job has its whole signed object and no object is
    # left for a job that is not Succeeded (once the interrupted job is failed):
    #   InProgress row (with the object's target path) -> object written (temporary file,
    #   fsync, rename) -> Succeeded row, one durable commit;
    #   or, on any failure: object removed -> Failed row.
    def _fail_orphaned_jobs(self, now: datetime) -> None:
        """Jobs left ``InProgress`` by a process that died are ``Failed`` from now on.
        Done once per run (per keystore object), at its first job."""
        if not self.store.first_time("fail-orphaned-jobs"):
            return
        self.fail_interrupted_jobs(now, "the signing process ended before the job completed")

    def fail_interrupted_jobs(self, now: datetime, reason: str, *, at_start: bool = False) -> int:
        """Fail the jobs ``InProgress`` whose process has ended, each signed object it may
        have written removed first; returns how many. ``at_start``: called by a process
        before it started any job, so a job recorded with its own pid belongs to an
        earlier process whose pid was reused."""
        with self.store.read() as db:
            rows = db.execute(
                "SELECT job_id, pid, target_path FROM jobs WHERE status = ?",
                (JobStatus.IN_PROGRESS,),
            ).fetchall()
        dead = [
            row
            for row in rows
            if (at_start and row["pid"] == os.getpid()) or not _pid_alive(row["pid"])
        ]
        for row in dead:
            if row["target_path"]:
                Path(row["target_path"]).unlink(missing_ok=True)
        if dead:
            with self.store.transaction() as db:
                db.executemany(
                    "UPDATE jobs SET status = ?, status_reason = ?, completed_at = ? "
                    "WHERE job_id = ? AND status = ?",
                    [
                        (
                            JobStatus.FAILED,
                            reason,
                            format_instant(now),
                            row["job_id"],
                            JobStatus.IN_PROGRESS,
                        )
                        for row in dead
                    ],
                )
        return len(dead)

    def sign_package(
        self,
        source: Path,
        destination: str,
        profile_name: str,
        *,
        profile_owner: str | None = None,
        client_request_token: str | None = None,
        now: datetime,
        prefix: str = "",
    ) -> Document:
        """StartSigningJob + wait + DescribeSigningJob, on local files.

        The signed object is written to ``destination/prefix + jobId + ".zip"`` through a
        temporary file and a rename, so no partial package is ever visible. The source is
        checked member by member (it comes from outside).
        """
        if not Path(source).is_file():
            # Bad input, as on the aws backend: no job is recorded for a file not there.
            raise ValidationError(f"source: {str(source)!r} does not exist or is not a file")
        job, _ = self._start(
            source,
            None,
            destination,
            profile_name,
            profile_owner=profile_owner,
            client_request_token=client_request_token,
            now=now,
            prefix=prefix,
        )
        return job

    def sign_archive(
        self,
        source: Path,
        destination: str,
        profile_name: str,
        *,
        written: BuiltPackage | None = None,
        profile_owner: str | None = None,
        client_request_token: str | None = None,
        now: datetime,
        prefix: str = "",
    ) -> tuple[SigningJob, bool]:
        """:meth:`sign_package` for a .zip this process built: signed from ``written`` (the
        bytes just written, checked by :func:`~provider.package.prepare_written`: neither
        read nor hashed again) when given, else read from ``source`` and checked member by
        member. An archive that cannot be signed fails the job with the reason, as
        :meth:`sign_package` does. Returns the job and whether this call started it."""
        job, started = self._start(
            source,
            written,
            destination,
            profile_name,
            profile_owner=profile_owner,
            client_request_token=client_request_token,
            now=now,
            prefix=prefix,
        )
        return SigningJob.from_document(job), started

    def default_signing_destination(self) -> str:
        """The keystore's ``artifacts`` directory."""
        return str(self.store.home / "artifacts")

    def _active_profile(self, profile_name: str, profile_owner: str | None = None) -> sqlite3.Row:
        row = self._profile_row(profile_name, profile_owner)
        if row["status"] != ProfileStatus.ACTIVE:
            raise ValidationError(
                f"profileName: signing profile {profile_name!r} is {row['status']}; canceled "
                "or revoked profiles start no signing jobs"
            )
        return row

    def _start(
        self,
        source: Path,
        unsigned: UnsignedArchive | BuiltPackage | None,
        destination: str,
        profile_name: str,
        *,
        profile_owner: str | None,
        client_request_token: str | None,
        now: datetime,
        prefix: str,
    ) -> tuple[Document, bool]:
        self._fail_orphaned_jobs(now)
        row = self._active_profile(profile_name, profile_owner)
        job_id = new_job_id()
        target = Path(destination) / f"{prefix}{job_id}.zip"
        existing = self._insert_job(job_id, row, str(source), target, client_request_token, now)
        if existing is not None:
            return self.describe_signing_job(existing), False
        self._run(job_id, row, target, source if unsigned is None else unsigned, None, now)
        return self.describe_signing_job(job_id), True

    def _insert_job(
        self,
        job_id: str,
        profile: sqlite3.Row,
        source: str,
        target: Path,
        client_request_token: str | None,
        now: datetime,
    ) -> str | None:
        """Record the job ``InProgress``; or, when ``client_request_token`` started a job
        already, record nothing and return that job's id."""
        # Not synced on its own: the job's end (a durable commit) syncs it too, and a job
        # lost with the power would have been failed as orphaned anyway. The token is
        # looked up in the same write transaction as the insert, so two callers with one
        # token (threads or processes) get one job.
        with self.store.transaction(durable=False) as db:
            if client_request_token is not None:
                existing = db.execute(
                    "SELECT job_id FROM jobs WHERE client_token = ?", (client_request_token,)
                ).fetchone()
                if existing is not None:
                    return str(existing["job_id"])
            db.execute(
                "INSERT INTO jobs (job_id, client_token, profile_name, profile_version, "
                "platform_id, status, created_at, source_path, pid, target_path) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    client_request_token,
                    profile["name"],
                    profile["version"],
                    profile["platform_id"],
                    JobStatus.IN_PROGRESS,
                    format_instant(now),
                    source,
                    os.getpid(),
                    str(target.absolute()),
                ),
            )
        return None

    def open_job(self, profile_name: str, *, source: str, destination: Path, now: datetime) -> str:
        """Record a job ``InProgress`` to be signed later by :meth:`run_job` (``sam-ext
        serve`` answers StartSigningJob before the job runs); returns its id. ``source``
        is what the job records as its source; its signed object will be
        ``destination/jobId.zip``. The profile must be Active."""
        row = self._active_profile(profile_name)
        job_id = new_job_id()
        self._insert_job(job_id, row, source, destination / f"{job_id}.zip", None, now)
        return job_id

    def run_job(
        self,
        job_id: str,
        data: bytes,
        *,
        now: datetime,
        publish: Callable[[Path], None] | None = None,
    ) -> Document:
        """Sign the source ``data`` of a job :meth:`open_job` recorded, and end the job:
        its signed object written (atomically) to its target, then handed to ``publish``
        (e.g. written to S3), then the job ``Succeeded``; any failure removes the object
        and fails the job with the reason. A job no longer ``InProgress`` is left as it
        is. Returns DescribeSigningJob."""
        with self.store.read() as db:
            job = db.execute(
                "SELECT status, profile_name, target_path FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        if job is None:
            raise NotFoundError(f"signing job {job_id!r} does not exist")
        if job["status"] != JobStatus.IN_PROGRESS:
            return self.describe_signing_job(job_id)
        target = Path(job["target_path"])
        try:
            profile = self._active_profile(job["profile_name"])
        except CodesignError as exc:
            self._finish(job_id, JobStatus.FAILED, now, reason=exc.message, target=target)
            return self.describe_signing_job(job_id)
        self._run(job_id, profile, target, data, publish, now, served=True)
        return self.describe_signing_job(job_id)

    def fail_job(self, job_id: str, reason: str, *, now: datetime) -> None:
        """End a job :meth:`open_job` recorded as ``Failed`` (if still ``InProgress``)."""
        with self.store.read() as db:
            job = db.execute("SELECT target_path FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        target = Path(job["target_path"]) if job and job["target_path"] else None
        self._finish(job_id, JobStatus.FAILED, now, reason=reason, target=target)

    def _run(
        self,
        job_id: str,
        profile: sqlite3.Row,
        target: Path,
        source: Path | bytes | UnsignedArchive | BuiltPackage,
        publish: Callable[[Path], None] | None,
        now: datetime,
        *,
        served: bool = False,
    ) -> None:
        """Sign ``source``, write ``target``, publish it, and end the job (in the order
        above). A signing error is the job's reason (and raised to a local caller, unless
        ``served``: the endpoint's client reads it from DescribeSigningJob); anything
        else fails the job and is raised."""
        try:
            if isinstance(source, UnsignedArchive):
                _check_size(len(source.source))
                expires_at = self._seal_and_write(profile, job_id, source, target, now)
            elif isinstance(source, BuiltPackage):
                _check_size(len(source.data))
                unsigned = prepare_written(source.data, source.sha384)
                expires_at = self._seal_and_write(profile, job_id, unsigned, target, now)
            elif isinstance(source, bytes):
                _check_size(len(source))
                unsigned = prepare_unsigned(source)
                expires_at = self._seal_and_write(profile, job_id, unsigned, target, now)
            else:
                _check_size(source.stat().st_size)
                with mapped(source) as data:
                    unsigned = prepare_unsigned(data)
                    expires_at = self._seal_and_write(profile, job_id, unsigned, target, now)
            if publish is not None:
                publish(target)
        except PackageError as exc:
            self._finish(job_id, JobStatus.FAILED, now, reason=exc.reason, target=target)
        except OSError as exc:
            reason = f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)
            self._finish(job_id, JobStatus.FAILED, now, reason=reason, target=target)
        except CodesignError as exc:
            # e.g. an unreadable key: the caller sees the error, and the job does not stay
            # InProgress (a retry with the same client request token returns it).
            self._finish(job_id, JobStatus.FAILED, now, reason=exc.message, target=target)
            if not served:
                raise
        except BaseException as exc:
            why = f"{type(exc).__name__}: {exc}" if isinstance(exc, Exception) else "interrupted"
            self._finish(
                job_id,
                JobStatus.FAILED,
                now,
                reason=f"the signing job failed ({why})",
                target=target,
            )
            raise
        else:
            self._finish(
                job_id, JobStatus.SUCCEEDED, now, signed_path=target, expires_at=expires_at
            )

    def _seal_and_write(
        self,
        profile: sqlite3.Row,
        job_id: str,
        unsigned: UnsignedArchive,
        target: Path,
        now: datetime,
    ) -> datetime:
        name, version = profile["name"], profile["version"]
        period = ValidityPeriod(profile["validity_value"], profile["validity_type"])
        expires_at = period.expiry_from(now)
        private_key = self.store.private_key(name, version)
        if public_key_b64(private_key.public_key()) != profile["public_key"]:
            # A key file replaced (a copy of another profile's key, a restore gone wrong):
            # its signatures would be integrity failures. Nothing is signed or written.
            raise KeystoreError(
                f"the private key of profile {name!r} "
                f"({self.store.key_path(name, version)}) is not the key of profile version "
                f"{version}: its public key differs from the one recorded when the version "
                "was made; the key file was replaced (restore it from a backup)"
            )
        envelope = seal(
            private_key=private_key,
            profile_name=name,
            profile_version=version,
            profile_version_arn=self.location.profile_version_arn(name, version),
            job_id=job_id,
            job_owner=self.location.account,
            signed_at=now,
            expires_at=expires_at,
            digest=unsigned.digest,
        )
        destination = target.parent
        destination.mkdir(parents=True, exist_ok=True)
        if self.store.first_time(f"temporaries:{destination.resolve()}"):
            remove_orphaned_temporaries(destination)
        _write_atomically(target, lambda sink: write_signed(unsigned, envelope, sink))
        return expires_at

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        now: datetime,
        *,
        reason: str | None = None,
        signed_path: Path | None = None,
        expires_at: datetime | None = None,
        target: Path | None = None,
    ) -> None:
        """End a job in one durable commit; a Failed job's object (``target``) is removed
        before its row says Failed."""
        if target is not None and status != JobStatus.SUCCEEDED:
            target.unlink(missing_ok=True)
        with self.store.transaction() as db:
            ended = db.execute(
                "UPDATE jobs SET status = ?, status_reason = ?, completed_at = ?, signed_path = ?, "
                "signature_expires_at = ? WHERE job_id = ? AND status = ?",
                (
                    status,
                    reason,
                    format_instant(now),
                    str(signed_path.resolve()) if signed_path else None,
                    format_instant(expires_at) if expires_at else None,
                    job_id,
                    JobStatus.IN_PROGRESS,
                ),
            ).rowcount
        if not ended and signed_path is not None:
            signed_path.unlink(missing_ok=True)  # the job was failed meanwhile: no object

    def count_jobs(self, status: str) -> int:
        """How many jobs have ``status``."""
        with self.store.read() as db:
            row = db.execute("SELECT COUNT(*) AS n FROM jobs WHERE status = ?", (status,))
            return int(row.fetchone()["n"])

    def adopt_served_job(
        self,
        job_id: str,
        profile_name: str,
        profile_version: str,
        platform_id: str,
        *,
        created_at: str,
        source: str,
        status: str,
        reason: str | None,
        completed_at: str,
        expires_at: str | None,
    ) -> None:
        """Make a job of an older ``sam-ext serve`` home say what its clients were told
        (its row here is created if it never ran). Its signed object was only ever in
        that server's S3, so the row names none."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO jobs (job_id, profile_name, profile_version, "
                "platform_id, status, created_at, source_path, pid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (job_id, profile_name, profile_version, platform_id, status, created_at, source),
            )
            db.execute(
                "UPDATE jobs SET status = ?, status_reason = ?, completed_at = ?, "
                "signature_expires_at = ?, signed_path = NULL, target_path = NULL "
                "WHERE job_id = ?",
                (
                    status,
                    reason,
                    completed_at,
                    expires_at if status == JobStatus.SUCCEEDED else None,
                    job_id,
                ),
            )

    def signing_jobs_by_id(self) -> dict[str, Document]:
        """DescribeSigningJob of every job, by id (one read, for listings)."""
        with self.store.read() as db:
            rows = db.execute("SELECT * FROM jobs").fetchall()
        return {row["job_id"]: self._job_document(row) for row in rows}

    def signing_job(self, job_id: str) -> SigningJob:
        """DescribeSigningJob, as a :class:`SigningJob`."""
        return SigningJob.from_document(self.describe_signing_job(job_id))

    def describe_signing_job(self, job_id: str) -> Document:
        """DescribeSigningJob."""
        with self.store.read() as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"signing job {job_id!r} does not exist")
        return self._job_document(row)

    def _job_document(self, row: sqlite3.Row) -> Document:
        document: dict[str, Any] = {
            "jobId": row["job_id"],
            "jobOwner": self.location.account,
            "jobInvoker": self.location.account,
            "status": row["status"],
            "profileName": row["profile_name"],
            "profileVersion": row["profile_version"],
            "platformId": row["platform_id"],
            "platformDisplayName": _PLATFORM_DISPLAY,
            "createdAt": row["created_at"],
            "source": {"path": row["source_path"]},
        }
        optional = {
            "statusReason": row["status_reason"],
            "completedAt": row["completed_at"],
            "signatureExpiresAt": row["signature_expires_at"],
            "clientRequestToken": row["client_token"],
        }
        document.update({key: value for key, value in optional.items() if value is not None})
        if row["signed_path"]:
            document["signedObject"] = {"path": row["signed_path"]}
        if row["revocation_reason"]:
            document["revocationRecord"] = {
                "reason": row["revocation_reason"],
                "revokedAt": row["revoked_at"],
                "revokedBy": row["revoked_by"],
            }
        return document

    def revoke_signature(
        self, job_id: str, reason: str, *, job_owner: str | None = None, now: datetime
    ) -> None:
        """RevokeSignature: irreversible; revoking twice is a conflict."""
        check_reason(reason)
        if job_owner is not None and check_account(job_owner, "jobOwner") != self.location.account:
            raise NotFoundError(
                f"signing job {job_id!r} of account {job_owner} is not in this keystore"
            )
        job = self.signing_job(job_id)
        if not job.succeeded:
            raise ValidationError(
                f"jobId: job {job_id} is {job.status}; only a signature can be revoked"
            )
        if job.revoked:
            raise ConflictError(f"the signature of job {job_id} is already revoked (irreversible)")
        with self.store.transaction() as db:
            db.execute(
                "UPDATE jobs SET revocation_reason = ?, revoked_at = ?, revoked_by = ? "
                "WHERE job_id = ?",
                (reason, format_instant(now), f"arn:aws:iam::{self.location.account}:root", job_id),
            )

    # --- job listings ------------------------------------------------------------------
    def _requested_by(self) -> str:
        """Who requests local jobs: the keystore's account (there are no IAM users here)."""
        return f"arn:aws:iam::{self.location.account}:root"

    def list_signing_jobs(self, filters: JobFilter, pages: Pagination) -> Document:
        """ListSigningJobs over the keystore's records, newest first, paged as the AWS CLI
        pages (``--max-items``; the ``NextToken`` names the last job printed)."""
        after = _decode_job_token(pages.starting_token) if pages.starting_token else None
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created_at DESC, job_id DESC").fetchall()
        if after is not None:
            rows = [row for row in rows if (row["created_at"], row["job_id"]) < after]
        jobs: list[Document] = []
        next_token: str | None = None
        for row in rows:
            expires = row["signature_expires_at"]
            if not filters.matches(
                status=row["status"],
                platform_id=row["platform_id"],
                requested_by=self._requested_by(),
                is_revoked=row["revocation_reason"] is not None,
                expires_at=parse_instant(expires, field="signatureExpiresAt") if expires else None,
                job_invoker=self.location.account,
            ):
                continue
            if pages.max_items is not None and len(jobs) == pages.max_items:
                last = jobs[-1]
                next_token = _encode_job_token(last["createdAt"], last["jobId"])
                break
            jobs.append(self._job_summary(row))
        document: Document = {"jobs": jobs}
        if next_token is not None:
            document["NextToken"] = next_token
        return document

    def _job_summary(self, row: sqlite3.Row) -> Document:
        """A ListSigningJobs item (the SigningJob shape)."""
        document: Document = {
            "jobId": row["job_id"],
            "source": {"path": row["source_path"]},
            "createdAt": row["created_at"],
            "status": row["status"],
            "isRevoked": row["revocation_reason"] is not None,
            "profileName": row["profile_name"],
            "profileVersion": row["profile_version"],
            "platformId": row["platform_id"],
            "platformDisplayName": _PLATFORM_DISPLAY,
            "jobOwner": self.location.account,
            "jobInvoker": self.location.account,
        }
        if row["signed_path"]:
            document["signedObject"] = {"path": row["signed_path"]}
        if row["signature_expires_at"]:
            document["signatureExpiresAt"] = row["signature_expires_at"]
        return document

    # --- seals: signed objects proven unchanged without re-verifying them ----------------
    def seal_signed(
        self, path: Path, facts: dict[str, str], bound_to: str
    ) -> dict[str, Any] | None:
        """A keyed record of a signed object just made or verified in full (see
        :mod:`provider.backends.local.seals`); ``None`` if the file is too fresh."""
        return seals.make_seal(self.store.record_key(), path, facts, bound_to)

    def sealed_facts(
        self, path: Path, seal: Any, bound_to: str, *, name: str
    ) -> ArtifactFacts | None:
        """The facts of a signed object whose seal still matches it, with today's
        revocations from the keystore; ``None`` when it must be verified in full."""
        facts = seals.check_seal(self.store.record_key(), path, seal, bound_to)
        if facts is None:
            return None
        publisher = self.publisher(facts["profileVersionArn"])
        if publisher is None:
            return None
        return ArtifactFacts(
            name=name,
            signed=True,
            profile_version_arn=facts["profileVersionArn"],
            job_id=facts["jobId"],
            signed_at=parse_instant(facts["signedAt"], field="signedAt"),
            expires_at=parse_instant(facts["signatureExpiresAt"], field="signatureExpiresAt"),
            profile_revoked_from=publisher.revoked_from,
            signature_revoked_reason=self.signature_revocation(facts["jobId"]),
        )

    def file_facts(self, path: Path, *, name: str) -> ArtifactFacts:
        """Everything a verdict needs about a local package, verified in full."""
        return facts_from_file(path, self, name=name)

    # --- trust records for verification ------------------------------------------------
    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        """The key and revocation of a profile version of this keystore, if it is one."""
        try:
            ref = parse_profile_version_arn(profile_version_arn)
        except ValidationError:
            return None
        if profile_version_arn != self.location.profile_version_arn(ref.name, ref.version):
            return None  # another account's or region's profile
        name, version = ref.name, ref.version
        with self.store.read() as db:
            row = db.execute(
                "SELECT public_key, revocation_effective_from FROM profiles "
                "WHERE name = ? AND version = ?",
                (name, version),
            ).fetchone()
        if row is None:
            return None
        revoked = row["revocation_effective_from"]
        return PublisherRecord(
            row["public_key"],
            parse_instant(revoked, field="revocationEffectiveFrom") if revoked else None,
        )

    def signature_revocation(self, job_id: str) -> str | None:
        """The revocation reason of a job's signature, if revoked."""
        with self.store.read() as db:
            row = db.execute(
                "SELECT revocation_reason FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return row["revocation_reason"] if row else None


def _encode_job_token(created_at: str, job_id: str) -> str:
    """An opaque ``NextToken``: where the previous listing stopped."""
    raw = json.dumps([created_at, job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_job_token(token: str) -> tuple[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
    ):
        raise ValidationError(
            f"--starting-token: {token!r} is not a NextToken printed by sam-ext signature list"
        )
    return value[0], value[1]
