"""``sam-ext --backend aws signature list``: ListSigningJobs through botocore's paginator,
with the AWS CLI's pagination. moto does not serve ListSigningJobs, so botocore's Stubber
answers it (and checks every request against Signer's model)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from provider import schemas
from sam_ext.cli import main
from tests.backends.aws.conftest import ACCOUNT, BUCKET, AwsWorld


def _job(job_id: str, *, revoked: bool = False) -> dict[str, Any]:
    """A ListSigningJobs item with the fields a real one has."""
    return {
        "jobId": job_id,
        "source": {"s3": {"bucketName": BUCKET, "key": "app/unsigned.zip", "version": "v1"}},
        "signedObject": {"s3": {"bucketName": BUCKET, "key": f"app/signed_{job_id}.zip"}},
        "signingMaterial": {"certificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/x"},
        "createdAt": datetime(2026, 6, 1, 12, tzinfo=UTC),
        "status": "Succeeded",
        "isRevoked": revoked,
        "profileName": "publisher",
        "profileVersion": "a1b2c3d4e5",
        "platformId": "AWSLambda-SHA384-ECDSA",
        "platformDisplayName": "AWS Lambda",
        "signatureExpiresAt": datetime(2037, 9, 1, 12, tzinfo=UTC),
        "jobOwner": ACCOUNT,
        "jobInvoker": ACCOUNT,
    }


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    status = main(["--backend", "aws", "signature", "list", *args])
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else None, captured.err


JOB_IDS = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(5)]


def test_filters_are_sent_and_every_page_is_merged(
    cli_world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = cli_world.stub_signer("ListSigningJobs")
    filters = {
        "status": "Succeeded",
        "platformId": "AWSLambda-SHA384-ECDSA",
        "requestedBy": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "isRevoked": True,
        "signatureExpiresBefore": datetime(2038, 1, 1, tzinfo=UTC),
        "signatureExpiresAfter": datetime(2030, 1, 1, tzinfo=UTC),
        "jobInvoker": ACCOUNT,
    }
    stub.add_response(
        "list_signing_jobs",
        {
            "jobs": [_job(JOB_IDS[0], revoked=True), _job(JOB_IDS[1], revoked=True)],
            "nextToken": "p2",
        },
        {**filters, "maxResults": 2},
    )
    stub.add_response(
        "list_signing_jobs",
        {"jobs": [_job(JOB_IDS[2], revoked=True)]},
        {**filters, "maxResults": 2, "nextToken": "p2"},
    )
    status, out, err = run(
        capsys,
        "--status",
        "Succeeded",
        "--platform-id",
        "AWSLambda-SHA384-ECDSA",
        "--requested-by",
        f"arn:aws:iam::{ACCOUNT}:user/ci",
        "--is-revoked",
        "--signature-expires-before",
        "2038-01-01T00:00:00Z",
        "--signature-expires-after",
        "2030-01-01T00:00:00Z",
        "--job-invoker",
        ACCOUNT,
        "--page-size",
        "2",
    )
    assert status == 0, err
    stub.assert_no_pending_responses()
    assert [job["jobId"] for job in out["jobs"]] == JOB_IDS[:3]
    assert "NextToken" not in out
    first = out["jobs"][0]
    assert first["signedObject"] == {"bucketName": BUCKET, "key": f"app/signed_{JOB_IDS[0]}.zip"}
    assert first["isRevoked"] is True and "signingMaterial" not in first
    assert first["signatureExpiresAt"] == "2037-09-01T12:00:00.000Z"
    assert not list(schemas.validator("list-signing-jobs-response").iter_errors(out))


def test_max_items_cuts_the_listing_and_its_next_token_resumes_it(
    cli_world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = cli_world.stub_signer("ListSigningJobs")
    stub.add_response(
        "list_signing_jobs",
        {"jobs": [_job(JOB_IDS[0]), _job(JOB_IDS[1])], "nextToken": "p2"},
        {"maxResults": 2},
    )
    stub.add_response(
        "list_signing_jobs",
        {"jobs": [_job(JOB_IDS[2]), _job(JOB_IDS[3])], "nextToken": "p3"},
        {"maxResults": 2, "nextToken": "p2"},
    )
    status, out, err = run(capsys, "--max-items", "3", "--page-size", "2")
    assert status == 0, err
    assert [job["jobId"] for job in out["jobs"]] == JOB_IDS[:3]
    token = out["NextToken"]
    # The AWS CLI's token: resume inside the second page, after the third job.
    stub.add_response(
        "list_signing_jobs",
        {"jobs": [_job(JOB_IDS[2]), _job(JOB_IDS[3])], "nextToken": "p3"},
        {"maxResults": 2, "nextToken": "p2"},
    )
    stub.add_response(
        "list_signing_jobs",
        {"jobs": [_job(JOB_IDS[4])]},
        {"maxResults": 2, "nextToken": "p3"},
    )
    status, out, err = run(capsys, "--starting-token", token, "--page-size", "2")
    assert status == 0, err
    stub.assert_no_pending_responses()
    assert [job["jobId"] for job in out["jobs"]] == JOB_IDS[3:]
    assert "NextToken" not in out


def test_signer_refusing_the_listing_is_one_line_naming_the_action(
    cli_world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = cli_world.stub_signer("ListSigningJobs")
    stub.add_client_error(
        "list_signing_jobs", "AccessDeniedException", "not authorized", http_status_code=403
    )
    status, out, err = run(capsys)
    assert status == 1 and out is None
    assert "signer:ListSigningJobs" in err and err.count("\n") == 1
