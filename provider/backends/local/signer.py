"""AWS Signer's operations on the local keystore."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from provider.arns import (
    PLATFORM_LAMBDA,
    Location,
    check_account,
    check_platform,
    check_profile_name,
    check_profile_version,
    new_job_id,
    new_profile_version,
    parse_profile_version_arn,
)
from provider.backends.base import Document, check_reason
from provider.backends.local import keys
from provider.backends.local.store import Keystore
from provider.clock import format_instant, parse_instant
from provider.envelope import public_key_b64, seal
from provider.errors import CodesignError, ConflictError, NotFoundError, ValidationError
from provider.inspect_package import PublisherRecord, mapped
from provider.package import Buffer, PackageError, prepare_unsigned, write_signed
from provider.validity import ValidityPeriod

_PLATFORM_DISPLAY = "AWS Lambda"
#: Lambda's limit for a direct .zip upload; larger sources fail the job like Signer's.
_MAX_SOURCE_BYTES = 250 * 1024 * 1024


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


def _remove_orphaned_temporaries(directory: Path) -> None:
    """Delete temporary files left in ``directory`` by signers that were killed."""
    for path in directory.glob(".*.tmp*"):
        match = _TEMPORARY.match(path.name)
        if match and not _pid_alive(int(match["pid"])):
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
    """PutSigningProfile ... RevokeSignature against a :class:`Keystore`."""

    store: Keystore
    location: Location

    # --- profiles ---------------------------------------------------------------------
    def _profile_row(self, profile_name: str, profile_owner: str | None = None) -> sqlite3.Row:
        check_profile_name(profile_name)
        if profile_owner is not None and check_account(profile_owner) != self.location.account:
            raise NotFoundError(
                f"signing profile {profile_name!r} of account {profile_owner} is not in this "
                f"keystore (its account is {self.location.account})"
            )
        with self.store.transaction() as db:
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
        check_profile_name(profile_name)
        check_platform(platform_id)
        period = validity or ValidityPeriod.default()
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
                "VALUES (?, ?, ?, ?, ?, 'Active', ?, ?, ?)",
                (
                    profile_name,
                    version,
                    platform_id,
                    period.value,
                    period.type,
                    format_instant(now),
                    public_key_b64(key.public_key()),
                    json.dumps(tags or {}, sort_keys=True),
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

    def list_signing_profiles(self, *, include_canceled: bool = False) -> Document:
        """ListSigningProfiles (canceled ones only when asked, as on AWS)."""
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM profiles ORDER BY name").fetchall()
        return {
            "profiles": [
                self._profile_document(row)
                for row in rows
                if include_canceled or row["status"] != "Canceled"
            ]
        }

    def cancel_signing_profile(self, profile_name: str, *, now: datetime) -> None:
        """CancelSigningProfile. Signatures already made stay valid."""
        self._profile_row(profile_name)
        with self.store.transaction() as db:
            db.execute(
                "UPDATE profiles SET status = 'Canceled' WHERE name = ? AND status = 'Active'",
                (profile_name,),
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
        check_profile_version(profile_version)
        check_reason(reason)
        if effective_time > now:
            raise ValidationError(
                f"effectiveTime: {format_instant(effective_time)} is in the future; a "
                "revocation can only take effect from a past instant"
            )
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
                "UPDATE profiles SET status = 'Revoked', status_reason = ?, "
                "revocation_effective_from = ?, revoked_at = ?, revoked_by = ? WHERE name = ?",
                (
                    reason,
                    format_instant(effective_time),
                    format_instant(now),
                    f"arn:aws:iam::{self.location.account}:root",
                    profile_name,
                ),
            )

    # --- jobs ---------------------------------------------------------------------------
    def _fail_orphaned_jobs(self, now: datetime) -> None:
        """Jobs left ``InProgress`` by a process that died are ``Failed`` from now on."""
        with self.store.transaction() as db:
            for row in db.execute("SELECT job_id, pid FROM jobs WHERE status = 'InProgress'"):
                if not _pid_alive(row["pid"]):
                    db.execute(
                        "UPDATE jobs SET status = 'Failed', status_reason = ?, completed_at = ? "
                        "WHERE job_id = ?",
                        (
                            "the signing process ended before the job completed",
                            format_instant(now),
                            row["job_id"],
                        ),
                    )

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
        job_id: str | None = None,
    ) -> Document:
        """StartSigningJob + wait + DescribeSigningJob, on local files.

        The signed object is written to ``destination/prefix + jobId + ".zip"`` through a
        temporary file and a rename, so no partial package is ever visible. ``job_id`` is
        the id to give the job when the caller announced one already (``sam-ext serve``
        answers StartSigningJob before the job runs); a fresh one otherwise.
        """
        self._fail_orphaned_jobs(now)
        row = self._profile_row(profile_name, profile_owner)
        if row["status"] != "Active":
            raise ValidationError(
                f"profileName: signing profile {profile_name!r} is {row['status']}; canceled "
                "or revoked profiles start no signing jobs"
            )
        if client_request_token is not None:
            with self.store.transaction() as db:
                existing = db.execute(
                    "SELECT job_id FROM jobs WHERE client_token = ?", (client_request_token,)
                ).fetchone()
            if existing is not None:
                return self.describe_signing_job(existing["job_id"])
        job_id = job_id or new_job_id()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO jobs (job_id, client_token, profile_name, profile_version, "
                "platform_id, status, created_at, source_path, pid) "
                "VALUES (?, ?, ?, ?, ?, 'InProgress', ?, ?, ?)",
                (
                    job_id,
                    client_request_token,
                    profile_name,
                    row["version"],
                    row["platform_id"],
                    format_instant(now),
                    str(source),
                    os.getpid(),
                ),
            )
        try:
            signed_path, expires_at = self._run_job(
                row, job_id, source, Path(destination), prefix, now
            )
        except PackageError as exc:
            self._finish(job_id, "Failed", now, reason=exc.reason)
        except OSError as exc:
            self._finish(job_id, "Failed", now, reason=f"{exc.strerror}: {exc.filename}")
        except CodesignError as exc:
            # e.g. an unreadable key: the caller sees the error, and the job does not stay
            # InProgress (a retry with the same client request token returns it).
            self._finish(job_id, "Failed", now, reason=exc.message)
            raise
        else:
            self._finish(job_id, "Succeeded", now, signed_path=signed_path, expires_at=expires_at)
        return self.describe_signing_job(job_id)

    def _run_job(
        self,
        profile: sqlite3.Row,
        job_id: str,
        source: Path,
        destination: Path,
        prefix: str,
        now: datetime,
    ) -> tuple[Path, datetime]:
        size = source.stat().st_size
        if size > _MAX_SOURCE_BYTES:
            raise PackageError(f"the source is {size} bytes; the limit is {_MAX_SOURCE_BYTES}")
        with mapped(source) as data:
            return self._seal_and_write(profile, job_id, data, destination, prefix, now)

    def _seal_and_write(
        self,
        profile: sqlite3.Row,
        job_id: str,
        data: Buffer,
        destination: Path,
        prefix: str,
        now: datetime,
    ) -> tuple[Path, datetime]:
        unsigned = prepare_unsigned(data)
        name, version = profile["name"], profile["version"]
        period = ValidityPeriod(profile["validity_value"], profile["validity_type"])
        expires_at = period.expiry_from(now)
        private_key = keys.load(self.store.key_path(name, version), profile=name)
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
        destination.mkdir(parents=True, exist_ok=True)
        _remove_orphaned_temporaries(destination)
        signed_path = destination / f"{prefix}{job_id}.zip"
        _write_atomically(signed_path, lambda sink: write_signed(unsigned, envelope, sink))
        return signed_path, expires_at

    def _finish(
        self,
        job_id: str,
        status: str,
        now: datetime,
        *,
        reason: str | None = None,
        signed_path: Path | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        with self.store.transaction() as db:
            db.execute(
                "UPDATE jobs SET status = ?, status_reason = ?, completed_at = ?, signed_path = ?, "
                "signature_expires_at = ? WHERE job_id = ?",
                (
                    status,
                    reason,
                    format_instant(now),
                    str(signed_path.resolve()) if signed_path else None,
                    format_instant(expires_at) if expires_at else None,
                    job_id,
                ),
            )

    def describe_signing_job(self, job_id: str) -> Document:
        """DescribeSigningJob."""
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"signing job {job_id!r} does not exist")
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
        job = self.describe_signing_job(job_id)
        if job["status"] != "Succeeded":
            raise ValidationError(
                f"jobId: job {job_id} is {job['status']}; only a signature can be revoked"
            )
        if "revocationRecord" in job:
            raise ConflictError(f"the signature of job {job_id} is already revoked (irreversible)")
        with self.store.transaction() as db:
            db.execute(
                "UPDATE jobs SET revocation_reason = ?, revoked_at = ?, revoked_by = ? "
                "WHERE job_id = ?",
                (reason, format_instant(now), f"arn:aws:iam::{self.location.account}:root", job_id),
            )

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
        with self.store.transaction() as db:
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
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT revocation_reason FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return row["revocation_reason"] if row else None
