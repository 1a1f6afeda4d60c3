"""``POST /moto-api/reset`` (what moto's test harnesses send between tests) resets moto and
the endpoint's own records alike: Signer profiles and their keys, signing jobs, code
signing configs, permissions, tags and settings, in every account."""

from __future__ import annotations

import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    ACCOUNT,
    Server,
    clients_for,
    error_code,
    package_bytes,
    start_server,
    unique,
    upload,
    versioned_bucket,
)

PLATFORM = "AWSLambda-SHA384-ECDSA"
#: A job stays InProgress this long: long enough to reset while it waits.
JOB_DELAY = 3.0


@pytest.fixture
def slow_jobs_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "home", "--job-delay", str(JOB_DELAY))
    yield running
    running.stop()


def _reset(server: Server) -> None:
    request = urllib.request.Request(server.url + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _rows(index: Path, table: str) -> int:
    with sqlite3.connect(index) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_reset_forgets_profiles_keys_jobs_and_configs_and_leaves_nothing_behind(
    slow_jobs_server: Server,
) -> None:
    from provider.backends.local import LocalBackend

    server = slow_jobs_server
    aws = clients_for(server.url)
    signer, lambda_, s3 = aws("signer"), aws("lambda"), aws("s3")
    name = unique("pub_")
    put = signer.put_signing_profile(
        profileName=name,
        platformId=PLATFORM,
        tags={"team": "a"},
        signingMaterial={"certificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/x"},
    )
    signer.add_profile_permission(
        profileName=name,
        action="signer:StartSigningJob",
        principal="111122223333",
        statementId="partner",
    )
    bucket = versioned_bucket(s3)
    version = upload(s3, bucket, "app.zip", package_bytes())
    job = signer.start_signing_job(
        source={"s3": {"bucketName": bucket, "key": "app.zip", "version": version}},
        destination={"s3": {"bucketName": bucket, "prefix": "signed/"}},
        profileName=name,
        clientRequestToken=unique("token-"),
    )  # InProgress for JOB_DELAY seconds
    csc = lambda_.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [put["profileVersionArn"]]}
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    keystore = server.home / "accounts" / ACCOUNT / "us-east-1"
    record_key = LocalBackend(keystore, "us-east-1", ACCOUNT).store.record_key()
    assert (keystore / "keys" / name).is_dir()

    _reset(server)

    assert signer.list_signing_profiles(includeCanceled=True)["profiles"] == []
    assert error_code(lambda: signer.get_signing_profile(profileName=name))[0] == (
        "ResourceNotFoundException"
    )
    assert signer.list_signing_jobs()["jobs"] == []
    assert error_code(lambda: signer.describe_signing_job(jobId=job["jobId"]))[0] == (
        "ResourceNotFoundException"
    )
    assert lambda_.list_code_signing_configs()["CodeSigningConfigs"] == []
    assert error_code(lambda: lambda_.get_code_signing_config(CodeSigningConfigArn=csc))[0] == (
        "CodeSigningConfigNotFoundException"
    )
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # moto's, reset
    assert not (keystore / "keys" / name).exists()
    # the keystore's own record key is not a profile's: it stays
    assert LocalBackend(keystore, "us-east-1", ACCOUNT).store.record_key() == record_key

    # The job that was waiting never runs: no record of it appears after its delay.
    time.sleep(JOB_DELAY + 1)
    for table in ("profiles", "jobs", "code_signing_configs"):
        assert _rows(keystore / "index.sqlite3", table) == 0, table
    for table in ("job_requests", "profile_permissions", "resource_tags", "profile_settings"):
        assert _rows(server.home / "endpoint" / "index.sqlite3", table) == 0, table

    # The name is free again, and the new profile has none of the old one's tags,
    # settings or permissions.
    again = signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    assert again["profileVersion"] != put["profileVersion"]
    got = signer.get_signing_profile(profileName=name)
    assert got["tags"] == {} and "signingMaterial" not in got
    assert signer.list_profile_permissions(profileName=name)["permissions"] == []
