"""What ``sam-ext serve`` keeps: one local keystore per (account, region) under the home
directory, and the endpoint's own records (what each StartSigningJob asked, profile
permissions, tags, server runs) in ``HOME/endpoint/index.sqlite3``.

Keys, profiles, signatures, revocations and code signing configs survive a restart (they
are the local backend's records); S3 objects and Lambda functions are moto's and live as
long as the process. Each server start is a numbered *run*, so a job signed in an earlier
run can say that its signed object is gone from S3.

A signing job has one status, in one place: its row in the owner's keystore
(``HOME/accounts/ACCOUNT/REGION/index.sqlite3``), next to its signed object
(``.../signed/JOBID.zip``), which the local backend writes before the row says Succeeded
and removes before a row says Failed. The endpoint's ``job_requests`` holds only what
never changes (who asked, the S3 source and destination, the run).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from provider.arns import ACCOUNT_RE, REGION_RE, new_job_id, parse_profile_version_arn
from provider.backends.local import LocalBackend
from provider.backends.local.signer import _pid_alive as pid_alive
from provider.backends.local.signer import remove_orphaned_temporaries
from provider.backends.local.store import Keystore
from provider.clock import format_instant, utcnow
from provider.errors import ConflictError, NotFoundError, ValidationError
from provider.inspect_package import PublisherRecord
from provider.statuses import JobStatus

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS served_runs (
        run INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, started_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS job_requests (
        job_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL, region TEXT NOT NULL, invoker TEXT NOT NULL,
        client_token TEXT NOT NULL,
        source TEXT NOT NULL, destination TEXT NOT NULL,
        run INTEGER NOT NULL,
        UNIQUE (invoker, region, client_token))""",
    """CREATE TABLE IF NOT EXISTS profile_permissions (
        owner TEXT NOT NULL, region TEXT NOT NULL, profile_name TEXT NOT NULL,
        statement_id TEXT NOT NULL, action TEXT NOT NULL, principal TEXT NOT NULL,
        profile_version TEXT,
        PRIMARY KEY (owner, region, profile_name, statement_id))""",
    """CREATE TABLE IF NOT EXISTS permission_revisions (
        owner TEXT NOT NULL, region TEXT NOT NULL, profile_name TEXT NOT NULL,
        revision_id TEXT NOT NULL, PRIMARY KEY (owner, region, profile_name))""",
    """CREATE TABLE IF NOT EXISTS resource_tags (arn TEXT PRIMARY KEY, tags TEXT NOT NULL)""",
    # What PutSigningProfile was given beyond the local backend's profile (signingMaterial,
    # signingParameters, overrides), returned by GetSigningProfile as AWS returns it.
    """CREATE TABLE IF NOT EXISTS profile_settings (
        arn TEXT PRIMARY KEY, settings TEXT NOT NULL)""",
)
#: The endpoint's records that a reset forgets (served_runs stays: it numbers the runs).
_RESET_TABLES = (
    "job_requests",
    "profile_permissions",
    "permission_revisions",
    "resource_tags",
    "profile_settings",
)

