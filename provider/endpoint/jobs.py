"""Signing jobs run asynchronously: ``InProgress`` for the job delay, then signed by the
local backend from the source in moto's S3, the signed object written back to S3."""

from __future__ import annotations

import heapq
import json
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from pathlib import Path

from provider.clock import format_instant
from provider.endpoint import s3
from provider.endpoint.state import EndpointState, now
from provider.errors import CodesignError


class JobRunner:
    """Runs each job ``delay`` seconds after it starts, on a bounded pool of workers; the
    delay itself holds no worker, so many jobs wait at once."""

    def __init__(self, state: EndpointState, delay: float, workers: int = 4) -> None:
        self.state = state
        self.delay = delay
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="signing-job")
        self._due: list[tuple[float, str]] = []
        self._wake = threading.Condition()
        self._stopping = False
        self._running: set[Future[None]] = set()
        self._thread = threading.Thread(target=self._schedule, name="job-scheduler", daemon=True)
        self._thread.start()

    def submit(self, job_id: str) -> None:
        """Run ``job_id`` once its delay has passed."""
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + self.delay, job_id))
            self._wake.notify()

    def _schedule(self) -> None:
        with self._wake:
            while not self._stopping:
                if not self._due:
                    self._wake.wait()
                    continue
                due, job_id = self._due[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
                future = self._pool.submit(self._run_safely, job_id)
                self._running.add(future)
                future.add_done_callback(self._done)

    def stop(self) -> None:
        """Stop scheduling; jobs not yet run stay InProgress and fail at the next start."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def clear(self) -> None:
        """Drop the jobs not yet run and wait for those running (before a reset, so no
        job writes into the records being cleared)."""
        with self._wake:
            self._due.clear()
            running = list(self._running)
        wait_for(running)

    def _done(self, future: Future[None]) -> None:
        with self._wake:  # (re-entrant: the scheduler may hold it)
            self._running.discard(future)

    def _run_safely(self, job_id: str) -> None:
        try:
            self.run(job_id)
        except Exception as exc:  # a job never stays InProgress because of a bug here
            traceback.print_exc(file=sys.stderr)  # the defect, traced in the log
            print(f"sam-ext serve: signing job {job_id} failed: {exc!r}", file=sys.stderr)
            self._finish(job_id, "Failed", reason=f"the signing job could not run: {exc}")

    def run(self, job_id: str) -> None:
        """Sign the job's source and write ``prefix + jobId + .zip`` to its destination."""
        with self.state.transaction() as db:
            row = db.execute("SELECT * FROM served_jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None or row["status"] != "InProgress":
            return
        source = json.loads(row["source"])["s3"]
        destination = json.loads(row["destination"])["s3"]
        data = s3.read_object(
            row["invoker"], source["bucketName"], source["key"], source["version"]
        )
        if data is None:
            self._finish(
                job_id,
                "Failed",
                reason=(
                    f"the source s3://{source['bucketName']}/{source['key']} version "
                    f"{source['version']} no longer exists"
                ),
            )
            return
        backend = self.state.backend(row["owner"], row["region"])
        work = self.state.home / "work"
        work.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work) as scratch:
            source_path = Path(scratch) / "source.zip"
            source_path.write_bytes(data)
            try:
                result = backend.sign_package(
                    source_path,
                    str(Path(scratch) / "signed"),
                    row["profile_name"],
                    now=now(),
                    job_id=job_id,
                )
            except CodesignError as exc:
                self._finish(job_id, "Failed", reason=exc.message)
                return
            if result["status"] != "Succeeded":
                self._finish(job_id, "Failed", reason=result.get("statusReason"))
                return
            signed = Path(result["signedObject"]["path"]).read_bytes()
        key = f"{destination.get('prefix', '')}{job_id}.zip"
        s3.write_object(row["invoker"], destination["bucketName"], key, signed)
        self._finish(
            job_id,
            "Succeeded",
            bucket=destination["bucketName"],
            key=key,
            expires=result["signatureExpiresAt"],
        )

    def _finish(
        self,
        job_id: str,
        status: str,
        *,
        reason: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        expires: str | None = None,
    ) -> None:
        with self.state.transaction() as db:
            db.execute(
                "UPDATE served_jobs SET status = ?, status_reason = ?, completed_at = ?, "
                "signed_bucket = ?, signed_key = ?, signature_expires_at = ? "
                "WHERE job_id = ? AND status = 'InProgress'",
                (status, reason, format_instant(now()), bucket, key, expires, job_id),
            )
