"""Signing jobs run asynchronously: ``InProgress`` for the job delay, then signed by the
local backend from the source in moto's S3 (in memory: no temporary files), the signed
object kept in the owner's keystore and written back to S3, then ``Succeeded`` (see
:meth:`~provider.backends.local.signer.LocalSigner.run_job`)."""

from __future__ import annotations

import heapq
import sys
import threading
import time
import traceback
from pathlib import Path

from provider.endpoint import s3
from provider.endpoint.state import EndpointState, now
from provider.workers import Task, WorkerPool, wait_all


class JobRunner:
    """Runs each job ``delay`` seconds after it starts, on a bounded pool of workers; the
    delay itself holds no worker, so many jobs wait at once."""

    def __init__(self, state: EndpointState, delay: float, workers: int = 4) -> None:
        self.state = state
        self.delay = delay
        self._pool = WorkerPool(workers, name="signing-job")
        self._due: list[tuple[float, str]] = []
        self._wake = threading.Condition()
        self._stopping = False
        self._running: set[Task] = set()
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
        self._pool.shutdown(wait=True, cancel_pending=True)

    def clear(self) -> None:
        """Drop the jobs not yet run and wait for those running (before a reset, so no
        job writes into the records being cleared)."""
        with self._wake:
            self._due.clear()
            running = list(self._running)
        wait_all(running)

    def _done(self, future: Task) -> None:
        with self._wake:  # (re-entrant: the scheduler may hold it)
            self._running.discard(future)

    def _run_safely(self, job_id: str) -> None:
        try:
            self.run(job_id)
        except Exception as exc:  # a job never stays InProgress because of a bug here
            traceback.print_exc(file=sys.stderr)  # the defect, traced in the log
            print(f"sam-ext serve: signing job {job_id} failed: {exc!r}", file=sys.stderr)
            request = self.state.job_request(job_id)
            if request is not None:
                self.state.backend(request.owner, request.region).fail_job(
                    job_id, f"the signing job could not run: {exc}", now=now()
                )

    def run(self, job_id: str) -> None:
        """Sign the job's source and write ``prefix + jobId + .zip`` to its destination."""
        request = self.state.job_request(job_id)
        if request is None:
            return
        backend = self.state.backend(request.owner, request.region)
        invoker = request.invoker
        source = request.source["s3"]
        data = s3.read_object(invoker, source["bucketName"], source["key"], source["version"])
        if data is None:
            backend.fail_job(
                job_id,
                f"the source s3://{source['bucketName']}/{source['key']} version "
                f"{source['version']} no longer exists",
                now=now(),
            )
            return
        bucket, key = request.signed_object

        def publish(signed: Path) -> None:
            s3.check_bucket(invoker, bucket, "destination.s3.bucketName")
            s3.write_object(invoker, bucket, key, signed.read_bytes())

        backend.run_job(job_id, data, now=now(), publish=publish)
