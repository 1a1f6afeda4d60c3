"""ListSigningJobs' filters and the AWS CLI's pagination, checked once for both backends.

The AWS CLI pages ``aws signer list-signing-jobs`` itself: ``--page-size`` is the service's
``maxResults`` per call (1 to 25), ``--max-items`` caps what is printed, and when it cuts the
listing short the output ends with a ``NextToken`` to pass back as ``--starting-token``.
Both backends answer in that shape: ``{"jobs": [...], "NextToken": "..."}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from provider.arns import check_account, check_platform
from provider.errors import ValidationError
from provider.statuses import JobStatus

#: ListSigningJobs' ``maxResults`` bounds.
MAX_PAGE_SIZE = 25


@dataclass(frozen=True)
class JobFilter:
    """ListSigningJobs' filters; ``None`` means "not filtered on"."""

    status: str | None = None
    platform_id: str | None = None
    requested_by: str | None = None
    is_revoked: bool | None = None
    signature_expires_before: datetime | None = None
    signature_expires_after: datetime | None = None
    job_invoker: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in tuple(JobStatus):
            raise ValidationError(f"status: {self.status!r} is not one of {', '.join(JobStatus)}")
        if self.platform_id is not None:
            check_platform(self.platform_id)
        if self.requested_by is not None and not 1 <= len(self.requested_by) <= 2048:
            raise ValidationError("requestedBy: must be 1 to 2048 characters")
        if self.job_invoker is not None:
            check_account(self.job_invoker, "jobInvoker")
        before, after = self.signature_expires_before, self.signature_expires_after
        if before is not None and after is not None and after >= before:
            raise ValidationError(
                "signatureExpiresAfter/signatureExpiresBefore: the window is empty (after "
                f"{after.isoformat()} is not before {before.isoformat()})"
            )

    def matches(
        self,
        *,
        status: str,
        platform_id: str,
        requested_by: str,
        is_revoked: bool,
        expires_at: datetime | None,
        job_invoker: str,
    ) -> bool:
        """Whether a job with these attributes passes every filter (bounds are exclusive;
        a job with no signature passes no expiry bound)."""
        if self.status is not None and status != self.status:
            return False
        if self.platform_id is not None and platform_id != self.platform_id:
            return False
        if self.requested_by is not None and requested_by != self.requested_by:
            return False
        if self.is_revoked is not None and is_revoked != self.is_revoked:
            return False
        if self.job_invoker is not None and job_invoker != self.job_invoker:
            return False
        if self.signature_expires_before is not None and (
            expires_at is None or not expires_at < self.signature_expires_before
        ):
            return False
        return self.signature_expires_after is None or (
            expires_at is not None and expires_at > self.signature_expires_after
        )


@dataclass(frozen=True)
class Pagination:
    """The AWS CLI's pagination options (``--max-items``, ``--page-size``,
    ``--starting-token``)."""

    max_items: int | None = None
    page_size: int | None = None
    starting_token: str | None = None

    def __post_init__(self) -> None:
        if self.max_items is not None and self.max_items < 1:
            raise ValidationError(f"--max-items: must be at least 1 (got {self.max_items})")
        if self.page_size is not None and not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValidationError(
                f"--page-size: must be 1 to {MAX_PAGE_SIZE}, ListSigningJobs' maxResults "
                f"range (got {self.page_size})"
            )
        if self.starting_token is not None and not self.starting_token.strip():
            raise ValidationError("--starting-token: is empty")
