"""AWS Signer's operations, through boto3, with the local backend's method signatures.

Instants (``now``) are used for input checks only: on AWS, Signer's clock stamps
``createdAt`` and ``signatureExpiresAt``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, WaiterError

from provider.archive import BuiltPackage
from provider.arns import (
    ACCOUNT_RE,
    PLATFORM_LAMBDA,
    Location,
    check_account,
    check_profile_name,
    check_profile_version,
)
from provider.backends.aws import documents
from provider.backends.aws.errors import aws_call, one_line, restated, translate
from provider.backends.aws.s3 import ObjectStore, S3Object, parse_destination
from provider.backends.base import (
    Document,
    check_profile_revocation,
    check_reason,
    profile_request,
)
from provider.backends.jobs import JobFilter, Pagination
from provider.backends.values import SigningJob, SigningProfile
from provider.errors import CodesignError, SigningJobFailed, ValidationError
from provider.statuses import JobStatus
from provider.validity import ValidityPeriod
from provider.verdict import ArtifactFacts

if TYPE_CHECKING:
    from provider.backends.aws.session import AwsClients

#: Cross-account actions a signing profile can grant (AddProfilePermission).
PROFILE_ACTIONS = ("signer:StartSigningJob", "signer:GetSigningProfile", "signer:RevokeSignature")
_STATEMENT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,100}$")
#: As ``sam package`` polls: every 5 s, for up to 10 minutes.
DEFAULT_JOB_DELAY = 5
DEFAULT_JOB_MAX_ATTEMPTS = 120


def fresh_token() -> str:
    """A client request token for one StartSigningJob call: a new job each time, as on the
    local backend (botocore's retries of that call send the same token, so a retried
    request still starts one job). A caller wanting a repeat to return the same job passes
    its own token."""
    return str(uuid.uuid4())


def _profile_resource(name: str, owner: str | None = None) -> str:
    return f"signing profile {name!r}" + (f" of account {owner}" if owner else "")


class AwsSigner:
    """PutSigningProfile ... AddProfilePermission against AWS Signer (a
    :class:`~provider.backends.base.SignerPart`): packages go through S3 (``objects``)."""

    def __init__(
        self,
        clients: AwsClients,
        objects: ObjectStore,
        *,
        job_delay: float = DEFAULT_JOB_DELAY,
        job_max_attempts: int = DEFAULT_JOB_MAX_ATTEMPTS,
    ) -> None:
        self.clients = clients
        self.objects = objects
        self.job_delay = job_delay
        self.job_max_attempts = job_max_attempts
        self._location: Location | None = None

    @property
    def location(self) -> Location:
        """Partition, region and account of this backend's ARNs (the account is asked of
        STS on first use)."""
        if self._location is None:
            self._location = Location(
                self.clients.region, self.clients.caller_account(), self.clients.partition
            )
        return self._location

    @location.setter
    def location(self, value: Location) -> None:
        self._location = value

    # --- profiles ---------------------------------------------------------------------
    def put_signing_profile(
        self,
        profile_name: str,
        *,
        platform_id: str = PLATFORM_LAMBDA,
        validity: ValidityPeriod | None = None,
        tags: dict[str, str] | None = None,
        now: datetime,
    ) -> Document:
        """PutSigningProfile (platform ``AWSLambda-SHA384-ECDSA``)."""
        request = profile_request(profile_name, platform_id, validity, tags)
        params: dict[str, Any] = {
            "profileName": request.profile_name,
            "platformId": request.platform_id,
            "signatureValidityPeriod": request.validity.to_document(),
        }
        if request.tags:
            params["tags"] = request.tags
        with aws_call("signer:PutSigningProfile", _profile_resource(profile_name)):
            response = self.clients.signer.put_signing_profile(**params)
        return {
            "arn": response["arn"],
            "profileVersion": response["profileVersion"],
            "profileVersionArn": response["profileVersionArn"],
        }

    def get_signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> Document:
        """GetSigningProfile (another account's with ``profile_owner``)."""
        check_profile_name(profile_name)
        params: dict[str, Any] = {"profileName": profile_name}
        if profile_owner is not None:
            params["profileOwner"] = check_account(profile_owner)
        with aws_call("signer:GetSigningProfile", _profile_resource(profile_name, profile_owner)):
            response = self.clients.signer.get_signing_profile(**params)
        profile = documents.document(response)
        profile.pop("signingMaterial", None)
        return profile

    def signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> SigningProfile:
        """GetSigningProfile, as a :class:`SigningProfile`."""
        return SigningProfile.from_document(
            self.get_signing_profile(profile_name, profile_owner=profile_owner)
        )

    def list_signing_profiles(self, *, include_canceled: bool = False) -> Document:
        """ListSigningProfiles of the Lambda platform (every page)."""
        profiles: list[Document] = []
        paginator = self.clients.signer.get_paginator("list_signing_profiles")
        with aws_call("signer:ListSigningProfiles", "signing profiles"):
            for page in paginator.paginate(
                includeCanceled=include_canceled, platformId=PLATFORM_LAMBDA
            ):
                for profile in page.get("profiles", []):
                    item = documents.document(profile)
                    item.pop("signingMaterial", None)
                    profiles.append(item)
        return {"profiles": profiles}

    def cancel_signing_profile(self, profile_name: str, *, now: datetime) -> None:
        """CancelSigningProfile: no new jobs; signatures already made stay valid."""
        check_profile_name(profile_name)
        with aws_call("signer:CancelSigningProfile", _profile_resource(profile_name)):
            self.clients.signer.cancel_signing_profile(profileName=profile_name)

    def revoke_signing_profile(
        self,
        profile_name: str,
        profile_version: str,
        reason: str,
        effective_time: datetime,
        *,
        now: datetime,
    ) -> None:
        """RevokeSigningProfile: signatures made from ``effective_time`` on are untrusted."""
        check_profile_name(profile_name)
        check_profile_revocation(profile_version, reason, effective_time, now)
        with aws_call("signer:RevokeSigningProfile", _profile_resource(profile_name)):
            self.clients.signer.revoke_signing_profile(
                profileName=profile_name,
                profileVersion=profile_version,
                reason=reason,
                effectiveTime=effective_time,
            )

    def add_profile_permission(
        self,
        profile_name: str,
        *,
        principal: str,
        statement_id: str,
        action: str = "signer:StartSigningJob",
        profile_version: str | None = None,
        revision_id: str | None = None,
    ) -> Document:
        """AddProfilePermission: let another account (``principal``) use the profile; it
        then signs with ``profile_owner`` set to this account. Returns ``{revisionId}``."""
        check_profile_name(profile_name)
        if action not in PROFILE_ACTIONS:
            raise ValidationError(f"action: {action!r} is not one of {', '.join(PROFILE_ACTIONS)}")
        if not isinstance(principal, str) or not (
            ACCOUNT_RE.match(principal) or principal.startswith("arn:")
        ):
            raise ValidationError(
                f"principal: {principal!r} must be a 12-digit account id or an IAM ARN"
            )
        if not isinstance(statement_id, str) or not _STATEMENT_ID_RE.match(statement_id):
            raise ValidationError(
                f"statementId: {statement_id!r} must be 1 to 100 letters, digits, '-' or '_'"
            )
        params: dict[str, Any] = {
            "profileName": profile_name,
            "action": action,
            "principal": principal,
            "statementId": statement_id,
        }
        if profile_version is not None:
            params["profileVersion"] = check_profile_version(profile_version)
        if revision_id is not None:
            params["revisionId"] = revision_id
        with aws_call("signer:AddProfilePermission", _profile_resource(profile_name)):
            response = self.clients.signer.add_profile_permission(**params)
        return {"revisionId": response.get("revisionId", "")}

    # --- jobs -------------------------------------------------------------------------
    def sign_package(
        self,
        source: Path,
        destination: str,
        profile_name: str,
        *,
        profile_owner: str | None = None,
        client_request_token: str | None = None,
        now: datetime,
        prefix: str = "",
    ) -> Document:
        """Upload ``source`` (content-addressed), start a signing job, wait, describe.

        ``destination`` is ``s3://bucket[/dir]``: the unsigned package goes to
        ``dir/<sha256>.zip``, the signed one to ``dir/<prefix><jobId>.zip``. Without
        ``client_request_token`` a new job is started (a repeat of a token returns its
        job, whatever that job's signature has become since: revoked, say). A job that ends
        ``Failed`` is returned, its ``statusReason`` saying why; one still running after
        the wait raises :class:`SigningJobFailed` naming it.
        """
        check_profile_name(profile_name)
        if profile_owner is not None:
            check_account(profile_owner)
        bucket, directory = parse_destination(destination)
        unsigned, uploaded = self.objects.put_content_addressed(Path(source), bucket, directory)
        token = client_request_token or fresh_token()
        try:
            job_id = self._start_job(
                unsigned, bucket, directory + prefix, profile_name, profile_owner, token
            )
        except CodesignError as error:
            if uploaded:
                raise self._undo_upload(unsigned, error) from None
            raise
        self.wait_for_signing_job(job_id)
        job = self.describe_signing_job(job_id)
        signed = job.get("signedObject")
        if (
            job["status"] == JobStatus.SUCCEEDED
            and isinstance(signed, dict)
            and "version" not in signed
        ):
            version = self._signed_version(S3Object.from_location(signed))
            if version:
                signed["version"] = version
        return job

    def _start_job(
        self,
        unsigned: S3Object,
        bucket: str,
        destination_prefix: str,
        profile_name: str,
        profile_owner: str | None,
        token: str,
    ) -> str:
        params: dict[str, Any] = {
            "source": {
                "s3": {
                    "bucketName": unsigned.bucket,
                    "key": unsigned.key,
                    "version": unsigned.version,
                }
            },
            "destination": {"s3": {"bucketName": bucket, "prefix": destination_prefix}},
            "profileName": profile_name,
            "clientRequestToken": token,
        }
        if profile_owner is not None:
            params["profileOwner"] = profile_owner
        with aws_call(
            "signer:StartSigningJob",
            f"{_profile_resource(profile_name, profile_owner)} (source {unsigned.uri})",
        ):
            response = self.clients.signer.start_signing_job(**params)
        return str(response["jobId"])

    def _undo_upload(self, unsigned: S3Object, error: CodesignError) -> CodesignError:
        """No job was started: remove the version this call uploaded, or say it is left."""
        try:
            self.objects.delete_version(unsigned)
        except CodesignError as cleanup:
            return restated(
                error,
                f"{error.message}; the uploaded source {unsigned.uri} was left behind "
                f"(removing it failed: {cleanup.message}); delete it with: aws s3api "
                f"delete-object --bucket {unsigned.bucket} --key {unsigned.key} "
                f"--version-id {unsigned.version}",
            )
        return error

    def _signed_version(self, signed: S3Object) -> str | None:
        """The version the job wrote: the first of its key (the key names the job), not
        the latest, which a later write may have replaced since."""
        try:
            written = self.objects.versions(signed.bucket, signed.key)
        except CodesignError:
            return None  # reading it is optional; the prediction checks it again
        first = next((v for v in written if not v.delete_marker), None)
        return first.version if first and first.version != "null" else None

    def sign_archive(
        self,
        source: Path,
        destination: str,
        profile_name: str,
        *,
        written: BuiltPackage | None = None,
        profile_owner: str | None = None,
        client_request_token: str | None = None,
        now: datetime,
        prefix: str = "",
    ) -> tuple[SigningJob, bool]:
        """:meth:`sign_package`: Signer reads the uploaded file, so ``written`` (the bytes
        in this process) saves nothing here. Signer returns the job a client request
        token started before, so a job is never known to be new (``False``)."""
        job = self.sign_package(
            source,
            destination,
            profile_name,
            profile_owner=profile_owner,
            client_request_token=client_request_token,
            now=now,
            prefix=prefix,
        )
        return SigningJob.from_document(job), False

    def default_signing_destination(self) -> None:
        """None: signing jobs on AWS write to an S3 location the caller names."""
        return None

    # --- seals: the aws backend keeps none (S3 objects are judged by their bytes) --------
    def seal_signed(self, path: Path, facts: dict[str, str], bound_to: str) -> None:
        """None: seals are the local keystore's; S3 objects are judged by their bytes."""
        return None

    def sealed_facts(self, path: Path, seal: Any, bound_to: str, *, name: str) -> None:
        """None: no seal is the aws backend's, so ``path`` must be verified in full."""
        return None

    def file_facts(self, path: Path, *, name: str) -> ArtifactFacts:
        """Refused: the aws backend judges signed S3 objects, not local files."""
        raise ValidationError(
            f"package: {str(path)!r} is a local file; the aws backend verifies signed S3 "
            "objects (use --backend local for local .zip files)"
        )

    def wait_for_signing_job(self, job_id: str) -> None:
        """Signer's ``successful_signing_job`` waiter (delay ``job_delay`` seconds, up to
        ``job_max_attempts`` polls). Returns once the job ended, ``Succeeded`` or not."""
        waiter = self.clients.signer.get_waiter("successful_signing_job")
        try:
            waiter.wait(
                jobId=job_id,
                # botocore sleeps Delay seconds between polls; a fraction works too.
                WaiterConfig={"Delay": self.job_delay, "MaxAttempts": self.job_max_attempts},  # type: ignore[typeddict-item]
            )
        except WaiterError as error:
            last = error.last_response or {}
            if last.get("status") == JobStatus.FAILED:
                return
            if "Error" in last:
                raise translate(
                    ClientError(last, "DescribeSigningJob"),
                    "signer:DescribeSigningJob",
                    f"signing job {job_id}",
                ) from None
            if "Max attempts exceeded" in str(error):
                raise SigningJobFailed(
                    f"signing job {job_id} is still {last.get('status', 'InProgress')} after "
                    f"{self.job_max_attempts} checks {self.job_delay} s apart; describe it "
                    f"later with: sam-ext --backend aws signature describe --job-id {job_id}",
                    job_id=job_id,
                ) from None
            raise SigningJobFailed(
                f"waiting for signing job {job_id} failed: {one_line(error)}", job_id=job_id
            ) from None

    def signing_job(self, job_id: str) -> SigningJob:
        """DescribeSigningJob, as a :class:`SigningJob`."""
        return SigningJob.from_document(self.describe_signing_job(job_id))

    def describe_signing_job(self, job_id: str) -> Document:
        """DescribeSigningJob, with objects as ``{bucketName, key[, version]}``."""
        if not isinstance(job_id, str) or not 1 <= len(job_id) <= 128:
            raise ValidationError(f"jobId: {job_id!r} is not a signing job id")
        with aws_call("signer:DescribeSigningJob", f"signing job {job_id}"):
            response = self.clients.signer.describe_signing_job(jobId=job_id)
        return documents.signing_job(response)

    def list_signing_jobs(self, filters: JobFilter, pages: Pagination) -> Document:
        """ListSigningJobs through botocore's paginator, as the AWS CLI pages it: every
        page up to ``max_items``, ``page_size`` jobs per call, and botocore's resumable
        ``NextToken`` when the listing was cut short."""
        params: dict[str, Any] = {}
        optional: dict[str, Any] = {
            "status": filters.status,
            "platformId": filters.platform_id,
            "requestedBy": filters.requested_by,
            "isRevoked": filters.is_revoked,
            "signatureExpiresBefore": filters.signature_expires_before,
            "signatureExpiresAfter": filters.signature_expires_after,
            "jobInvoker": filters.job_invoker,
        }
        params.update({key: value for key, value in optional.items() if value is not None})
        config = {
            "MaxItems": pages.max_items,
            "PageSize": pages.page_size,
            "StartingToken": pages.starting_token,
        }
        params["PaginationConfig"] = {k: v for k, v in config.items() if v is not None}
        paginator = self.clients.signer.get_paginator("list_signing_jobs")
        with aws_call("signer:ListSigningJobs", "signing jobs"):
            # A token botocore did not make goes to Signer as is; Signer refuses it.
            result = paginator.paginate(**params).build_full_result()
        jobs = [documents.signing_job(job) for job in result.get("jobs", [])]
        document: Document = {"jobs": jobs}
        if result.get("NextToken"):
            document["NextToken"] = result["NextToken"]
        return document

    def revoke_signature(
        self, job_id: str, reason: str, *, job_owner: str | None = None, now: datetime
    ) -> None:
        """RevokeSignature: that one signature is untrusted from now on (irreversible)."""
        check_reason(reason)
        params: dict[str, Any] = {"jobId": job_id, "reason": reason}
        if job_owner is not None:
            params["jobOwner"] = check_account(job_owner, "jobOwner")
        with aws_call("signer:RevokeSignature", f"the signature of signing job {job_id}"):
            self.clients.signer.revoke_signature(**params)
