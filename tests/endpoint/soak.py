"""A soak of ``sam-ext serve``: N clients, each in a loop (upload a package, sign it, wait
for the job, deploy the signed object to a function under an Enforce code signing config,
read the function's code back, delete the function and the objects), with the server's
descriptors, threads and memory read from /proc. Used by tests/endpoint/test_soak.py (CI
size) and bench/soak_serve.py (the long form)."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PLATFORM = "AWSLambda-SHA384-ECDSA"
ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Probe:
    """A process's open descriptors (all, and those of keystore indexes: SQLite
    connections of the keystores' pools), threads and resident memory, at one moment."""

    at: float
    fds: int
    index_fds: int
    threads: int
    rss_kib: int
    #: CPU seconds the process has used (user + system).
    cpu_s: float

    @property
    def other_fds(self) -> int:
        """Descriptors that are not keystore connections (sockets, pipes, files)."""
        return self.fds - self.index_fds


def probe(pid: int) -> Probe:
    """What /proc says about ``pid`` now."""
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed meanwhile
            continue
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15 of stat)
    return Probe(
        time.monotonic(),
        len(links),
        sum(1 for link in links if "index.sqlite3" in link),
        int(fields["Threads"][0]),
        int(fields["VmRSS"][0]),
        ticks / os.sysconf("SC_CLK_TCK"),
    )


def package(client: int, iteration: int) -> bytes:
    """A small, distinct Lambda .zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("app.py", (1980, 1, 1, 0, 0, 0))
        archive.writestr(info, f"def handler(e, c):\n    return {client}, {iteration}\n")
    return buffer.getvalue()


@dataclass
class Tally:
    """What the clients saw: every request's time and outcome, and every job."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (monotonic time, HTTP status or 0 for no answer) of each request.
    requests: list[tuple[float, int]] = field(default_factory=list)
    #: One line per unexpected outcome (an error answer, no answer, a wrong result).
    errors: list[str] = field(default_factory=list)
    #: jobId -> the last status a client read for it.
    jobs: dict[str, str] = field(default_factory=dict)
    #: jobId -> SHA-256 of the signed object the client read from S3.
    signed: dict[str, str] = field(default_factory=dict)
    #: Functions deployed whose code read back was the signed object.
    deployed: int = 0

    def count(self, status: int) -> None:
        with self.lock:
            self.requests.append((time.monotonic(), status))

    def error(self, line: str) -> None:
        with self.lock:
            self.errors.append(line)

    def server_errors(self) -> int:
        """Answers with a 5xx status."""
        with self.lock:
            return sum(1 for _, status in self.requests if status >= 500)

    def rate(self, start: float, end: float) -> float:
        """Requests answered per second between two monotonic times."""
        with self.lock:
            n = sum(1 for at, status in self.requests if start <= at < end and status)
        return n / max(end - start, 1e-9)


class Stopped(Exception):
    """The soak is over (or the server is gone): the client stops."""


