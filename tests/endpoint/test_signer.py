"""Signer over HTTP: boto3's own serializers and parsers against ``sam-ext serve``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import (
    ACCOUNT,
    Clients,
    clients_for,
    error_code,
    package_bytes,
    sign,
    unique,
    upload,
    versioned_bucket,
)

PLATFORM = "AWSLambda-SHA384-ECDSA"


def test_profiles_are_put_got_listed_tagged_and_canceled(aws: Clients) -> None:
    signer = aws("signer")
    name = unique("pub_")
    put = signer.put_signing_profile(
        profileName=name,
        platformId=PLATFORM,
        signatureValidityPeriod={"value": 30, "type": "DAYS"},
        tags={"team": "a"},
    )
    assert put["arn"] == f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/{name}"
    assert put["profileVersionArn"] == f"{put['arn']}/{put['profileVersion']}"
    got = signer.get_signing_profile(profileName=name)
    assert got["status"] == "Active"
    assert got["signatureValidityPeriod"] == {"value": 30, "type": "DAYS"}
    assert got["tags"] == {"team": "a"}
    signer.tag_resource(resourceArn=put["arn"], tags={"env": "dev"})
    signer.untag_resource(resourceArn=put["arn"], tagKeys=["team"])
    assert signer.list_tags_for_resource(resourceArn=put["arn"])["tags"] == {"env": "dev"}
    assert name in [p["profileName"] for p in signer.list_signing_profiles()["profiles"]]
    signer.cancel_signing_profile(profileName=name)
    assert signer.get_signing_profile(profileName=name)["status"] == "Canceled"
    assert name not in [p["profileName"] for p in signer.list_signing_profiles()["profiles"]]
    listed = signer.list_signing_profiles(includeCanceled=True)["profiles"]
    assert name in [p["profileName"] for p in listed]
    assert (
        error_code(lambda: signer.put_signing_profile(profileName=name, platformId=PLATFORM))[0]
        == "ConflictException"
    )


def test_a_job_is_in_progress_then_succeeded_and_its_signed_object_is_in_s3(
    aws: Clients,
) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    bucket = versioned_bucket(s3)
    job = sign(aws, name, bucket, "app/unsigned.zip")
    assert job["status"] == "Succeeded"
    assert job["jobOwner"] == job["jobInvoker"] == ACCOUNT
    key = job["signedObject"]["s3"]["key"]
    assert key == f"signed/{job['jobId']}.zip"
    signed = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert signed != package_bytes()
    assert job["signatureExpiresAt"] > job["createdAt"] + timedelta(days=365 * 11)
    listed = signer.list_signing_jobs(status="Succeeded")["jobs"]
    assert job["jobId"] in [j["jobId"] for j in listed]


def test_start_signing_job_is_idempotent_per_client_request_token(aws: Clients) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    bucket = versioned_bucket(s3)
    version = upload(s3, bucket, "a.zip", package_bytes())
    request = {
        "source": {"s3": {"bucketName": bucket, "key": "a.zip", "version": version}},
        "destination": {"s3": {"bucketName": bucket, "prefix": "out/"}},
        "profileName": name,
        "clientRequestToken": unique("t"),
    }
    first = signer.start_signing_job(**request)["jobId"]
    assert signer.start_signing_job(**request)["jobId"] == first


def test_a_job_with_a_bad_source_fails_with_a_reason(aws: Clients) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    bucket = versioned_bucket(s3)
    version = upload(s3, bucket, "junk.zip", b"not a zip at all")
    job_id = signer.start_signing_job(
        source={"s3": {"bucketName": bucket, "key": "junk.zip", "version": version}},
        destination={"s3": {"bucketName": bucket}},
        profileName=name,
        clientRequestToken=unique("t"),
    )["jobId"]
    waiter = signer.get_waiter("successful_signing_job")
    from botocore.exceptions import WaiterError

    with pytest.raises(WaiterError):
        waiter.wait(jobId=job_id, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    job = signer.describe_signing_job(jobId=job_id)
    assert job["status"] == "Failed"
    assert "zip" in job["statusReason"]


def test_revocations_show_on_the_profile_and_the_job(aws: Clients) -> None:
    s3, signer = aws("s3"), aws("signer")
    name = unique("pub_")
    version = signer.put_signing_profile(profileName=name, platformId=PLATFORM)["profileVersion"]
    bucket = versioned_bucket(s3)
    job = sign(aws, name, bucket, "r.zip")
    signer.revoke_signature(jobId=job["jobId"], reason="leaked build")
    described = signer.describe_signing_job(jobId=job["jobId"])
    assert described["revocationRecord"]["reason"] == "leaked build"
    assert signer.list_signing_jobs(isRevoked=True)["jobs"][0]["isRevoked"] is True
    signer.revoke_signing_profile(
        profileName=name,
        profileVersion=version,
        reason="key compromise",
        effectiveTime=datetime.now(UTC) - timedelta(hours=1),
    )
    profile = signer.get_signing_profile(profileName=name)
    assert profile["status"] == "Revoked"
    assert "revocationEffectiveFrom" in profile["revocationRecord"]
    code, message, _ = error_code(
        lambda: signer.start_signing_job(
            source={"s3": {"bucketName": bucket, "key": "r.zip", "version": "x"}},
            destination={"s3": {"bucketName": bucket}},
            profileName=name,
            clientRequestToken=unique("t"),
        )
    )
    assert code == "ValidationException" and "Revoked" in message


#: AWS Signer's platforms (the Signer developer guide lists these five).
AWS_PLATFORMS = {
    "AWSIoTDeviceManagement-SHA256-ECDSA",
    "AmazonFreeRTOS-TI-CC3220SF",
    "AmazonFreeRTOS-Default",
    PLATFORM,
    "Notation-OCI-SHA384-ECDSA",
}


def test_platforms_are_awss_and_profiles_are_for_lambdas(aws: Clients) -> None:
    signer = aws("signer")
    listed = signer.list_signing_platforms()["platforms"]
    assert {p["platformId"] for p in listed} == AWS_PLATFORMS
    for platform in listed:
        got = signer.get_signing_platform(platformId=platform["platformId"])
        assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == platform
    lambda_platform = signer.get_signing_platform(platformId=PLATFORM)
    assert lambda_platform["displayName"] == "AWS Lambda"
    assert lambda_platform["signingConfiguration"]["hashAlgorithmOptions"]["defaultValue"] == (
        "SHA384"
    )
    assert [p["platformId"] for p in signer.list_signing_platforms(partner="AWSLambda")[
        "platforms"
    ]] == [PLATFORM]  # fmt: skip
    first = signer.list_signing_platforms(maxResults=2)
    rest = signer.list_signing_platforms(maxResults=10, nextToken=first["nextToken"])
    assert [p["platformId"] for p in first["platforms"] + rest["platforms"]] == [
        p["platformId"] for p in listed
    ]
    assert (
        error_code(lambda: signer.get_signing_platform(platformId="pid"))[0]
        == "ResourceNotFoundException"
    )
    # Another AWS platform is listed, and its profiles are refused by name.
    code, message, _ = error_code(
        lambda: signer.put_signing_profile(
            profileName=unique("iot_"), platformId="AWSIoTDeviceManagement-SHA256-ECDSA"
        )
    )
    assert code == "ValidationException"
    assert "AWSIoTDeviceManagement-SHA256-ECDSA" in message and PLATFORM in message
    code, message, _ = error_code(
        lambda: signer.put_signing_profile(profileName=unique("p_"), platformId="pid")
    )
    assert code == "ValidationException" and "'pid'" in message


def test_signing_material_and_parameters_given_are_returned(aws: Clients) -> None:
    signer = aws("signer")
    name, plain = unique("pub_"), unique("pub_")
    material = {"certificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc"}
    signer.put_signing_profile(
        profileName=name,
        platformId=PLATFORM,
        signingMaterial=material,
        signingParameters={"purpose": "release"},
    )
    signer.put_signing_profile(profileName=plain, platformId=PLATFORM)
    got = signer.get_signing_profile(profileName=name)
    assert got["signingMaterial"] == material
    assert got["signingParameters"] == {"purpose": "release"}
    assert "signingMaterial" not in signer.get_signing_profile(profileName=plain)
    listed = {p["profileName"]: p for p in signer.list_signing_profiles()["profiles"]}
    assert listed[name]["signingMaterial"] == material
    assert "signingMaterial" not in listed[plain]


def _other_account(aws: Clients, account: str) -> Clients:
    """Credentials of ``account``: an assumed role there (moto maps its keys to it)."""
    credentials = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/ci", RoleSessionName="ci"
    )["Credentials"]
    return clients_for(
        aws.url,
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


def test_cross_account_signing_needs_the_owners_permission(aws: Clients) -> None:
    owner_signer = aws("signer")
    name = unique("shared_")
    owner_signer.put_signing_profile(profileName=name, platformId=PLATFORM)
    other = _other_account(aws, "111122223333")
    assert other("sts").get_caller_identity()["Account"] == "111122223333"
    bucket = versioned_bucket(other("s3"))
    version = upload(other("s3"), bucket, "x.zip", package_bytes())
    request = {
        "source": {"s3": {"bucketName": bucket, "key": "x.zip", "version": version}},
        "destination": {"s3": {"bucketName": bucket, "prefix": "signed/"}},
        "profileName": name,
        "profileOwner": ACCOUNT,
        "clientRequestToken": unique("t"),
    }
    code, _, status = error_code(lambda: other("signer").start_signing_job(**request))
    assert (code, status) == ("AccessDeniedException", 403)
    code, _, _ = error_code(
        lambda: other("signer").get_signing_profile(profileName=name, profileOwner=ACCOUNT)
    )
    assert code == "AccessDeniedException"
    owner_signer.add_profile_permission(
        profileName=name,
        action="signer:GetSigningProfile",
        principal="111122223333",
        statementId="read",
    )
    seen = other("signer").get_signing_profile(profileName=name, profileOwner=ACCOUNT)
    assert seen["arn"].split(":")[4] == ACCOUNT
    revision = owner_signer.add_profile_permission(
        profileName=name,
        action="signer:StartSigningJob",
        principal="111122223333",
        statementId="ci",
    )["revisionId"]
    permissions = owner_signer.list_profile_permissions(profileName=name)
    assert permissions["revisionId"] == revision
    assert {p["statementId"] for p in permissions["permissions"]} == {"read", "ci"}
    job = other("signer").start_signing_job(**request)
    assert job["jobOwner"] == ACCOUNT
    other("signer").get_waiter("successful_signing_job").wait(
        jobId=job["jobId"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    described = other("signer").describe_signing_job(jobId=job["jobId"])
    assert described["jobInvoker"] == "111122223333"
    assert other("s3").get_object(Bucket=bucket, Key=described["signedObject"]["s3"]["key"])
    # The owner sees the job too; a stale revision cannot remove the permission.
    assert owner_signer.describe_signing_job(jobId=job["jobId"])["status"] == "Succeeded"
    assert (
        error_code(
            lambda: owner_signer.remove_profile_permission(
                profileName=name, statementId="ci", revisionId="stale"
            )
        )[0]
        == "ConflictException"
    )
    owner_signer.remove_profile_permission(profileName=name, statementId="ci", revisionId=revision)
    request["clientRequestToken"] = unique("t")
    assert (
        error_code(lambda: other("signer").start_signing_job(**request))[0]
        == "AccessDeniedException"
    )