#: Why a job of an earlier run that never finished is Failed.
INTERRUPTED = (
    "the server stopped before the job completed; its source was in that server's S3, "
    "which does not survive a restart: start the job again"
)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the account (moto's rules) and the region (credential scope)."""

    account: str
    region: str


@dataclass(frozen=True)
class JobRequest:
    """What a StartSigningJob asked, which never changes (its status is the job's row in
    the owner's keystore): who asked, the S3 source and destination, the server run."""

    job_id: str
    owner: str
    region: str
    invoker: str
    client_token: str
    #: ``{"s3": {"bucketName", "key", "version"}}``
    source: dict[str, Any]
    #: ``{"s3": {"bucketName", "prefix"?}}``
    destination: dict[str, Any]
    run: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRequest:
        """A request from its ``job_requests`` row."""
        return cls(
            job_id=row["job_id"],
            owner=row["owner"],
            region=row["region"],
            invoker=row["invoker"],
            client_token=row["client_token"],
            source=json.loads(row["source"]),
            destination=json.loads(row["destination"]),
            run=int(row["run"]),
        )

    @property
    def signed_object(self) -> tuple[str, str]:
        """The bucket and key the job writes its signed object to (``prefix + jobId.zip``)."""
        destination = self.destination["s3"]
        return destination["bucketName"], f"{destination.get('prefix', '')}{self.job_id}.zip"


@dataclass(frozen=True)
class ProfilePermission:
    """One statement of a signing profile's permissions (AddProfilePermission)."""

    statement_id: str
    action: str
    principal: str
    profile_version: str | None = None


class EndpointState:
    """Keystores per account and region, and the endpoint's records, under ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._records = Keystore(home / "endpoint")
        self._backends: dict[tuple[str, str], LocalBackend] = {}
        self._lock = threading.Lock()
        #: Held around each request's handler: SQLite serialises writers anyway, and its
        #: busy handler waits by sleeping (up to 100 ms a try), so request threads queue
        #: here instead. Jobs run outside it (their fsyncs would hold up every request).
        self.serial = threading.RLock()
        with self.transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            others = [
                row["pid"]
                for row in db.execute("SELECT DISTINCT pid FROM served_runs").fetchall()
                if row["pid"] != os.getpid() and pid_alive(row["pid"])
            ]
            cursor = db.execute(
                "INSERT INTO served_runs (pid, started_at) VALUES (?, ?)",
                (os.getpid(), format_instant(utcnow())),
            )
            self.run = int(cursor.lastrowid or 0)
        _migrate_served_jobs(self)
        self._recover(alone=not others)

    def _recover(self, *, alone: bool) -> None:
        """Before serving: jobs a dead server left InProgress are Failed (their sources
        were in that server's S3, gone with it), their partial objects and temporary
        files removed; and the work directories of earlier versions. (A server still
        running on this home keeps its own jobs.)"""
        at = utcnow()
        for backend in self.known_backends():
            backend.fail_interrupted_jobs(at, INTERRUPTED, at_start=True)
            signed = signed_dir(backend)
            if signed.is_dir():
                remove_orphaned_temporaries(signed, at_start=True)
        if alone:
            shutil.rmtree(self.home / "work", ignore_errors=True)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the endpoint's records."""
        with self._records.transaction() as db:
            yield db

    def backend(self, account: str, region: str) -> LocalBackend:
        """The local backend holding ``account``'s Signer and CSC records in ``region``."""
        if not ACCOUNT_RE.match(account) or not REGION_RE.match(region):
            raise ValidationError(f"no keystore for account {account!r} in region {region!r}")
        with self._lock:
            found = self._backends.get((account, region))
            if found is None:
                found = LocalBackend(self.home / "accounts" / account / region, region, account)
                self._backends[(account, region)] = found
            return found

    def known_backends(self) -> list[LocalBackend]:
        """Every keystore under the home, opened."""
        root = self.home / "accounts"
        if root.is_dir():
            for account in sorted(p.name for p in root.iterdir() if ACCOUNT_RE.match(p.name)):
                for region in sorted(p.name for p in (root / account).iterdir()):
                    if REGION_RE.match(region):
                        self.backend(account, region)
        with self._lock:
            return list(self._backends.values())

    def reset(self) -> None:
        """Forget every Signer profile (and its keys), signing job, code signing config,
        profile permission, tag and setting of every account (moto's ``/moto-api/reset``).
        Each keystore's records go in one transaction before its key files, so a failure
        midway leaves unused keys, never a profile without its key. The caller holds
        :attr:`serial` and has no signing job running."""
        for backend in self.known_backends():
            backend.erase()
            # The served jobs' signed objects (their records went with erase()).
            signed = signed_dir(backend)
            for child in signed.iterdir() if signed.is_dir() else ():
                if child.is_file() or child.is_symlink():
                    child.unlink()
        with self.transaction() as db:
            for table in _RESET_TABLES:
                db.execute(f"DELETE FROM {table}")

    # --- profile settings -----------------------------------------------------------------
    def profile_settings(self, arn: str) -> dict[str, Any]:
        """What PutSigningProfile was given for ``arn`` beyond the profile itself."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT settings FROM profile_settings WHERE arn = ?", (arn,)
            ).fetchone()
        return dict(json.loads(row["settings"])) if row else {}

    def set_profile_settings(self, arn: str, settings: dict[str, Any]) -> None:
        """Record ``settings`` (signingMaterial, signingParameters, overrides) of a profile."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO profile_settings (arn, settings) VALUES (?, ?) ON CONFLICT (arn) "
                "DO UPDATE SET settings = excluded.settings",
                (arn, json.dumps(settings, sort_keys=True)),
            )

    # --- trust across accounts -------------------------------------------------------------
    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        """The key and revocation of a profile version of any account served here."""
        try:
            ref = parse_profile_version_arn(profile_version_arn)
        except ValidationError:
            return None
        if not (self.home / "accounts" / ref.account / ref.region).is_dir():
            return None
        return self.backend(ref.account, ref.region).publisher(profile_version_arn)

    def signature_revocation(self, job_id: str) -> str | None:
        """The revocation reason of a job's signature, if revoked (whoever owns the job)."""
        request = self.job_request(job_id)
        if request is None:
            return None
        return self.backend(request.owner, request.region).signature_revocation(job_id)

    # --- job requests ---------------------------------------------------------------------
    def job_request(self, job_id: str) -> JobRequest | None:
        """What the StartSigningJob of ``job_id`` asked, or None."""
        with self._records.read() as db:
            row = db.execute("SELECT * FROM job_requests WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else JobRequest.from_row(row)

    def visible_job_request(self, job_id: str, caller: Caller) -> JobRequest | None:
        """The request of ``job_id`` in the caller's region, if the caller owns or invoked it."""
        with self._records.read() as db:
            row = db.execute(
                "SELECT * FROM job_requests WHERE job_id = ? AND region = ? AND (owner = ? OR "
                "invoker = ?)",
                (job_id, caller.region, caller.account, caller.account),
            ).fetchone()
        return None if row is None else JobRequest.from_row(row)

    def visible_job_requests(self, caller: Caller) -> list[JobRequest]:
        """The requests of every job in the caller's region it owns or invoked."""
        with self._records.read() as db:
            rows = db.execute(
                "SELECT * FROM job_requests WHERE region = ? AND (owner = ? OR invoker = ?)",
                (caller.region, caller.account, caller.account),
            ).fetchall()
        return [JobRequest.from_row(row) for row in rows]

    def job_of_token(self, caller: Caller, token: str) -> JobRequest | None:
        """The request of the job this caller started with ``token``, if any."""
        with self._records.read() as db:
            return self._job_of_token(db, caller, token)

    @staticmethod
    def _job_of_token(db: sqlite3.Connection, caller: Caller, token: str) -> JobRequest | None:
        row = db.execute(
            "SELECT * FROM job_requests WHERE invoker = ? AND region = ? AND client_token = ?",
            (caller.account, caller.region, token),
        ).fetchone()
        return None if row is None else JobRequest.from_row(row)

    def record_job_request(
        self,
        caller: Caller,
        token: str,
        owner: str,
        source: dict[str, Any],
        destination: dict[str, Any],
        open_job: Callable[[], str],
    ) -> tuple[JobRequest, bool]:
        """The request of a new job, opened by ``open_job`` (which records it, its one
        status, in the owner's keystore and returns its id), and True; or, when the caller
        started a job with ``token`` already, that job's request and False. The token is
        looked up again inside the write transaction: two requests with one token (a
        client's retry racing its first attempt) make one job. The job's record comes
        first: a crash before this request is committed leaves it InProgress, failed at
        the next start, and no client ever saw its id."""
        with self.transaction() as db:
            existing = self._job_of_token(db, caller, token)
            if existing is not None:
                return existing, False
            request = JobRequest(
                job_id=open_job(),
                owner=owner,
                region=caller.region,
                invoker=caller.account,
                client_token=token,
                source=source,
                destination=destination,
                run=self.run,
            )
            db.execute(
                "INSERT INTO job_requests (job_id, owner, region, invoker, client_token, "
                "source, destination, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.job_id,
                    request.owner,
                    request.region,
                    request.invoker,
                    request.client_token,
                    json.dumps(request.source),
                    json.dumps(request.destination),
                    request.run,
                ),
            )
        return request, True

    # --- profile permissions ----------------------------------------------------------------
    def permits(self, caller: Caller, owner: str, profile_name: str, action: str) -> bool:
        """Whether a statement on ``owner``'s profile grants ``action`` to the caller's
        account (its principal names the account)."""
        with self._records.read() as db:
            rows = db.execute(
                "SELECT principal FROM profile_permissions WHERE owner = ? AND region = ? AND "
                "profile_name = ? AND action = ?",
                (owner, caller.region, profile_name, action),
            ).fetchall()
        return any(caller.account in row["principal"] for row in rows)

    def profile_permissions(
        self, caller: Caller, profile_name: str
    ) -> tuple[list[ProfilePermission], str | None]:
        """The statements on the caller's profile (by statement id) and their revision."""
        with self._records.read() as db:
            rows = db.execute(
                "SELECT * FROM profile_permissions WHERE owner = ? AND region = ? AND "
                "profile_name = ? ORDER BY statement_id",
                (caller.account, caller.region, profile_name),
            ).fetchall()
            revision = self._revision(db, caller, profile_name)
        statements = [
            ProfilePermission(
                row["statement_id"], row["action"], row["principal"], row["profile_version"]
            )
            for row in rows
        ]
        return statements, revision

    def add_profile_permission(
        self,
        caller: Caller,
        profile_name: str,
        permission: ProfilePermission,
        revision_id: str | None,
    ) -> str:
        """Add a statement to the caller's profile (``revision_id``, if given, must be the
        current revision; the statement id must be new); returns the new revision."""
        with self.transaction() as db:
            current = self._revision(db, caller, profile_name)
            if revision_id is not None and revision_id != current:
                raise ConflictError(
                    f"revisionId: {revision_id!r} is not the current revision of the "
                    f"permissions of {profile_name!r} ({current})"
                )
            taken = db.execute(
                "SELECT 1 FROM profile_permissions WHERE owner = ? AND region = ? AND "
                "profile_name = ? AND statement_id = ?",
                (caller.account, caller.region, profile_name, permission.statement_id),
            ).fetchone()
            if taken:
                raise ConflictError(
                    f"statementId: {permission.statement_id!r} is already used on {profile_name!r}"
                )
            db.execute(
                "INSERT INTO profile_permissions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    caller.account,
                    caller.region,
                    profile_name,
                    permission.statement_id,
                    permission.action,
                    permission.principal,
                    permission.profile_version,
                ),
            )
            return self._bump(db, caller, profile_name)

    def remove_profile_permission(
        self, caller: Caller, profile_name: str, statement_id: str, revision_id: str
    ) -> str:
        """Remove a statement from the caller's profile (``revision_id`` must be the
        current revision); returns the new revision."""
        with self.transaction() as db:
            current = self._revision(db, caller, profile_name)
            if revision_id != current:
                raise ConflictError(
                    f"revisionId: {revision_id!r} is not the current revision of the "
                    f"permissions of {profile_name!r}"
                )
            deleted = db.execute(
                "DELETE FROM profile_permissions WHERE owner = ? AND region = ? AND "
                "profile_name = ? AND statement_id = ?",
                (caller.account, caller.region, profile_name, statement_id),
            ).rowcount
            if not deleted:
                raise NotFoundError(f"statementId: {statement_id!r} is not on {profile_name!r}")
            return self._bump(db, caller, profile_name)

    @staticmethod
    def _revision(db: sqlite3.Connection, caller: Caller, profile_name: str) -> str | None:
        row = db.execute(
            "SELECT revision_id FROM permission_revisions WHERE owner = ? AND region = ? AND "
            "profile_name = ?",
            (caller.account, caller.region, profile_name),
        ).fetchone()
        return str(row["revision_id"]) if row else None

    @staticmethod
    def _bump(db: sqlite3.Connection, caller: Caller, profile_name: str) -> str:
        revision = new_job_id()
        db.execute(
            "INSERT INTO permission_revisions VALUES (?, ?, ?, ?) ON CONFLICT (owner, region, "
            "profile_name) DO UPDATE SET revision_id = excluded.revision_id",
            (caller.account, caller.region, profile_name, revision),
        )
        return revision

    # --- tags ---------------------------------------------------------------------------------
    def tags(self, arn: str) -> dict[str, str]:
        """The tags of a resource served here."""
        with self.transaction() as db:
            row = db.execute("SELECT tags FROM resource_tags WHERE arn = ?", (arn,)).fetchone()
        return dict(json.loads(row["tags"])) if row else {}

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        """Replace the tags of a resource."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO resource_tags (arn, tags) VALUES (?, ?) ON CONFLICT (arn) DO UPDATE "
                "SET tags = excluded.tags",
                (arn, json.dumps(tags, sort_keys=True)),
            )

    def summary(self) -> dict[str, Any]:
        """What the home holds from earlier runs (printed at start)."""
        profiles = sum(
            len(b.list_signing_profiles(include_canceled=True)["profiles"])
            for b in self.known_backends()
        )
        jobs = sum(b.count_jobs(JobStatus.SUCCEEDED) for b in self.known_backends())  # all earlier
        return {"profiles": profiles, "earlier_signed_objects": jobs}


def source_label(source: dict[str, Any]) -> str:
    """A job's S3 source as its keystore row records it: ``s3://bucket/key?versionId=V``."""
    s3 = source["s3"]
    return f"s3://{s3['bucketName']}/{s3['key']}?versionId={s3['version']}"


