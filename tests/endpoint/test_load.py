"""Load and faults: 50 clients signing at once, and a server killed with jobs in flight."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .conftest import clients_for, package_bytes, start_server, unique, upload, versioned_bucket

PLATFORM = "AWSLambda-SHA384-ECDSA"
CLIENTS = 50


def start_jobs(url: str, count: int) -> tuple[str, list[tuple[Any, str, bytes]]]:
    """A profile and ``count`` jobs started in parallel, one client each: ``(bucket,
    [(signer client, job id, source bytes)])``."""
    aws = clients_for(url)
    profile = unique("load_")
    aws("signer").put_signing_profile(profileName=profile, platformId=PLATFORM)
    bucket = versioned_bucket(aws("s3"))
    # One client per simulated user, made up front (boto3 sessions are not thread-safe).
    users = [(aws("s3"), aws("signer")) for _ in range(count)]

    def one(index: int) -> tuple[Any, str, bytes]:
        s3, signer = users[index]
        data = package_bytes({"app.py": f"N = {index}\n".encode()})
        version = upload(s3, bucket, f"src/{index}.zip", data)
        job = signer.start_signing_job(
            source={"s3": {"bucketName": bucket, "key": f"src/{index}.zip", "version": version}},
            destination={"s3": {"bucketName": bucket, "prefix": "signed/"}},
            profileName=profile,
            clientRequestToken=f"token-{index}-{profile}",
        )
        return signer, job["jobId"], data

    with ThreadPoolExecutor(count) as pool:
        return bucket, list(pool.map(one, range(count)))


def test_fifty_clients_signing_at_once_all_succeed_with_unique_ids(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", "--job-delay", "1")
    try:
        started = time.monotonic()
        bucket, jobs = start_jobs(server.url, CLIENTS)

        def wait(item: tuple[Any, str, bytes]) -> dict[str, Any]:
            signer, job_id, _ = item
            signer.get_waiter("successful_signing_job").wait(
                jobId=job_id, WaiterConfig={"Delay": 0.25, "MaxAttempts": 240}
            )
            return dict(signer.describe_signing_job(jobId=job_id))

        with ThreadPoolExecutor(CLIENTS) as pool:
            described = list(pool.map(wait, jobs))
        elapsed = time.monotonic() - started
        assert [d["status"] for d in described] == ["Succeeded"] * CLIENTS
        assert len({d["jobId"] for d in described}) == CLIENTS
        s3 = clients_for(server.url)("s3")
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="signed/")["Contents"]}
        assert keys == {d["signedObject"]["s3"]["key"] for d in described}
        # The delays overlap: 50 jobs of 1 s each take far less than 50 s.
        assert elapsed < 20, elapsed
    finally:
        assert server.stop() == 0


def test_killed_mid_job_and_restarted_with_the_same_home_no_job_stays_in_progress(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = start_server(home, "--job-delay", "60")
    _, jobs = start_jobs(first.url, 20)
    signer = clients_for(first.url)("signer")
    assert {signer.describe_signing_job(jobId=j)["status"] for _, j, _ in jobs} == {"InProgress"}
    first.process.kill()
    first.process.wait(timeout=15)

    second = start_server(home, "--job-delay", "0")
    try:
        signer = clients_for(second.url)("signer")
        statuses = {signer.describe_signing_job(jobId=j)["status"] for _, j, _ in jobs}
        assert statuses == {"Failed"}
        assert not signer.list_signing_jobs(status="InProgress")["jobs"]
    finally:
        assert second.stop() == 0
