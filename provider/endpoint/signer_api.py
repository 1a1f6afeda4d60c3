"""AWS Signer's operations, served from the local backend (one keystore per account)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from provider.arns import PLATFORM_LAMBDA, check_account
from provider.backends.jobs import JobFilter
from provider.backends.local.signer import _MAX_SOURCE_BYTES
from provider.clock import parse_instant
from provider.endpoint import s3
from provider.endpoint.jobs import JobRunner
from provider.endpoint.state import (
    Caller,
    EndpointState,
    JobRequest,
    ProfilePermission,
    now,
    signed_dir,
    source_label,
)
from provider.errors import (
    AccessDeniedError,
    NotFoundError,
    ValidationError,
)
from provider.statuses import JobStatus, ProfileStatus
from provider.validity import ValidityPeriod

Document = dict[str, Any]
#: Signer refuses sources larger than Lambda accepts (a module attribute, for tests).
MAX_SOURCE_BYTES = _MAX_SOURCE_BYTES
ACTIONS = (
    "signer:StartSigningJob",
    "signer:GetSigningProfile",
    "signer:RevokeSignature",
    "signer:SignPayload",
)


def _platform(
    platform_id: str,
    display_name: str,
    partner: str,
    target: str,
    algorithms: tuple[list[str], str],
    image_format: str,
    max_size_mb: int,
    revocation: bool,
) -> Document:
    encryption, hash_algorithm = algorithms
    return {
        "platformId": platform_id,
        "displayName": display_name,
        "partner": partner,
        "target": target,
        "category": "AWS",
        "signingConfiguration": {
            "encryptionAlgorithmOptions": {
                "allowedValues": encryption,
                "defaultValue": encryption[0],
            },
            "hashAlgorithmOptions": {
                "allowedValues": [hash_algorithm],
                "defaultValue": hash_algorithm,
            },
        },
        "signingImageFormat": {"supportedFormats": [image_format], "defaultFormat": image_format},
        "maxSizeInMB": max_size_mb,
        "revocationSupported": revocation,
    }


#: AWS Signer's platforms, as ListSigningPlatforms answers on AWS (the IoT and FreeRTOS
#: entries as the AWS CLI's own example output shows them, display name's trailing space
#: included; Lambda's as moto records it; Notation's id and display name from the Signer
#: developer guide, its other fields unconfirmed, chosen like Lambda's). Profiles, jobs
#: and Lambda's checks here are for :data:`PLATFORM_LAMBDA` only.
PLATFORMS: tuple[Document, ...] = (
    _platform(
        "AWSIoTDeviceManagement-SHA256-ECDSA", "AWS IoT Device Management SHA256-ECDSA ",
        "AWSIoTDeviceManagement", "SHA256-ECDSA", (["ECDSA"], "SHA256"), "JSONDetached",
        2048, False,
    ),
    _platform(
        PLATFORM_LAMBDA, "AWS Lambda", "AWSLambda", "SHA384-ECDSA", (["ECDSA"], "SHA384"),
        "JSONDetached", 250, True,
    ),
    _platform(
        "AmazonFreeRTOS-TI-CC3220SF", "Amazon FreeRTOS SHA1-RSA CC3220SF-Format",
        "AmazonFreeRTOS", "SHA1-RSA-TISHA1", (["RSA"], "SHA1"), "JSONEmbedded", 16, False,
    ),
    _platform(
        "AmazonFreeRTOS-Default", "Amazon FreeRTOS SHA256-ECDSA", "AmazonFreeRTOS",
        "SHA256-ECDSA", (["ECDSA", "RSA"], "SHA256"), "JSONEmbedded", 16, False,
    ),
    _platform(
        "Notation-OCI-SHA384-ECDSA", "Notation for container registries", "AWSSigner", "OCI",
        (["ECDSA"], "SHA384"), "JSONDetached", 4, True,
    ),
)  # fmt: skip
LAMBDA_PLATFORM: Document = next(p for p in PLATFORMS if p["platformId"] == PLATFORM_LAMBDA)
#: PutSigningProfile's members kept beside the profile and returned by GetSigningProfile.
PROFILE_SETTINGS = ("signingMaterial", "signingParameters", "overrides")


def _page(
    items: list[Document], params: Document, default: int = 100
) -> tuple[list[Document], str | None]:
    token = params.get("nextToken") or "0"
    if not token.isdigit():
        raise ValidationError(f"nextToken: {token!r} is not a token this service issued")
    start = int(token)
    size = params.get("maxResults") or default
    chunk = items[start : start + size]
    more = start + size < len(items)
    return chunk, (str(start + size) if more else None)


class SignerApi:
    """The Signer operations ``sam-ext serve`` answers, by API name."""

    def __init__(self, state: EndpointState, runner: JobRunner) -> None:
        self.state = state
        self.runner = runner
        self.operations: dict[str, Callable[[Caller, Document], Document]] = {
            "PutSigningProfile": self.put_signing_profile,
            "GetSigningProfile": self.get_signing_profile,
            "ListSigningProfiles": self.list_signing_profiles,
            "CancelSigningProfile": self.cancel_signing_profile,
            "RevokeSigningProfile": self.revoke_signing_profile,
            "StartSigningJob": self.start_signing_job,
            "DescribeSigningJob": self.describe_signing_job,
            "ListSigningJobs": self.list_signing_jobs,
            "RevokeSignature": self.revoke_signature,
            "AddProfilePermission": self.add_profile_permission,
            "ListProfilePermissions": self.list_profile_permissions,
            "RemoveProfilePermission": self.remove_profile_permission,
            "GetSigningPlatform": self.get_signing_platform,
            "ListSigningPlatforms": self.list_signing_platforms,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    # --- cross-account ------------------------------------------------------------------------
    def _owner(
        self,
        caller: Caller,
        owner: str | None,
        profile: str,
        action: str,
        field: str = "profileOwner",
    ) -> str:
        """The account whose profile is meant; another's needs its permission for ``action``."""
        if owner is None or owner == caller.account:
            return caller.account
        check_account(owner, field)
        if not self.state.permits(caller, owner, profile, action):
            raise AccessDeniedError(
                f"account {caller.account} has no {action} permission on signing profile "
                f"{profile!r} of account {owner} (AddProfilePermission grants it)"
            )
        return owner

    # --- profiles -----------------------------------------------------------------------------
    def _profile(self, account: str, region: str, name: str) -> Document:
        document = self.state.backend(account, region).get_signing_profile(name)
        document["tags"] = self.state.tags(document["arn"])
        document["signingParameters"] = {}
        document.update(self.state.profile_settings(document["arn"]))
        return document

    def put_signing_profile(self, caller: Caller, p: Document) -> Document:
        """PutSigningProfile."""
        platform = p["platformId"]
        if platform != PLATFORM_LAMBDA and any(x["platformId"] == platform for x in PLATFORMS):
            raise ValidationError(
                f"platformId: {platform!r} is an AWS Signer platform sam-ext serve lists but "
                f"keeps no profiles for; its profiles sign Lambda code ({PLATFORM_LAMBDA})"
            )
        validity = p.get("signatureValidityPeriod")
        period = None
        if validity is not None:
            if "value" not in validity or "type" not in validity:
                raise ValidationError("signatureValidityPeriod: needs both value and type")
            period = ValidityPeriod.from_document(validity)
        result = self.state.backend(caller.account, caller.region).put_signing_profile(
            p["profileName"],
            platform_id=p["platformId"],
            validity=period,
            tags=p.get("tags"),
            now=now(),
        )
        self.state.set_tags(result["arn"], p.get("tags") or {})
        settings = {k: p[k] for k in PROFILE_SETTINGS if p.get(k) is not None}
        if settings:
            self.state.set_profile_settings(result["arn"], settings)
        return result

    def get_signing_profile(self, caller: Caller, p: Document) -> Document:
        """GetSigningProfile (another account's with its GetSigningProfile permission)."""
        owner = self._owner(
            caller, p.get("profileOwner"), p["profileName"], "signer:GetSigningProfile"
        )
        return self._profile(owner, caller.region, p["profileName"])

    def list_signing_profiles(self, caller: Caller, p: Document) -> Document:
        """ListSigningProfiles with its filters and pages."""
        backend = self.state.backend(caller.account, caller.region)
        profiles = backend.list_signing_profiles(include_canceled=bool(p.get("includeCanceled")))[
            "profiles"
        ]
        statuses = p.get("statuses")
        profiles = [
            dict(d, tags=self.state.tags(d["arn"]), **self._listed_settings(d["arn"]))
            for d in profiles
            if (not statuses or d["status"] in statuses)
            and (not p.get("platformId") or d["platformId"] == p["platformId"])
        ]
        page, token = _page(profiles, p)
        return {"profiles": page, **({"nextToken": token} if token else {})}

    def _listed_settings(self, arn: str) -> Document:
        """The settings ListSigningProfiles shows of a profile (its signingMaterial)."""
        material = self.state.profile_settings(arn).get("signingMaterial")
        return {} if material is None else {"signingMaterial": material}

    def cancel_signing_profile(self, caller: Caller, p: Document) -> Document:
        """CancelSigningProfile."""
        self.state.backend(caller.account, caller.region).cancel_signing_profile(
            p["profileName"], now=now()
        )
        return {}

    def revoke_signing_profile(self, caller: Caller, p: Document) -> Document:
        """RevokeSigningProfile."""
        self.state.backend(caller.account, caller.region).revoke_signing_profile(
            p["profileName"], p["profileVersion"], p["reason"], p["effectiveTime"], now=now()
        )
        return {}

    # --- jobs ---------------------------------------------------------------------------------
    def start_signing_job(self, caller: Caller, p: Document) -> Document:
        """StartSigningJob: checked now, signed after the job delay (see :class:`JobRunner`)."""
        name = p["profileName"]
        owner = self._owner(caller, p.get("profileOwner"), name, "signer:StartSigningJob")
        existing = self.state.job_of_token(caller, p["clientRequestToken"])
        if existing is not None:
            return {"jobId": existing.job_id, "jobOwner": existing.owner}
        profile = self.state.backend(owner, caller.region).get_signing_profile(name)
        if profile["status"] != ProfileStatus.ACTIVE:
            raise ValidationError(
                f"profileName: signing profile {name!r} is {profile['status']}; canceled or "
                "revoked profiles start no signing jobs"
            )
        source = p["source"].get("s3")
        if source is None:
            raise ValidationError("source.s3: must not be null (Lambda code is signed from S3)")
        destination = p["destination"].get("s3")
        if destination is None:
            raise ValidationError("destination.s3: must not be null")
        for field in ("bucketName", "key", "version"):
            if not source.get(field):
                raise ValidationError(f"source.s3.{field}: must not be null")
        if not destination.get("bucketName"):
            raise ValidationError("destination.s3.bucketName: must not be null")
        stored = s3.read_version(
            caller.account, source["bucketName"], source["key"], source["version"], "source.s3"
        )
        if len(stored.data) > MAX_SOURCE_BYTES:
            raise ValidationError(
                f"source.s3: the object is {len(stored.data)} bytes; Signer signs Lambda "
                f"packages of at most {MAX_SOURCE_BYTES} bytes"
            )
        s3.check_bucket(caller.account, destination["bucketName"], "destination.s3.bucketName")
        backend = self.state.backend(owner, caller.region)
        requested = {"s3": {k: source[k] for k in ("bucketName", "key", "version")}}
        request, started = self.state.record_job_request(
            caller,
            p["clientRequestToken"],
            owner,
            requested,
            {"s3": {k: v for k, v in destination.items() if k in ("bucketName", "prefix")}},
            lambda: backend.open_job(
                name, source=source_label(requested), destination=signed_dir(backend), now=now()
            ),
        )
        if started:
            self.runner.submit(request.job_id)
        return {"jobId": request.job_id, "jobOwner": request.owner}

    def describe_signing_job(self, caller: Caller, p: Document) -> Document:
        """DescribeSigningJob (for the job's owner or invoker)."""
        request = self.state.visible_job_request(p["jobId"], caller)
        if request is None:
            raise NotFoundError(f"signing job {p['jobId']!r} does not exist")
        backend = self.state.backend(request.owner, request.region)
        return served_job(request, backend.describe_signing_job(request.job_id), self.state.run)

    def list_signing_jobs(self, caller: Caller, p: Document) -> Document:
        """ListSigningJobs with its filters (:class:`JobFilter`'s) and pages, oldest first."""
        filters = _job_filter(p)
        requests = self.state.visible_job_requests(caller)
        records: dict[str, dict[str, Document]] = {}
        for owner in sorted({request.owner for request in requests}):
            records[owner] = self.state.backend(owner, caller.region).signing_jobs_by_id()
        jobs = sorted(
            (
                served_job(request, records[request.owner][request.job_id], self.state.run)
                for request in requests
                if request.job_id in records[request.owner]
            ),
            key=lambda job: (job["createdAt"], job["jobId"]),
        )
        kept = [] if filters is None else [job for job in jobs if _passes(filters, job)]
        page, token = _page(kept, p)
        return {"jobs": page, **({"nextToken": token} if token else {})}

    def revoke_signature(self, caller: Caller, p: Document) -> Document:
        """RevokeSignature (another account's job with its RevokeSignature permission)."""
        job_owner = p.get("jobOwner")
        request = self.state.job_request(p["jobId"])
        if (
            request is None
            or request.region != caller.region
            or (job_owner is not None and request.owner != job_owner)
        ):
            raise NotFoundError(f"signing job {p['jobId']!r} does not exist")
        backend = self.state.backend(request.owner, request.region)
        job = backend.describe_signing_job(request.job_id)
        if caller.account not in (request.owner, request.invoker):
            self._owner(
                caller, request.owner, job["profileName"], "signer:RevokeSignature", "jobOwner"
            )
        if job["status"] != JobStatus.SUCCEEDED:
            raise ValidationError(
                f"jobId: job {p['jobId']} is {job['status']}; only a signature can be revoked"
            )
        backend.revoke_signature(p["jobId"], p["reason"], now=now())
        return {}

    # --- permissions --------------------------------------------------------------------------
    def add_profile_permission(self, caller: Caller, p: Document) -> Document:
        """AddProfilePermission."""
        name = p["profileName"]
        self.state.backend(caller.account, caller.region).get_signing_profile(name)
        if p["action"] not in ACTIONS:
            raise ValidationError(f"action: {p['action']!r} must be one of {', '.join(ACTIONS)}")
        permission = ProfilePermission(
            p["statementId"], p["action"], p["principal"], p.get("profileVersion")
        )
        revision = self.state.add_profile_permission(caller, name, permission, p.get("revisionId"))
        return {"revisionId": revision}

    def list_profile_permissions(self, caller: Caller, p: Document) -> Document:
        """ListProfilePermissions."""
        name = p["profileName"]
        self.state.backend(caller.account, caller.region).get_signing_profile(name)
        statements, revision = self.state.profile_permissions(caller, name)
        permissions = [
            {
                k: v
                for k, v in (
                    ("action", statement.action),
                    ("principal", statement.principal),
                    ("statementId", statement.statement_id),
                    ("profileVersion", statement.profile_version),
                )
                if v is not None
            }
            for statement in statements
        ]
        document: Document = {
            "permissions": permissions,
            "policySizeBytes": len(json.dumps(permissions)),
        }
        if revision:
            document["revisionId"] = revision
        return document

    def remove_profile_permission(self, caller: Caller, p: Document) -> Document:
        """RemoveProfilePermission (the current revisionId required, as on AWS)."""
        revision = self.state.remove_profile_permission(
            caller, p["profileName"], p["statementId"], p["revisionId"]
        )
        return {"revisionId": revision}

    # --- platforms and tags ------------------------------------------------------------------
    def get_signing_platform(self, caller: Caller, p: Document) -> Document:
        """GetSigningPlatform: any of AWS's platforms."""
        for platform in PLATFORMS:
            if platform["platformId"] == p["platformId"]:
                return platform
        raise NotFoundError(f"platformId: {p['platformId']!r} is not an AWS Signer platform")

    def list_signing_platforms(self, caller: Caller, p: Document) -> Document:
        """ListSigningPlatforms: AWS's platforms, filtered and paged."""
        kept = [
            platform
            for platform in PLATFORMS
            if all(p.get(k) in (None, platform[k]) for k in ("category", "partner", "target"))
        ]
        page, token = _page(kept, p)
        return {"platforms": page, **({"nextToken": token} if token else {})}

    def _tagged_profile(self, caller: Caller, arn: str) -> str:
        prefix = f"arn:aws:signer:{caller.region}:{caller.account}:/signing-profiles/"
        if not arn.startswith(prefix):
            raise NotFoundError(f"resourceArn: {arn!r} is not a signing profile of this account")
        self.state.backend(caller.account, caller.region).get_signing_profile(arn[len(prefix) :])
        return arn

    def tag_resource(self, caller: Caller, p: Document) -> Document:
        """TagResource."""
        arn = self._tagged_profile(caller, p["resourceArn"])
        self.state.set_tags(arn, {**self.state.tags(arn), **p["tags"]})
        return {}

    def untag_resource(self, caller: Caller, p: Document) -> Document:
        """UntagResource."""
        arn = self._tagged_profile(caller, p["resourceArn"])
        tags = self.state.tags(arn)
        self.state.set_tags(arn, {k: v for k, v in tags.items() if k not in p["tagKeys"]})
        return {}

    def list_tags_for_resource(self, caller: Caller, p: Document) -> Document:
        """ListTagsForResource."""
        return {"tags": self.state.tags(self._tagged_profile(caller, p["resourceArn"]))}


