"""Many signers on one keystore lose nothing; a signer killed mid-job leaves no partial
package and no job stuck ``InProgress``."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.verdict import CscPolicy, Decision

SIGN_SCRIPT = """
import sys
from pathlib import Path
from provider.backends.local import LocalBackend
from provider.clock import utcnow
backend = LocalBackend(sys.argv[1])
for _ in range(int(sys.argv[4])):
    job = backend.sign_package(Path(sys.argv[2]), sys.argv[3], "shared", now=utcnow())
    assert job["status"] == "Succeeded", job
"""


def _package(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "x = 1\n")
        archive.writestr("blob.bin", os.urandom(size))
    return path


def _jobs(home: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(home / "index.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT job_id, status, signed_path FROM jobs").fetchall()
    finally:
        db.close()


def test_parallel_signers_lose_no_job_and_never_share_an_id(tmp_path: Path) -> None:
    home = tmp_path / "home"
    backend = LocalBackend(home)
    profile = backend.put_signing_profile(
        "shared", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=utcnow()
    )
    source = _package(tmp_path / "app.zip", 4096)
    processes, per_process = 8, 4
    running = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                SIGN_SCRIPT,
                str(home),
                str(source),
                str(tmp_path / "out"),
                str(per_process),
            ]
        )
        for _ in range(processes)
    ]
    assert [p.wait(timeout=120) for p in running] == [0] * processes
    jobs = _jobs(home)
    assert len(jobs) == processes * per_process
    assert len({job["job_id"] for job in jobs}) == len(jobs)
    assert {job["status"] for job in jobs} == {"Succeeded"}
    check = CscPolicy((profile["profileVersionArn"],), "Enforce")
    for job in jobs:
        verdict = backend.evaluate_package(Path(job["signed_path"]), check, at=utcnow())
        assert verdict.decision is Decision.ALLOW


def test_killed_signer_leaves_no_partial_package_or_stuck_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    backend = LocalBackend(home)
    profile = backend.put_signing_profile(
        "shared", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=utcnow()
    )
    source = _package(tmp_path / "big.zip", 48 * 1024 * 1024)
    out = tmp_path / "out"
    rng = random.Random(7)
    for _ in range(6):
        process = subprocess.Popen(
            [sys.executable, "-c", SIGN_SCRIPT, str(home), str(source), str(out), "50"]
        )
        time.sleep(1.0 + rng.random() * 2.0)
        process.send_signal(signal.SIGKILL)
        process.wait()
    # The next start of a job tidies up after the dead processes.
    backend.sign_package(_package(tmp_path / "small.zip", 10), str(out), "shared", now=utcnow())
    jobs = _jobs(home)
    assert jobs and not [job for job in jobs if job["status"] == "InProgress"]
    failed = [job for job in jobs if job["status"] == "Failed"]
    assert failed, "at least one kill landed mid-job"
    check = CscPolicy((profile["profileVersionArn"],), "Enforce")
    assert not [p.name for p in out.iterdir() if not p.name.endswith(".zip")], (
        "temporary files of killed signers are removed by the next job"
    )
    for signed in out.glob("*.zip"):
        # Every visible package is whole and verifies; partial writes never get the name.
        assert backend.evaluate_package(signed, check, at=utcnow()).decision is Decision.ALLOW
