"""ListSigningJobs and DescribeSigningJob on ``sam-ext serve``: one job document (the
owner's keystore's, with the request's S3 terms added) and :class:`JobFilter`'s filters,
which compare instants, not their text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from provider.endpoint.signer_api import served_job
from provider.endpoint.state import JobRequest

from .conftest import ACCOUNT, Clients, sign, unique, versioned_bucket

PLATFORM = "AWSLambda-SHA384-ECDSA"
#: Less than the millisecond the keystore records instants in.
HALF_MS = timedelta(microseconds=500)


def _listed(signer: Any, **filters: Any) -> set[str]:
    return {job["jobId"] for job in signer.list_signing_jobs(**filters)["jobs"]}


def test_expiry_bounds_compare_instants_below_the_millisecond(aws: Clients) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    job = sign(aws, name, versioned_bucket(s3), "listing.zip")
    expires = job["signatureExpiresAt"]
    job_id = job["jobId"]
    # Bounds are exclusive; half a millisecond either side of the expiry passes them
    # (the text of the instant, cut to milliseconds, would equal the expiry's).
    assert job_id in _listed(signer, signatureExpiresBefore=expires + HALF_MS)
    assert job_id in _listed(signer, signatureExpiresAfter=expires - HALF_MS)
    assert job_id not in _listed(signer, signatureExpiresBefore=expires)
    assert job_id not in _listed(signer, signatureExpiresAfter=expires)
    assert job_id in _listed(
        signer,
        signatureExpiresAfter=expires - HALF_MS,
        signatureExpiresBefore=expires + HALF_MS,
    )


def test_filters_no_job_can_pass_list_none(aws: Clients) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    job = sign(aws, name, versioned_bucket(s3), "none.zip")
    expires = job["signatureExpiresAt"]
    assert _listed(signer, platformId="AmazonFreeRTOS-Default") == set()
    assert (
        _listed(
            signer,
            signatureExpiresAfter=expires + timedelta(days=1),
            signatureExpiresBefore=expires - timedelta(days=1),
        )
        == set()
    )
    assert job["jobId"] in _listed(signer, platformId=PLATFORM, jobInvoker=ACCOUNT)


def test_a_listed_job_is_the_described_job(aws: Clients) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    described = sign(aws, name, versioned_bucket(s3), "same.zip")
    described.pop("ResponseMetadata")
    (listed,) = [
        job for job in signer.list_signing_jobs()["jobs"] if job["jobId"] == described["jobId"]
    ]
    shared = described.keys() & listed.keys()
    assert {"jobId", "status", "source", "signedObject", "profileVersion", "jobInvoker"} <= shared
    assert {k: listed[k] for k in shared} == {k: described[k] for k in shared}


def _request(run: int = 1) -> JobRequest:
    return JobRequest(
        job_id="job-1",
        owner="111122223333",
        region="us-east-1",
        invoker="444455556666",
        client_token="t",
        source={"s3": {"bucketName": "in", "key": "a.zip", "version": "v1"}},
        destination={"s3": {"bucketName": "out", "prefix": "signed/"}},
        run=run,
    )


def _local_job(**fields: Any) -> dict[str, Any]:
    """A job document as the local signer writes it (its describe_signing_job)."""
    return {
        "jobId": "job-1",
        "jobOwner": "111122223333",
        "jobInvoker": "111122223333",
        "status": "InProgress",
        "profileName": "pub",
        "profileVersion": "ABCDEFGHIJ",
        "platformId": PLATFORM,
        "platformDisplayName": "AWS Lambda",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "source": {"path": "s3://in/a.zip?versionId=v1"},
        **fields,
    }


def test_a_served_job_is_the_local_document_in_s3_terms() -> None:
    job = _local_job(
        status="Succeeded",
        completedAt="2026-01-01T00:00:01.000Z",
        signatureExpiresAt="2036-01-01T00:00:00.000Z",
        signedObject={"path": "/home/accounts/111122223333/us-east-1/signed/job-1.zip"},
        revocationRecord={"reason": "leaked", "revokedAt": "x", "revokedBy": "y"},
    )
    served = served_job(_request(), job, run=1)
    assert served == {
        **{k: v for k, v in job.items() if k not in ("signedObject", "source")},
        "source": {"s3": {"bucketName": "in", "key": "a.zip", "version": "v1"}},
        "signedObject": {"s3": {"bucketName": "out", "key": "signed/job-1.zip"}},
        "jobInvoker": "444455556666",
        "requestedBy": "arn:aws:iam::444455556666:root",
        "signingParameters": {},
        "overrides": {},
        "isRevoked": True,
    }


def test_a_job_not_succeeded_has_no_signed_object() -> None:
    served = served_job(_request(), _local_job(), run=1)
    assert "signedObject" not in served
    assert served["isRevoked"] is False
    assert served["status"] == "InProgress"
