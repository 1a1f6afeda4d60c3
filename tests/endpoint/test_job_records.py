"""A served signing job has one status, in its owner's keystore, next to its signed
object; a start on a home a killed server left fails its unfinished jobs, removes what
they half-wrote, and brings an older home's second job table into the one."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from provider.clock import format_instant, utcnow
from provider.endpoint.state import INTERRUPTED, EndpointState, signed_dir

from .conftest import package_bytes

ACCOUNT, REGION = "123456789012", "us-east-1"


def _rows(index: Path, query: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(index)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_a_job_succeeds_only_with_its_object_and_fails_without_one(tmp_path: Path) -> None:
    state = EndpointState(tmp_path / "home")
    backend = state.backend(ACCOUNT, REGION)
    backend.put_signing_profile("pub", now=utcnow())
    published: list[bytes] = []
    good = backend.open_job("pub", source="s3://b/k", destination=signed_dir(backend), now=utcnow())
    job = backend.run_job(
        good, package_bytes(), now=utcnow(), publish=lambda p: published.append(p.read_bytes())
    )
    assert job["status"] == "Succeeded"
    assert Path(job["signedObject"]["path"]) == signed_dir(backend) / f"{good}.zip"
    assert published == [(signed_dir(backend) / f"{good}.zip").read_bytes()]

    def refuse(path: Path) -> None:
        assert path.is_file()  # written whole before it is published
        raise OSError(28, "No space left on device", "s3://b/signed")

    bad = backend.open_job("pub", source="s3://b/k2", destination=signed_dir(backend), now=utcnow())
    job = backend.run_job(bad, package_bytes(), now=utcnow(), publish=refuse)
    assert job["status"] == "Failed" and "No space left" in job["statusReason"]
    assert not (signed_dir(backend) / f"{bad}.zip").exists()

    broken = backend.open_job(
        "pub", source="s3://b/k3", destination=signed_dir(backend), now=utcnow()
    )
    job = backend.run_job(broken, b"not a zip", now=utcnow())
    assert job["status"] == "Failed"
    assert {p.name for p in signed_dir(backend).iterdir()} == {f"{good}.zip"}
    assert backend.run_job(good, package_bytes(), now=utcnow())["status"] == "Succeeded"


def test_a_start_fails_a_dead_servers_jobs_and_removes_what_they_left(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = EndpointState(home)
    backend = state.backend(ACCOUNT, REGION)
    backend.put_signing_profile("pub", now=utcnow())
    # A job whose object was written but whose Succeeded was never committed (the
    # process killed between), and one that had not started writing.
    written = backend.open_job(
        "pub", source="s3://b/1", destination=signed_dir(backend), now=utcnow()
    )
    waiting = backend.open_job(
        "pub", source="s3://b/2", destination=signed_dir(backend), now=utcnow()
    )
    signed_dir(backend).mkdir()
    (signed_dir(backend) / f"{written}.zip").write_bytes(b"whole, but never Succeeded")
    temporary = signed_dir(backend) / f".{waiting}.zip.tmp{os.getpid()}.1"
    temporary.write_bytes(b"half")
    (home / "work" / "tmpabc").mkdir(parents=True)  # an older version's scratch

    # The same process id starting again is a dead server's pid reused: its jobs too.
    EndpointState(home)
    for job_id in (written, waiting):
        job = backend.describe_signing_job(job_id)
        assert (job["status"], job["statusReason"]) == ("Failed", INTERRUPTED)
    assert not list(signed_dir(backend).iterdir())
    assert not (home / "work").exists()


def test_an_older_homes_second_job_table_becomes_the_one_status(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = EndpointState(home)
    backend = state.backend(ACCOUNT, REGION)
    profile = backend.put_signing_profile("pub", now=utcnow())
    version = profile["profileVersion"]
    # What an older server left: served_jobs with its own status, and the account's
    # record of the jobs that ran (one Succeeded there though its clients were told
    # Failed: the disagreement the two tables allowed).
    told_failed = backend.open_job("pub", source="x", destination=tmp_path, now=utcnow())
    backend.run_job(told_failed, package_bytes(), now=utcnow())
    (tmp_path / f"{told_failed}.zip").unlink()
    index = home / "endpoint" / "index.sqlite3"
    db = sqlite3.connect(index)
    db.execute(
        "CREATE TABLE served_jobs (job_id TEXT PRIMARY KEY, owner TEXT NOT NULL, region TEXT "
        "NOT NULL, invoker TEXT NOT NULL, client_token TEXT NOT NULL, profile_name TEXT NOT "
        "NULL, profile_version TEXT NOT NULL, platform_id TEXT NOT NULL, source TEXT NOT NULL, "
        "destination TEXT NOT NULL, status TEXT NOT NULL, status_reason TEXT, created_at TEXT "
        "NOT NULL, completed_at TEXT, signature_expires_at TEXT, signed_bucket TEXT, "
        "signed_key TEXT, run INTEGER NOT NULL, UNIQUE (invoker, region, client_token))"
    )
    source = json.dumps({"s3": {"bucketName": "b", "key": "k", "version": "v"}})
    destination = json.dumps({"s3": {"bucketName": "b", "prefix": "signed/"}})
    at = format_instant(utcnow())
    for job_id, status, reason in (
        (told_failed, "Failed", "the source s3://b/k version v no longer exists"),
        ("never-ran", "InProgress", None),
    ):
        db.execute(
            "INSERT INTO served_jobs VALUES (?, ?, ?, ?, ?, 'pub', ?, 'AWSLambda-SHA384-ECDSA', "
            "?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, 1)",
            (
                job_id,
                ACCOUNT,
                REGION,
                ACCOUNT,
                job_id,
                version,
                source,
                destination,
                status,
                reason,
                at,
            ),
        )
    db.commit()
    db.close()

    EndpointState(home)
    assert not _rows(index, "SELECT name FROM sqlite_master WHERE name = 'served_jobs'")
    requests = {row["job_id"] for row in _rows(index, "SELECT job_id FROM job_requests")}
    assert requests == {told_failed, "never-ran"}
    job = backend.describe_signing_job(told_failed)
    assert job["status"] == "Failed" and "no longer exists" in job["statusReason"]
    assert "signedObject" not in job
    job = backend.describe_signing_job("never-ran")
    assert (job["status"], job["statusReason"]) == ("Failed", INTERRUPTED)
