"""AWS Signer through the aws backend: profiles on moto; jobs, revocations, permissions and
the failure paths on botocore's Stubber (requests and responses checked against Signer's
model)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from provider import schemas
from provider.backends.aws.errors import AccessDeniedError
from provider.backends.values import SigningJob, SigningProfile
from provider.errors import NotFoundError, SigningJobFailed, ValidationError
from provider.statuses import ProfileStatus
from provider.validity import ValidityPeriod

from .conftest import (
    ACCOUNT,
    BUCKET,
    NOW,
    AwsWorld,
    PartialStubber,
    job_response,
    write_signed_object,
)

JOB = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_ACCOUNT = "210987654321"


# --- profiles -------------------------------------------------------------------------
def test_profiles_are_put_read_and_canceled(world: AwsWorld) -> None:
    created = world.backend.put_signing_profile(
        "publisher", validity=ValidityPeriod(2, "YEARS"), tags={"team": "web"}, now=NOW
    )
    schemas.validate(created, "put-signing-profile-response", what="PutSigningProfile")
    profile = world.backend.get_signing_profile("publisher")
    schemas.validate(profile, "signing-profile", what="GetSigningProfile")
    assert profile["profileVersionArn"] == created["profileVersionArn"]
    assert profile["signatureValidityPeriod"] == {"value": 2, "type": "YEARS"}
    assert profile["tags"] == {"team": "web"}
    world.backend.cancel_signing_profile("publisher", now=NOW)
    assert world.backend.get_signing_profile("publisher")["status"] == "Canceled"
    typed = world.backend.signing_profile("publisher")
    assert typed == SigningProfile.from_document(world.backend.get_signing_profile("publisher"))
    assert typed.status is ProfileStatus.CANCELED and not typed.active


def test_inputs_are_checked_before_any_call(world: AwsWorld) -> None:
    stub = world.stub_signer("put_signing_profile", "get_signing_profile")
    with pytest.raises(ValidationError, match="profileName: 'a-b' must be 2 to 64"):
        world.backend.put_signing_profile("a-b", now=NOW)
    with pytest.raises(ValidationError, match="platformId: 'AWSIoT' is not supported"):
        world.backend.put_signing_profile("ok_name", platform_id="AWSIoT", now=NOW)
    with pytest.raises(ValidationError, match="profileOwner: '42' must be a 12-digit"):
        world.backend.get_signing_profile("ok_name", profile_owner="42")
    assert stub.calls == []


def test_a_missing_profile_is_not_found_naming_it(world: AwsWorld) -> None:
    stub = world.stub_signer("get_signing_profile")
    stub.add_client_error(
        "get_signing_profile",
        "ResourceNotFoundException",
        "Profile not found",
        404,
        expected_params={"profileName": "ghost", "profileOwner": OTHER_ACCOUNT},
    )
    with pytest.raises(NotFoundError) as caught:
        world.backend.get_signing_profile("ghost", profile_owner=OTHER_ACCOUNT)
    assert caught.value.message.startswith(
        f"signing profile 'ghost' of account {OTHER_ACCOUNT} does not exist"
    )


def _profile_item(name: str, status: str = "Active") -> dict[str, Any]:
    arn = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/{name}"
    return {
        "profileName": name,
        "profileVersion": "a1b2c3d4e5",
        "profileVersionArn": f"{arn}/a1b2c3d4e5",
        "signingMaterial": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
        "signatureValidityPeriod": {"value": 135, "type": "MONTHS"},
        "platformId": "AWSLambda-SHA384-ECDSA",
        "platformDisplayName": "AWS Lambda",
        "status": status,
        "arn": arn,
        "tags": {},
    }


def test_listing_reads_every_page_of_lambda_profiles(world: AwsWorld) -> None:
    stub = world.stub_signer("list_signing_profiles")
    query = {"includeCanceled": True, "platformId": "AWSLambda-SHA384-ECDSA"}
    stub.add_response(
        "list_signing_profiles", {"profiles": [_profile_item("one")], "nextToken": "p2"}, query
    )
    stub.add_response(
        "list_signing_profiles",
        {"profiles": [_profile_item("two", "Canceled")]},
        {**query, "nextToken": "p2"},
    )
    listed = world.backend.list_signing_profiles(include_canceled=True)
    schemas.validate(listed, "list-signing-profiles-response", what="ListSigningProfiles")
    assert [p["profileName"] for p in listed["profiles"]] == ["one", "two"]
    assert "signingMaterial" not in listed["profiles"][0]
    stub.assert_no_pending_responses()


def test_revoking_a_profile_sends_the_version_reason_and_time(world: AwsWorld) -> None:
    stub = world.stub_signer("revoke_signing_profile")
    effective = NOW - timedelta(days=1)
    stub.add_response(
        "revoke_signing_profile",
        {},
        {
            "profileName": "publisher",
            "profileVersion": "a1b2c3d4e5",
            "reason": "key compromised",
            "effectiveTime": effective,
        },
    )
    world.backend.revoke_signing_profile(
        "publisher", "a1b2c3d4e5", "key compromised", effective, now=NOW
    )
    stub.assert_no_pending_responses()


def test_a_revocation_in_the_future_is_refused_without_a_call(world: AwsWorld) -> None:
    stub = world.stub_signer("revoke_signing_profile")
    with pytest.raises(ValidationError, match=r"effectiveTime: .* is in the future"):
        world.backend.revoke_signing_profile(
            "publisher", "a1b2c3d4e5", "r", NOW + timedelta(seconds=1), now=NOW
        )
    with pytest.raises(ValidationError, match="reason: must be 1 to 500 characters"):
        world.backend.revoke_signing_profile("publisher", "a1b2c3d4e5", "", NOW, now=NOW)
    assert stub.calls == []


def test_cross_account_signing_is_granted_with_a_profile_permission(world: AwsWorld) -> None:
    stub = world.stub_signer("add_profile_permission")
    stub.add_response(
        "add_profile_permission",
        {"revisionId": "r-2"},
        {
            "profileName": "publisher",
            "action": "signer:StartSigningJob",
            "principal": OTHER_ACCOUNT,
            "statementId": "ci-account",
            "profileVersion": "a1b2c3d4e5",
        },
    )
    granted = world.backend.add_profile_permission(
        "publisher",
        principal=OTHER_ACCOUNT,
        statement_id="ci-account",
        profile_version="a1b2c3d4e5",
    )
    assert granted == {"revisionId": "r-2"}
    with pytest.raises(ValidationError, match="action: 'signer:\\*' is not one of"):
        world.backend.add_profile_permission(
            "publisher", principal=OTHER_ACCOUNT, statement_id="x", action="signer:*"
        )
    with pytest.raises(ValidationError, match="principal: 'everyone' must be"):
        world.backend.add_profile_permission("publisher", principal="everyone", statement_id="x")


# --- signing jobs ---------------------------------------------------------------------
def _signer_like_aws(world: AwsWorld, stub: PartialStubber) -> None:
    """When a stubbed StartSigningJob succeeds, write the signed object as Signer would."""

    def after_start(parsed: dict[str, Any], **_: Any) -> None:
        if "jobId" in parsed:
            write_signed_object(world.s3, stub.requests("StartSigningJob")[-1], parsed["jobId"])

    world.signer.meta.events.register("after-call.signer.StartSigningJob", after_start)


def _start_params(profile: str = "publisher", **extra: Any) -> dict[str, Any]:
    return {
        "source": ANY,
        "destination": {"s3": {"bucketName": BUCKET, "prefix": "app/signed_"}},
        "profileName": profile,
        "clientRequestToken": ANY,
        **extra,
    }


def _expect_job(stub: PartialStubber, *statuses: str, **fields: Any) -> None:
    stub.add_response("start_signing_job", {"jobId": JOB, "jobOwner": ACCOUNT}, _start_params())
    for status in statuses:
        stub.add_response(
            "describe_signing_job", job_response(JOB, status, **fields), {"jobId": JOB}
        )


def test_a_package_is_uploaded_signed_waited_for_and_described(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    _signer_like_aws(world, stub)
    # The waiter polls (InProgress, then Succeeded); then the job is described once more.
    _expect_job(stub, "InProgress", "Succeeded", "Succeeded")
    job = world.backend.sign_package(
        package(), f"s3://{BUCKET}/app", "publisher", now=NOW, prefix="signed_"
    )
    stub.assert_no_pending_responses()
    schemas.validate(job, "signing-job", what="DescribeSigningJob")
    assert job["status"] == "Succeeded"
    assert job["signedObject"]["key"] == f"app/signed_{JOB}.zip"
    head = world.s3.head_object(Bucket=BUCKET, Key=f"app/signed_{JOB}.zip")
    assert job["signedObject"]["version"] == head["VersionId"]
    stub.add_response("describe_signing_job", job_response(JOB, "Succeeded"), {"jobId": JOB})
    typed = world.backend.signing_job(JOB)
    assert isinstance(typed, SigningJob) and typed.job_id == JOB and typed.succeeded
    assert typed.signed_object is not None and typed.signed_object.s3 is not None
    assert typed.signed_object.s3.key == job["signedObject"]["key"]
    (start,) = stub.requests("StartSigningJob")
    source = start["source"]["s3"]
    assert source["key"].startswith("app/") and source["version"]
    # No token given: a fresh one (a new job), as the local backend starts a new job.
    assert uuid.UUID(start["clientRequestToken"]).version == 4


def test_the_signed_version_is_the_one_the_job_wrote_not_a_later_write(
    world: AwsWorld, package: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signer does not say which version it wrote; the key names the job, so its first
    version is the job's. An object written over it meanwhile is not what is deployed."""
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    _signer_like_aws(world, stub)
    _expect_job(stub, "Succeeded", "Succeeded")
    key = f"app/signed_{JOB}.zip"
    waited = world.backend.wait_for_signing_job

    def overwritten_after(job_id: str) -> None:
        waited(job_id)
        world.s3.put_object(Bucket=BUCKET, Key=key, Body=b"written by someone else")

    monkeypatch.setattr(world.backend, "wait_for_signing_job", overwritten_after)
    job = world.backend.sign_package(
        package(), f"s3://{BUCKET}/app", "publisher", now=NOW, prefix="signed_"
    )
    versions = world.s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    assert len(versions) == 2
    written = next(v for v in versions if not v["IsLatest"])
    assert job["signedObject"]["version"] == written["VersionId"]
    body = world.s3.get_object(Bucket=BUCKET, Key=key, VersionId=job["signedObject"]["version"])
    assert body["Body"].read() != b"written by someone else"


