"""(c) Signing 50 packages on the aws backend against a stubbed Signer whose jobs take
about 2 s each (one InProgress poll, 2 s apart), bounded concurrency versus one job at a
time (what SAM CLI does). S3 is moto, in process; Signer's jobs are the stateful fake of
tests/backends/aws (every request validated against Signer's API model).

Run: .venv/bin/python bench/bench_aws_signing.py [--packages 50] [--jobs 50]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests" / "backends" / "aws"))

for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(name, None)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")

from common import machine, table  # noqa: E402
from conftest import BUCKET, NOW, FakeSigner, make_clients, session  # noqa: E402
from moto import mock_aws  # noqa: E402

from provider.backends import batch  # noqa: E402
from provider.backends.aws import AwsBackend  # noqa: E402

JOB_SECONDS = 2.0
RESULTS = Path(__file__).parent / "results"


def _zip(index: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(e, c):\n    return {index}\n")
    return buffer.getvalue()


def _run(packages: list[Path], jobs: int, prefix: str) -> float:
    with mock_aws():
        s3 = session().client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        clients = make_clients(retry_mode="adaptive", max_attempts=10)
        backend = AwsBackend(clients=clients, job_delay=JOB_SECONDS, job_max_attempts=5)
        backend.put_signing_profile("bench", now=NOW)
        FakeSigner(clients.signer, clients.s3, in_progress_polls=1)
        requests = [batch.SignRequest(f"Function{i:02d}", path, "bench")
                    for i, path in enumerate(packages)]
        start = time.perf_counter()
        outcomes = batch.sign_all(backend, requests, f"s3://{BUCKET}/{prefix}", now=NOW,
                                  jobs=jobs, progress=None)
        elapsed = time.perf_counter() - start
        batch.raise_for_failures(outcomes)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        packages = []
        for index in range(args.packages):
            path = Path(scratch) / f"p{index}.zip"
            path.write_bytes(_zip(index))
            packages.append(path)
        one_job = _run(packages[:1], 1, "one")
        bounded = _run(packages, args.jobs, "bounded")
        default = _run(packages, batch.DEFAULT_JOBS, "default")
        sequential = _run(packages, 1, "sequential")
    rows = [("mode", "seconds", "x one job")]
    for label, seconds in (("1 package", one_job),
                           (f"{args.packages} packages, {args.jobs} at a time", bounded),
                           (f"{args.packages} packages, {batch.DEFAULT_JOBS} at a time "
                            "(default)", default),
                           (f"{args.packages} packages, one at a time (SAM CLI)", sequential)):
        rows.append((label, f"{seconds:.2f}", f"{seconds / one_job:.2f}"))
    print(f"(c) aws backend signing, Signer jobs of ~{JOB_SECONDS:.0f} s; {machine()}")
    print(table(rows))
    print(f"target: {args.packages} packages <= 1.5x one job -> {bounded / one_job:.2f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "aws_signing.json").write_text(json.dumps({
        "one_job": one_job, "bounded": bounded, "bounded_jobs": args.jobs,
        "default": default, "default_jobs": batch.DEFAULT_JOBS, "sequential": sequential,
        "packages": args.packages}, indent=2))


if __name__ == "__main__":
    main()