class Soak:
    """One server, one profile, one Enforce config, one versioned bucket, N clients."""

    def __init__(self, url: str, clients: int, tag: str) -> None:
        self.url = url
        self.tag = tag
        self.tally = Tally()
        self.stop = threading.Event()
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self._session = session
        admin = self._clients()
        self.profile = f"soak_{tag}"
        self.version_arn = admin["signer"].put_signing_profile(
            profileName=self.profile, platformId=PLATFORM
        )["profileVersionArn"]
        self.csc = admin["lambda"].create_code_signing_config(
            AllowedPublishers={"SigningProfileVersionArns": [self.version_arn]},
            CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
        )["CodeSigningConfig"]["CodeSigningConfigArn"]
        self.bucket = f"soak-{tag}"
        admin["s3"].create_bucket(Bucket=self.bucket)
        admin["s3"].put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        self.role = admin["iam"].create_role(RoleName=f"soak-{tag}", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        # One set of clients per simulated user, made up front (boto3 clients are
        # thread-safe, sessions are not; making them is the costly part).
        self.users = [self._clients() for _ in range(clients)]
        self._iterations = [0] * clients

    def _clients(self) -> dict[str, Any]:
        config = Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=4,
        )
        return {
            name: self._session.client(name, endpoint_url=self.url, config=config)
            for name in ("s3", "signer", "lambda", "iam")
        }

    # --- one request, counted --------------------------------------------------------------
    def call(self, what: str, request: Callable[[], Any]) -> Any:
        """Send one request; its status is counted; an error answer or none is an error
        line (and stops the client when the soak is over or the server is gone)."""
        try:
            answer = request()
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            self.tally.count(status)
            self.tally.error(f"{what}: {status} {exc.response.get('Error', {}).get('Code')}")
            raise Stopped from None
        except Exception as exc:  # no answer: connection refused or reset, a timeout
            self.tally.count(0)
            if not self.stop.is_set():
                self.tally.error(f"{what}: no answer: {type(exc).__name__}: {exc}")
            raise Stopped from None
        status = 200
        if isinstance(answer, dict):
            status = int(answer.get("ResponseMetadata", {}).get("HTTPStatusCode", 200))
        self.tally.count(status)
        return answer

    def _download(self, url: str) -> bytes:
        def get() -> bytes:
            with urllib.request.urlopen(url, timeout=60) as response:
                return bytes(response.read())

        return bytes(self.call("GET code location", get))

    # --- one client ---------------------------------------------------------------------------
    def run_client(self, index: int, deadline: float) -> None:
        """Iterations until ``deadline`` (the one under way is finished) or a stop."""
        try:
            while time.monotonic() < deadline and not self.stop.is_set():
                self.iteration(index)
        except Stopped:
            return

    def iteration(self, index: int) -> None:
        """Upload, sign, wait, deploy under Enforce, read the code back, clean up."""
        user = self.users[index]
        s3, signer, lambda_ = user["s3"], user["signer"], user["lambda"]
        n = self._iterations[index]
        self._iterations[index] += 1
        key = f"src/{index}/{n}.zip"
        data = package(index, n)
        version = self.call(
            "PutObject", lambda: s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        )["VersionId"]
        job_id = self.call(
            "StartSigningJob",
            lambda: signer.start_signing_job(
                source={"s3": {"bucketName": self.bucket, "key": key, "version": version}},
                destination={"s3": {"bucketName": self.bucket, "prefix": "signed/"}},
                profileName=self.profile,
                clientRequestToken=f"{self.tag}-{index}-{n}",
            ),
        )["jobId"]
        with self.tally.lock:
            self.tally.jobs[job_id] = "InProgress"
        job: dict[str, Any] = {}
        for _ in range(600):
            job = self.call("DescribeSigningJob", lambda: signer.describe_signing_job(jobId=job_id))
            with self.tally.lock:
                self.tally.jobs[job_id] = job["status"]
            if job["status"] != "InProgress":
                break
            time.sleep(0.2)
        if job["status"] != "Succeeded":
            self.tally.error(f"job {job_id}: {job['status']}: {job.get('statusReason')}")
            return
        signed_key = job["signedObject"]["s3"]["key"]
        got = self.call("GetObject", lambda: s3.get_object(Bucket=self.bucket, Key=signed_key))
        signed = got["Body"].read()
        with self.tally.lock:
            self.tally.signed[job_id] = hashlib.sha256(signed).hexdigest()
        function = f"soak-{self.tag}-{index}-{n}"
        self.call(
            "CreateFunction",
            lambda: lambda_.create_function(
                FunctionName=function,
                Runtime="python3.12",
                Role=self.role,
                Handler="app.handler",
                Code={
                    "S3Bucket": self.bucket,
                    "S3Key": signed_key,
                    "S3ObjectVersion": got["VersionId"],
                },
                CodeSigningConfigArn=self.csc,
            ),
        )
        location = self.call("GetFunction", lambda: lambda_.get_function(FunctionName=function))[
            "Code"
        ]["Location"]
        deployed = self._download(location)
        if deployed != signed:
            self.tally.error(f"function {function}: its code is not the signed object")
        else:
            with self.tally.lock:
                self.tally.deployed += 1
        self.call("DeleteFunction", lambda: lambda_.delete_function(FunctionName=function))
        for gone_key, gone_version in ((signed_key, got["VersionId"]), (key, version)):
            self.call(
                "DeleteObject",
                lambda k=gone_key, v=gone_version: s3.delete_object(
                    Bucket=self.bucket, Key=k, VersionId=v
                ),
            )

    def run(self, seconds: float) -> list[threading.Thread]:
        """Start every client for ``seconds``; returns their threads (join them)."""
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self.run_client, args=(i, deadline), daemon=True)
            for i in range(len(self.users))
        ]
        for thread in threads:
            thread.start()
        return threads


def keystore_jobs(home: Path) -> dict[str, sqlite3.Row]:
    """The jobs of the served account's keystore on disk (read-only), by id."""
    index = home / "accounts" / ACCOUNT / REGION / "index.sqlite3"
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {row["job_id"]: row for row in db.execute("SELECT * FROM jobs")}
    finally:
        db.close()


def leftovers(home: Path) -> list[str]:
    """Temporary files and work directories left under the home."""
    found = [str(p) for p in home.rglob(".*.tmp*")]
    work = home / "work"
    if work.exists():
        found += [str(p) for p in work.iterdir()] or [str(work)]
    return found
