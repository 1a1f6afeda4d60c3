"""``sam-ext serve`` under sustained load (50 clients for about a minute): descriptors,
threads and memory come back to where they were, no answer is a 5xx, every job has one
status (the API's is the keystore's on disk) and every deployed function runs the signed
object; killed with -9 mid-load and restarted on the same home, nothing is inconsistent;
with a descriptor limit of 256, thousands of requests go through.

The long form (50 clients for 10 minutes) is bench/soak_serve.py; its figures are in
BENCHMARKS.md."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from provider.backends.local import LocalBackend
from provider.backends.local.store import POOL_SIZE
from provider.clock import utcnow
from provider.endpoint.limits import MAX_REQUEST_THREADS
from provider.endpoint.state import INTERRUPTED
from provider.verdict import CscPolicy, Decision

from .conftest import REPO, clients_for, start_server
from .soak import ACCOUNT, REGION, Probe, Soak, keystore_jobs, leftovers, probe

CLIENTS = 50
SECONDS = 60
#: Resident memory the server may keep after the load, over what it had after warm-up
#: (allocator arenas of 50 threads, caches that fill once); a leak per request (about 12k
#: requests here) would pass it.
RSS_SLACK_KIB = 64 * 1024
#: The most descriptors the keystores' connections may hold: two keystores (the endpoint's
#: records and the account's), each at most POOL_SIZE connections of two descriptors (the
#: index and its WAL) and one shared-memory index.
INDEX_FDS = 2 * (2 * POOL_SIZE + 1)


def _settle(pid: int, base: Probe, seconds: float = 20) -> Probe:
    """The server's figures once its request threads have ended (or ``seconds`` passed)."""
    deadline = time.monotonic() + seconds
    now = probe(pid)
    while time.monotonic() < deadline and (
        now.threads > base.threads or now.other_fds > base.other_fds
    ):
        time.sleep(0.25)
        now = probe(pid)
    return now