def test_a_second_sign_reuses_the_upload_and_starts_a_new_job_unless_given_a_token(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    _signer_like_aws(world, stub)
    for _ in range(3):
        _expect_job(stub, "Succeeded", "Succeeded")
    destination = f"s3://{BUCKET}/app"
    world.backend.sign_package(package(), destination, "publisher", now=NOW, prefix="signed_")
    world.backend.sign_package(package(), destination, "publisher", now=NOW, prefix="signed_")
    world.backend.sign_package(
        package(),
        destination,
        "publisher",
        now=NOW,
        prefix="signed_",
        client_request_token="release-1",
    )
    first, second, given = stub.requests("StartSigningJob")
    # The unsigned upload is content-addressed: one version, used by every job.
    assert first["source"] == second["source"] == given["source"]
    unsigned = first["source"]["s3"]["key"]
    assert len(world.s3.list_object_versions(Bucket=BUCKET, Prefix=unsigned)["Versions"]) == 1
    # Each call without a token is a new job; a given token is sent as it is.
    assert first["clientRequestToken"] != second["clientRequestToken"]
    assert given["clientRequestToken"] == "release-1"


def test_a_failed_job_is_returned_with_signers_reason(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    reason = "Signing failed: the source zip file is already signed"
    _expect_job(stub, "Failed", "Failed", reason=reason)
    job = world.backend.sign_package(
        package(), f"s3://{BUCKET}/app", "publisher", now=NOW, prefix="signed_"
    )
    schemas.validate(job, "signing-job", what="DescribeSigningJob")
    assert (job["status"], job["statusReason"]) == ("Failed", reason)
    assert "signedObject" not in job


def test_a_job_still_running_after_the_wait_names_the_job(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    _expect_job(stub, *["InProgress"] * world.backend.job_max_attempts)
    with pytest.raises(SigningJobFailed) as caught:
        world.backend.sign_package(
            package(), f"s3://{BUCKET}/app", "publisher", now=NOW, prefix="signed_"
        )
    assert caught.value.job_id == JOB
    assert f"signing job {JOB} is still InProgress after 5 checks" in caught.value.message
    assert f"signature describe --job-id {JOB}" in caught.value.message


def test_access_denied_at_start_names_the_permission_and_removes_the_upload(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job")
    stub.add_client_error(
        "start_signing_job",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
        "signer:StartSigningJob",
        403,
        expected_params=_start_params(),
    )
    with pytest.raises(AccessDeniedError) as caught:
        world.backend.sign_package(
            package(), f"s3://{BUCKET}/app", "publisher", now=NOW, prefix="signed_"
        )
    message = caught.value.message
    assert message.startswith("signer:StartSigningJob on signing profile 'publisher' (source s3://")
    assert "Grant signer:StartSigningJob to the caller" in message
    listing = world.s3.list_object_versions(Bucket=BUCKET)
    assert "Versions" not in listing and "DeleteMarkers" not in listing


def test_an_upload_that_cannot_be_removed_is_reported(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job")
    stub.add_client_error("start_signing_job", "AccessDeniedException", "denied", 403)

    def deny_delete(**_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DeleteObject")

    world.backend.clients.s3.meta.events.register("before-call.s3.DeleteObject", deny_delete)
    with pytest.raises(AccessDeniedError) as caught:
        world.backend.sign_package(package(), f"s3://{BUCKET}/app", "publisher", now=NOW)
    assert "was left behind" in caught.value.message
    assert "aws s3api delete-object --bucket codesign-artifacts --key app/" in caught.value.message


def test_cross_account_jobs_pass_the_profile_owner(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    stub.add_response(
        "start_signing_job",
        {"jobId": JOB, "jobOwner": OTHER_ACCOUNT},
        _start_params(profileOwner=OTHER_ACCOUNT),
    )
    for _ in range(2):
        stub.add_response(
            "describe_signing_job",
            job_response(JOB, "Failed", reason="x", owner=OTHER_ACCOUNT),
            {"jobId": JOB},
        )
    job = world.backend.sign_package(
        package(),
        f"s3://{BUCKET}/app",
        "publisher",
        profile_owner=OTHER_ACCOUNT,
        now=NOW,
        prefix="signed_",
    )
    assert job["jobOwner"] == OTHER_ACCOUNT


def test_a_vanished_job_during_the_wait_is_not_found(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    stub = world.stub_signer("start_signing_job", "describe_signing_job")
    stub.add_response("start_signing_job", {"jobId": JOB, "jobOwner": ACCOUNT}, _start_params())
    stub.add_client_error("describe_signing_job", "ResourceNotFoundException", "no job", 404)
    with pytest.raises(NotFoundError, match=f"signing job {JOB} does not exist"):
        world.backend.sign_package(
            package(), f"s3://{BUCKET}/app", "publisher", now=NOW, prefix="signed_"
        )


def test_signatures_are_revoked_with_reason_and_owner(world: AwsWorld) -> None:
    stub = world.stub_signer("revoke_signature")
    stub.add_response(
        "revoke_signature",
        {},
        {"jobId": JOB, "reason": "leaked build", "jobOwner": OTHER_ACCOUNT},
    )
    world.backend.revoke_signature(JOB, "leaked build", job_owner=OTHER_ACCOUNT, now=NOW)
    stub.assert_no_pending_responses()
    with pytest.raises(ValidationError, match="jobOwner: 'me' must be a 12-digit"):
        world.backend.revoke_signature(JOB, "r", job_owner="me", now=NOW)


def test_describing_a_missing_job_names_it(world: AwsWorld) -> None:
    stub = world.stub_signer("describe_signing_job")
    stub.add_client_error("describe_signing_job", "ResourceNotFoundException", "gone", 404)
    with pytest.raises(NotFoundError, match=f"signing job {JOB} does not exist"):
        world.backend.describe_signing_job(JOB)
