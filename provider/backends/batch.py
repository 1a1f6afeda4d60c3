"""Sign many packages at once: a bounded pool of signing jobs, progress on stderr.

Works with either backend (anything with :meth:`sign_package`). On AWS each package is
uploaded, signed and waited for in its own thread; the pool bounds how many jobs run at
once (:data:`DEFAULT_JOBS`), so a large template neither floods Signer's rate limits nor
the connection pool.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provider.backends.base import Document, SignerPart
from provider.backends.values import SigningJob
from provider.errors import CodesignError, SigningJobFailed, ValidationError
from provider.objects import location_text
from provider.workers import run_all

#: Packages signed at once on AWS when the caller does not say. Signer's quotas are
#: request rates, per API action, per second (per account and Region, adjustable; beyond
#: them it answers ``ThrottlingException``), not a number of jobs in flight; and a job
#: in flight waits on Signer, not on this machine. So the bound comes from the rate its
#: waiting costs: each job in flight polls DescribeSigningJob once per waiter delay
#: (``DEFAULT_JOB_DELAY``, 5 s, as SAM CLI polls), and 50 jobs make 10 polls a second.
#: Bursts above the account's rate (50 StartSigningJob calls at once) are the retry
#: mode's to absorb: botocore's adaptive mode backs off and paces the shared client
#: (:data:`provider.backends.aws.session.DEFAULT_RETRY_MODE`).
DEFAULT_JOBS = 50
MAX_JOBS = 64


@dataclass(frozen=True)
class SignRequest:
    """One package to sign: ``name`` (e.g. a template's logical id) labels its progress."""

    name: str
    source: Path
    profile_name: str
    profile_owner: str | None = None


@dataclass(frozen=True)
class SignOutcome:
    """A request and either its succeeded job or the error that stopped it."""

    request: SignRequest
    job: Document | None = None
    error: CodesignError | None = None

    @property
    def ok(self) -> bool:
        """Whether the package was signed."""
        return self.job is not None and self.error is None


def stderr_progress(line: str) -> None:
    """Print a progress line on stderr (never stdout, which carries documents)."""
    print(line, file=sys.stderr, flush=True)


def sign_all(
    backend: SignerPart,
    requests: Sequence[SignRequest],
    destination: str,
    *,
    now: datetime,
    prefix: str = "signed_",
    jobs: int = DEFAULT_JOBS,
    progress: Callable[[str], None] | None = stderr_progress,
) -> list[SignOutcome]:
    """Sign every request, at most ``jobs`` at a time; outcomes come back in request
    order. One failure does not stop the others: each outcome says how it went (see
    :func:`raise_for_failures`). An error other than :class:`CodesignError` starts no
    further package and propagates (:func:`provider.workers.run_all`)."""
    if not 1 <= jobs <= MAX_JOBS:
        raise ValidationError(f"jobs: {jobs} must be 1 to {MAX_JOBS}")
    names = [r.name for r in requests]
    if len(set(names)) != len(names):
        raise ValidationError("requests: each package needs a distinct name")
    total = len(requests)

    def one(request: SignRequest) -> SignOutcome:
        outcome: SignOutcome
        try:
            document = backend.sign_package(
                request.source,
                destination,
                request.profile_name,
                profile_owner=request.profile_owner,
                now=now,
                prefix=prefix,
            )
            job = SigningJob.from_document(document)
            if not job.succeeded:
                reason = job.status_reason if job.status_reason is not None else "no reason given"
                outcome = SignOutcome(
                    request,
                    error=SigningJobFailed(
                        f"signing job {job.job_id} ended {job.status}: {reason}",
                        job_id=job.job_id,
                    ),
                )
            else:
                outcome = SignOutcome(request, job=document)
        except CodesignError as error:
            outcome = SignOutcome(request, error=error)
        return outcome

    def started(request: SignRequest) -> None:
        if progress is not None:
            progress(f"signing {request.name} ({request.source}) with {request.profile_name}")

    def finished(request: SignRequest, outcome: SignOutcome, count: int) -> None:
        if progress is None:
            return
        if outcome.job is not None:
            where = location_text(outcome.job["signedObject"])
            progress(f"[{count}/{total}] signed {request.name} -> {where}")
        else:
            progress(f"[{count}/{total}] FAILED {request.name}: {outcome.error}")

    return run_all(one, requests, workers=jobs, name="sign", started=started, finished=finished)


def raise_for_failures(outcomes: Sequence[SignOutcome]) -> list[Document]:
    """The jobs, or one error naming every package that failed and why."""
    failed = [o for o in outcomes if not o.ok]
    if failed:
        detail = "; ".join(f"{o.request.name}: {o.error}" for o in failed)
        raise SigningJobFailed(f"{len(failed)} of {len(outcomes)} package(s) not signed: {detail}")
    jobs: list[Document] = []
    for outcome in outcomes:
        assert outcome.job is not None
        jobs.append(outcome.job)
    return jobs