def _describe_all(url: str, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    signer = clients_for(url)("signer")
    with ThreadPoolExecutor(8) as pool:
        described = list(pool.map(lambda j: dict(signer.describe_signing_job(jobId=j)), job_ids))
    return {job["jobId"]: job for job in described}


def _signed_dir(home: Path) -> Path:
    return home / "accounts" / ACCOUNT / REGION / "signed"


def _assert_one_status_and_objects(
    home: Path, api: dict[str, dict[str, Any]], soak: Soak
) -> dict[str, Any]:
    """Every job: the API's status is the keystore's; Succeeded has its object (whole,
    the bytes the client read from S3, verifying under the config), anything else none."""
    disk = keystore_jobs(home)
    assert set(api) <= set(disk)
    assert {j: api[j]["status"] for j in api} == {j: disk[j]["status"] for j in api}
    assert "InProgress" not in {row["status"] for row in disk.values()}
    objects = {p.stem for p in _signed_dir(home).glob("*.zip")}
    succeeded = {j for j, row in disk.items() if row["status"] == "Succeeded"}
    assert objects == succeeded, "a signed object exists exactly for each Succeeded job"
    for job_id in succeeded:
        path = Path(disk[job_id]["signed_path"])
        assert path == _signed_dir(home) / f"{job_id}.zip"
        if job_id in soak.tally.signed:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == soak.tally.signed[job_id]
    assert not leftovers(home)
    return disk


def _assert_signed_objects_verify(home: Path, soak: Soak, disk: dict[str, Any]) -> None:
    """Each Succeeded job's object verifies under the soak's Enforce config (the server
    is stopped: this opens its keystore)."""
    backend = LocalBackend(home / "accounts" / ACCOUNT / REGION, REGION, ACCOUNT)
    check = CscPolicy((soak.version_arn,), "Enforce")
    for job_id, row in disk.items():
        if row["status"] == "Succeeded":
            verdict = backend.evaluate_package(Path(row["signed_path"]), check, at=utcnow())
            assert verdict.decision is Decision.ALLOW, (job_id, verdict.message)


def test_fifty_clients_for_a_minute_resources_return_and_every_job_has_one_status(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    server = start_server(home, "--job-delay", "0.2")
    pid = server.process.pid
    try:
        soak = Soak(server.url, CLIENTS, "ci")
        for thread in soak.run(2):  # warm-up: caches, the job workers, every client
            thread.join(timeout=120)
        time.sleep(2)  # the last request threads end
        base = probe(pid)
        samples: list[Probe] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append(probe(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        for thread in soak.run(SECONDS):
            thread.join(timeout=SECONDS + 120)
        done.set()
        sampler.join()
        end = _settle(pid, base)

        assert not soak.tally.errors, soak.tally.errors[:10]
        assert soak.tally.server_errors() == 0
        answered = [at for at, status in soak.tally.requests if at >= started]
        assert len(answered) > 20 * SECONDS, "the load ran"
        # Descriptors and threads come back to where they were; under load they stay
        # within the request-thread bound; memory does not grow with the requests.
        # (Keystore connections are pooled: at most POOL_SIZE per keystore, two
        # descriptors each, and one shared-memory index per keystore.)
        assert end.other_fds <= base.other_fds, (base, end)
        assert end.threads <= base.threads, (base, end)
        assert max(s.index_fds for s in [*samples, end]) <= INDEX_FDS, (base, samples)
        assert max(s.other_fds for s in samples) <= base.other_fds + MAX_REQUEST_THREADS
        assert max(s.threads for s in samples) <= base.threads + MAX_REQUEST_THREADS
        assert end.rss_kib <= base.rss_kib + RSS_SLACK_KIB, (base, end)

        api = _describe_all(server.url, list(soak.tally.jobs))
        assert {job["status"] for job in api.values()} == {"Succeeded"}
        assert {j: api[j]["status"] for j in api} == soak.tally.jobs
        assert soak.tally.deployed == len(api), "every job's object deployed, code read back"
        signer = clients_for(server.url)("signer")
        assert not signer.list_signing_jobs(status="InProgress")["jobs"]
    finally:
        assert server.stop() == 0
    disk = _assert_one_status_and_objects(home, api, soak)
    _assert_signed_objects_verify(home, soak, disk)


def test_killed_with_minus_nine_mid_load_and_restarted_nothing_is_inconsistent(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = start_server(home, "--job-delay", "0.5")
    soak = Soak(first.url, 20, "kill")
    threads = soak.run(60)
    time.sleep(8)
    soak.stop.set()
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=15)
    for thread in threads:
        thread.join(timeout=60)
    assert not soak.tally.errors, soak.tally.errors[:10]

    second = start_server(home)
    try:
        api = _describe_all(second.url, list(soak.tally.jobs))
        statuses = {job["status"] for job in api.values()}
        assert statuses == {"Succeeded", "Failed"}, "the kill landed with jobs under way"
        for job_id, seen in soak.tally.jobs.items():
            if seen == "Succeeded":  # what a client was told stays true
                assert api[job_id]["status"] == "Succeeded"
            if api[job_id]["status"] == "Failed":
                assert api[job_id]["statusReason"] == INTERRUPTED
        signer = clients_for(second.url)("signer")
        assert not signer.list_signing_jobs(status="InProgress")["jobs"]
        disk = _assert_one_status_and_objects(home, api, soak)
    finally:
        assert second.stop() == 0
    _assert_signed_objects_verify(home, soak, disk)


def test_with_256_descriptors_thousands_of_requests_all_succeed(tmp_path: Path) -> None:
    limit = 256
    home = tmp_path / "home"
    server = start_server(home, max_open_files=limit)
    pid = server.process.pid
    try:
        soak = Soak(server.url, CLIENTS, "nofile")
        threads = soak.run(90)
        peak = 0
        while any(t.is_alive() for t in threads) and len(soak.tally.requests) < 6 * limit:
            peak = max(peak, probe(pid).fds)
            time.sleep(0.2)
        soak.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not soak.tally.errors, soak.tally.errors[:10]
        assert soak.tally.server_errors() == 0
        assert len(soak.tally.requests) >= 6 * limit
        assert peak < limit
        assert "Too many open files" not in server.log()
    finally:
        assert server.stop() == 0


FREED = r"""
import base64, gc, json, sys
from pathlib import Path
from werkzeug.test import Client
from provider.endpoint.app import EndpointApp
from provider.endpoint.state import EndpointState
sys.path.insert(0, "tests")
from endpoint.conftest import package_bytes

app = EndpointApp(EndpointState(Path(sys.argv[1])))
client = Client(app)
def auth(service):
    return {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260601/us-east-1/"
            f"{service}/aws4_request, SignedHeaders=host, Signature=0"}
client.put("/freed", headers=auth("s3"))
client.put("/freed?versioning", headers=auth("s3"),
           data=b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
role = client.post("/", headers=auth("iam"), data={
    "Action": "CreateRole", "Version": "2010-05-08", "RoleName": "freed",
    "AssumeRolePolicyDocument": "{}"}).get_data(as_text=True)
role_arn = role.split("<Arn>")[1].split("</Arn>")[0]
code = base64.b64encode(package_bytes()).decode()
for i in range(int(sys.argv[2])):
    put = client.put(f"/freed/k{i}", headers=auth("s3"), data=b"x" * 4096)
    client.delete(f"/freed/k{i}?versionId={put.headers['x-amz-version-id']}",
                  headers=auth("s3"))
    made = client.post("/2015-03-31/functions", headers=auth("lambda"), json={
        "FunctionName": f"f{i}", "Runtime": "python3.12", "Role": role_arn,
        "Handler": "app.handler", "Code": {"ZipFile": code}})
    assert made.status_code == 201, made.get_data(as_text=True)
    client.delete(f"/2015-03-31/functions/f{i}", headers=auth("lambda"))
app.close()
gc.collect()
from moto.awslambda.models import LambdaFunction
from moto.s3.models import FakeKey
alive = [type(o).__name__ for o in gc.get_objects() if isinstance(o, (FakeKey, LambdaFunction))]
print(json.dumps(alive))
"""


def test_objects_and_functions_deleted_are_freed_not_kept_by_moto(tmp_path: Path) -> None:
    """moto tracks every model object it makes (for its dashboard), deleted or not: a
    server's memory grew with every upload and function; the endpoint turns that off.
    (In a child process: the app hooks moto, which this test process shares.)"""
    result = subprocess.run(
        [sys.executable, "-c", FREED, str(tmp_path / "home"), "40"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
