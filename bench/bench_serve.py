"""(f) Signing N packages through ``sam-ext serve`` (its own process, ``--job-delay 2``)
with boto3: N = 1 and N = 50 clients at once (upload, StartSigningJob, the
successful_signing_job waiter, DescribeSigningJob), and the aws backend's parallel
signing (``batch.sign_all``) against the same server.

Run: .venv/bin/python bench/bench_serve.py [--packages 50] [--job-delay 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

from common import machine, offline_aws, table  # noqa: E402

offline_aws()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from endpoint.serving import start_server  # noqa: E402

from provider.backends import batch  # noqa: E402
from provider.backends.aws import AwsBackend  # noqa: E402
from provider.clock import utcnow  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PLATFORM = "AWSLambda-SHA384-ECDSA"
#: Seconds between a waiter's polls (SAM CLI waits 5 s, the AWS CLI 20 s).
POLL = 0.5


def _zip(index: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(e, c):\n    return {index}\n")
    return buffer.getvalue()


def _boto3_round(url: str, count: int, tag: str) -> tuple[float, float]:
    """For ``count`` clients each signing one package, all at once: the clients' wall time
    (until every waiter returned and its job was described), and the jobs' makespan as
    the server reports it (first ``createdAt`` to last ``completedAt``)."""
    session = boto3.session.Session(region_name="us-east-1")
    config = Config(max_pool_connections=count + 2, retries={"max_attempts": 3})
    s3 = session.client("s3", endpoint_url=url, config=config)
    signer = session.client("signer", endpoint_url=url, config=config)
    bucket = f"bench-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    profile = f"bench_{tag}"
    signer.put_signing_profile(profileName=profile, platformId=PLATFORM)
    users = [
        (
            session.client("s3", endpoint_url=url, config=config),
            session.client("signer", endpoint_url=url, config=config),
        )
        for _ in range(count)
    ]

    def one(index: int) -> dict[str, Any]:
        user_s3, user_signer = users[index]
        version = user_s3.put_object(Bucket=bucket, Key=f"src/{index}.zip", Body=_zip(index))[
            "VersionId"
        ]
        job = user_signer.start_signing_job(
            source={"s3": {"bucketName": bucket, "key": f"src/{index}.zip", "version": version}},
            destination={"s3": {"bucketName": bucket, "prefix": "signed/"}},
            profileName=profile,
            clientRequestToken=f"{tag}-{index}",
        )
        user_signer.get_waiter("successful_signing_job").wait(
            jobId=job["jobId"], WaiterConfig={"Delay": POLL, "MaxAttempts": 600}
        )
        described = dict(user_signer.describe_signing_job(jobId=job["jobId"]))
        assert described["status"] == "Succeeded", described["status"]
        return described

    start = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        jobs = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - start
    assert len({j["jobId"] for j in jobs}) == count
    makespan = max(j["completedAt"] for j in jobs) - min(j["createdAt"] for j in jobs)
    return elapsed, makespan.total_seconds()


def _backend_round(url: str, count: int, tag: str, work: Path) -> float:
    """Wall time of the aws backend's ``sign_all`` (jobs=count) against the server."""
    session = boto3.session.Session(region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=url)
    bucket = f"bench-backend-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    backend = AwsBackend("us-east-1", endpoint_url=url, job_delay=0.1)
    profile = f"bench_backend_{tag}"
    backend.put_signing_profile(profile, now=utcnow())
    paths = []
    for index in range(count):
        path = work / f"{tag}-{index}.zip"
        path.write_bytes(_zip(index))
        paths.append(path)
    requests = [batch.SignRequest(f"Fn{i}", p, profile) for i, p in enumerate(paths)]
    start = time.perf_counter()
    outcomes = batch.sign_all(
        backend, requests, f"s3://{bucket}/app", now=utcnow(), jobs=count, progress=None
    )
    elapsed = time.perf_counter() - start
    batch.raise_for_failures(outcomes)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=50)
    parser.add_argument("--job-delay", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        server = start_server(work / "home", "--job-delay", str(options.job_delay))
        try:
            runs: dict[str, list[float]] = {
                "one": [],
                "many": [],
                "backend": [],
                "one_jobs": [],
                "many_jobs": [],
            }
            for repeat in range(options.repeats):
                for key, count in (("one", 1), ("many", options.packages)):
                    wall, makespan = _boto3_round(server.url, count, f"{key}{repeat}")
                    runs[key].append(wall)
                    runs[f"{key}_jobs"].append(makespan)
                runs["backend"].append(
                    _backend_round(server.url, options.packages, f"b{repeat}", work)
                )
        finally:
            server.stop()
    median = {key: statistics.median(values) for key, values in runs.items()}
    one, many, backend = median["one"], median["many"], median["backend"]
    one_jobs, many_jobs = median["one_jobs"], median["many_jobs"]
    n = options.packages
    rows = [
        ("mode", "clients' wall s", "x one", "jobs' makespan s", "x one"),
        ("1 package, boto3", f"{one:.2f}", "1.00", f"{one_jobs:.2f}", "1.00"),
        (
            f"{n} packages, {n} boto3 clients at once",
            f"{many:.2f}",
            f"{many / one:.2f}",
            f"{many_jobs:.2f}",
            f"{many_jobs / one_jobs:.2f}",
        ),
        (
            f"{n} packages, aws backend sign_all(jobs={n})",
            f"{backend:.2f}",
            f"{backend / one:.2f}",
            "",
            "",
        ),
    ]
    print(f"(f) sam-ext serve, --job-delay {options.job_delay}, {machine()}")
    print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve.json").write_text(
        json.dumps(
            {
                "job_delay": options.job_delay,
                "packages": n,
                "machine": machine(),
                "runs": runs,
                "median": median,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
