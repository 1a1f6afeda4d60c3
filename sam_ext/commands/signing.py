"""``sam-ext sign`` and ``sam-ext signature``: signing jobs and signature revocation."""

from __future__ import annotations

from pathlib import Path

import click

from provider.backends.values import SigningJob
from provider.clock import parse_instant
from provider.errors import SigningJobFailed
from provider.objects import location_text
from provider.statuses import JobStatus
from sam_ext.context import CliContext
from sam_ext.output import emit, say

pass_context = click.make_pass_decorator(CliContext)


@click.command()
@click.option("--profile-name", required=True)
@click.option("--profile-owner", metavar="ACCOUNT", help="12-digit account id of the owner.")
@click.option("--source", required=True, type=click.Path(path_type=Path), help="The .zip to sign.")
@click.option(
    "--destination",
    required=True,
    metavar="DIR|s3://BUCKET[/PREFIX]",
    help="Where the signed package goes: a directory (local backend) or s3://BUCKET/PREFIX "
    "(aws backend, a versioned bucket; the source is uploaded there first).",
)
@click.option(
    "--prefix", default="", help="Prefix of the signed object's name (before the job id)."
)
@click.option(
    "--client-request-token",
    help="Idempotency token: a repeat returns the job the token first started (even if its "
    "signature was revoked since). Without one, every sign starts a new job.",
)
@pass_context
def sign(
    ctx: CliContext,
    profile_name: str,
    profile_owner: str | None,
    source: Path,
    destination: str,
    prefix: str,
    client_request_token: str | None,
) -> None:
    """Start a signing job, wait for it, and print the described job.

    Every call starts a new job (a new signature), on both backends, unless
    --client-request-token repeats a token: then the job it started is returned.

    The signed package is written to DESTINATION/PREFIX + jobId + .zip: a file (local
    backend) or an S3 object whose version is in signedObject (aws backend).
    """
    document = ctx.backend.sign_package(
        source,
        destination,
        profile_name,
        profile_owner=profile_owner,
        client_request_token=client_request_token,
        now=ctx.now,
        prefix=prefix,
    )
    emit(document, schema="signing-job")
    job = SigningJob.from_document(document)
    if job.status is JobStatus.FAILED:
        raise SigningJobFailed(
            f"signing job {job.job_id} failed: {job.status_reason} (source {source})",
            job_id=job.job_id,
        )
    if not job.succeeded:
        backend = " --backend aws" if ctx.is_aws else ""
        raise SigningJobFailed(
            f"signing job {job.job_id} is still {job.status} (another process started it "
            f"with the same client request token); describe it later with sam-ext{backend} "
            f"signature describe --job-id {job.job_id}",
            job_id=job.job_id,
        )
    say(f"signed {source} -> {location_text(document['signedObject'])}")


@click.group()
def signature() -> None:
    """Signatures made by signing jobs."""


@signature.command("describe")
@click.option("--job-id", required=True)
@pass_context
def describe(ctx: CliContext, job_id: str) -> None:
    """Describe a signing job (DescribeSigningJob)."""
    emit(ctx.backend.describe_signing_job(job_id), schema="signing-job")


@signature.command("revoke")
@click.option("--job-id", required=True)
@click.option("--job-owner", metavar="ACCOUNT", help="12-digit account id of the job's owner.")
@click.option("--reason", required=True, help="1-500 characters.")
@pass_context
def revoke(ctx: CliContext, job_id: str, job_owner: str | None, reason: str) -> None:
    """Revoke one signature (irreversible)."""
    ctx.backend.revoke_signature(job_id, reason, job_owner=job_owner, now=ctx.now)
    say(f"signature of job {job_id} revoked")


@signature.command("list")
@click.option("--status", type=click.Choice([status.value for status in JobStatus]))
@click.option("--platform-id", help="Only jobs of this signing platform.")
@click.option("--requested-by", metavar="IAM-ARN", help="Only jobs this principal requested.")
@click.option(
    "--is-revoked/--no-is-revoked",
    default=None,
    help="Only jobs whose signature is (or is not) revoked.",
)
@click.option(
    "--signature-expires-before",
    metavar="ISO-8601",
    help="Only signatures expiring before this instant.",
)
@click.option(
    "--signature-expires-after",
    metavar="ISO-8601",
    help="Only signatures expiring after this instant.",
)
@click.option("--job-invoker", metavar="ACCOUNT", help="Only jobs this account started.")
@click.option("--max-items", type=int, help="Print at most this many jobs, then a NextToken.")
@click.option("--page-size", type=int, help="Jobs per ListSigningJobs call (1-25).")
@click.option("--starting-token", help="The NextToken of a previous listing, to resume it.")
@pass_context
def list_(
    ctx: CliContext,
    status: str | None,
    platform_id: str | None,
    requested_by: str | None,
    is_revoked: bool | None,
    signature_expires_before: str | None,
    signature_expires_after: str | None,
    job_invoker: str | None,
    max_items: int | None,
    page_size: int | None,
    starting_token: str | None,
) -> None:
    """List signing jobs (ListSigningJobs), paged as the AWS CLI pages them.

    Prints {"jobs": [...]}; when --max-items cuts the listing short, a NextToken follows,
    to pass as --starting-token.
    """
    from provider.backends.jobs import JobFilter, Pagination

    filters = JobFilter(
        status=status,
        platform_id=platform_id,
        requested_by=requested_by,
        is_revoked=is_revoked,
        signature_expires_before=(
            parse_instant(signature_expires_before, field="--signature-expires-before")
            if signature_expires_before
            else None
        ),
        signature_expires_after=(
            parse_instant(signature_expires_after, field="--signature-expires-after")
            if signature_expires_after
            else None
        ),
        job_invoker=job_invoker,
    )
    pages = Pagination(max_items=max_items, page_size=page_size, starting_token=starting_token)
    emit(ctx.backend.list_signing_jobs(filters, pages), schema="list-signing-jobs-response")