def signed_dir(backend: LocalBackend) -> Path:
    """Where the signed objects of an account's served jobs are kept (``JOBID.zip``)."""
    return backend.store.home / "signed"


def _migrate_served_jobs(state: EndpointState) -> None:
    """A home from before ``job_requests``: each job of its ``served_jobs`` (which kept a
    second status) becomes a request, and the status its clients were told becomes the
    one in the owner's keystore (InProgress there or here: Failed). Done once; the old
    table is then dropped."""
    with state.transaction() as db:
        if not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'served_jobs'"
        ).fetchone():
            return
        rows = db.execute("SELECT * FROM served_jobs").fetchall()
        for row in rows:
            told = row["status"] if row["status"] != JobStatus.IN_PROGRESS else JobStatus.FAILED
            reason = row["status_reason"] if row["status"] != JobStatus.IN_PROGRESS else INTERRUPTED
            state.backend(row["owner"], row["region"]).adopt_served_job(
                row["job_id"],
                row["profile_name"],
                row["profile_version"],
                row["platform_id"],
                created_at=row["created_at"],
                source=source_label(json.loads(row["source"])),
                status=told,
                reason=reason,
                completed_at=row["completed_at"] or format_instant(utcnow()),
                expires_at=row["signature_expires_at"],
            )
            db.execute(
                "INSERT OR IGNORE INTO job_requests (job_id, owner, region, invoker, "
                "client_token, source, destination, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row["job_id"],
                    row["owner"],
                    row["region"],
                    row["invoker"],
                    row["client_token"],
                    row["source"],
                    row["destination"],
                    row["run"],
                ),
            )
        db.execute("DROP TABLE served_jobs")


def now() -> datetime:
    """The server's clock (one place, so it can be replaced)."""
    return utcnow()