def served_job(request: JobRequest, job: Document, run: int) -> Document:
    """A served job as DescribeSigningJob and ListSigningJobs answer it: the job's one
    document in its owner's keystore (``job``, from
    :meth:`~provider.backends.local.signer.LocalSigner.describe_signing_job`: status,
    profile, times, revocation), with what its request says in S3's terms (``request``:
    the source, the invoker, the signed object) and the fields AWS adds. ``run`` is this
    server's: a signed object written by an earlier run is gone with that run's S3."""
    document = {k: v for k, v in job.items() if k not in ("signedObject", "clientRequestToken")}
    document.update(
        source=request.source,
        jobOwner=request.owner,
        jobInvoker=request.invoker,
        requestedBy=f"arn:aws:iam::{request.invoker}:root",
        signingParameters={},
        overrides={},
        isRevoked="revocationRecord" in job,
    )
    if job["status"] == JobStatus.SUCCEEDED:
        bucket, key = request.signed_object
        document["signedObject"] = {"s3": {"bucketName": bucket, "key": key}}
        if request.run != run and s3.read_object(request.invoker, bucket, key) is None:
            document["statusReason"] = (
                f"the signed object s3://{bucket}/{key} was written to the S3 of an "
                "earlier server run and is gone (S3 objects do not survive a restart; "
                "the signature's records do)"
            )
    return document


def _job_filter(p: Document) -> JobFilter | None:
    """ListSigningJobs' filters as :class:`JobFilter` (one place decides what passes), or
    None for filters no job can pass: those :class:`JobFilter` refuses as sam-ext's own
    input (another platform than Lambda's, which every job here is on; an empty expiry
    window; a requester no IAM principal has) list no jobs here, as they always have."""
    try:
        return JobFilter(
            status=p.get("status") or None,
            platform_id=p.get("platformId") or None,
            requested_by=p.get("requestedBy") or None,
            is_revoked=p.get("isRevoked"),
            signature_expires_before=p.get("signatureExpiresBefore") or None,
            signature_expires_after=p.get("signatureExpiresAfter") or None,
            job_invoker=p.get("jobInvoker") or None,
        )
    except ValidationError:
        return None


def _passes(filters: JobFilter, job: Document) -> bool:
    expires = job.get("signatureExpiresAt")
    return filters.matches(
        status=job["status"],
        platform_id=job["platformId"],
        requested_by=job["requestedBy"],
        is_revoked=job["isRevoked"],
        expires_at=None if expires is None else parse_instant(expires, field="signatureExpiresAt"),
        job_invoker=job["jobInvoker"],
    )
