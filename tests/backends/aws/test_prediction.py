"""Predicting Lambda's verdict for a signed S3 object from Signer's and S3's records:
DescribeSigningJob and GetSigningProfile on Stubber, the objects and versions on moto."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from provider import schemas
from provider.errors import NotFoundError
from provider.verdict import CscPolicy, Decision

from .conftest import (
    ACCOUNT,
    BUCKET,
    NOW,
    AwsWorld,
    PartialStubber,
    inject_errors,
    job_response,
)
from .conftest import package_bytes as zip_bytes

JOB = "6f1c7e0a-2b8d-4c51-9a3e-5d7f0b1c2e3a"
KEY = f"app/signed_{JOB}.zip"
VERSION = "a1b2c3d4e5"
ARN = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/publisher/{VERSION}"
SIGNED = NOW - timedelta(days=10)
OTHER_ACCOUNT = "210987654321"


def profile_response(
    *, revoked_from: datetime | None = None, version: str = VERSION, owner: str = ACCOUNT
) -> dict[str, Any]:
    arn = f"arn:aws:signer:us-east-1:{owner}:/signing-profiles/publisher"
    response: dict[str, Any] = {
        "profileName": "publisher",
        "profileVersion": version,
        "profileVersionArn": f"{arn}/{version}",
        "signingMaterial": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
        "platformId": "AWSLambda-SHA384-ECDSA",
        "platformDisplayName": "AWS Lambda",
        "signatureValidityPeriod": {"value": 135, "type": "MONTHS"},
        "status": "Active",
        "arn": arn,
        "tags": {},
    }
    if revoked_from is not None:
        response.update(
            status="Revoked",
            statusReason="key compromised",
            revocationRecord={
                "revocationEffectiveFrom": revoked_from,
                "revokedAt": NOW,
                "revokedBy": f"arn:aws:iam::{owner}:user/security",
            },
        )
    return response


class Records:
    """The records one prediction reads: the job (and the profile) stubbed, the object in moto."""

    def __init__(self, world: AwsWorld) -> None:
        self.world = world
        self.stub: PartialStubber = world.stub_signer("describe_signing_job", "get_signing_profile")
        self.first = world.s3.put_object(Bucket=BUCKET, Key=KEY, Body=zip_bytes())["VersionId"]

    def job(self, status: str = "Succeeded", **fields: Any) -> Records:
        fields.setdefault("created", SIGNED)
        fields.setdefault("key", KEY)
        self.stub.add_response(
            "describe_signing_job", job_response(JOB, status, **fields), {"jobId": JOB}
        )
        return self

    def profile(self, **fields: Any) -> Records:
        owner = fields.get("owner", ACCOUNT)
        self.stub.add_response(
            "get_signing_profile",
            profile_response(**fields),
            {"profileName": "publisher", "profileOwner": owner},
        )
        return self

    def verdict(
        self,
        policy: str = "Enforce",
        allowed: tuple[str, ...] = (ARN,),
        target: str = KEY,
        **options: Any,
    ) -> Any:
        verdict = self.world.backend.evaluate_package(
            f"s3://{BUCKET}/{target}", CscPolicy(allowed, policy), at=NOW, **options
        )
        schemas.validate(verdict.to_document(), "verdict", what="verdict")
        self.stub.assert_no_pending_responses()
        return verdict


@pytest.fixture
def records(world: AwsWorld) -> Records:
    return Records(world)


def failed(verdict: Any) -> list[str]:
    return [f.check.value for f in verdict.failed]


def test_a_package_signed_by_an_allowed_profile_is_allowed(records: Records) -> None:
    verdict = records.job().profile().verdict()
    assert verdict.decision is Decision.ALLOW
    assert verdict.facts.profile_version_arn == ARN
    assert verdict.facts.job_id == JOB
    assert verdict.facts.signed_at == SIGNED


def test_a_signer_not_allowed_warns_under_warn_and_is_rejected_under_enforce(
    records: Records,
) -> None:
    other = ARN.replace("/publisher/", "/someone/")
    warned = records.job().profile().verdict("Warn", (other,))
    assert (warned.decision, failed(warned)) == (Decision.WARN, ["mismatch"])
    rejected = records.job().profile().verdict("Enforce", (other,))
    assert rejected.decision is Decision.REJECT
    assert rejected.exception == "CodeVerificationFailedException"


def test_an_expired_signature_fails_expiry(records: Records) -> None:
    verdict = records.job(expires=NOW - timedelta(seconds=1)).profile().verdict()
    assert failed(verdict) == ["expiry"]


def test_a_profile_revoked_before_the_signature_fails_revocation(records: Records) -> None:
    verdict = records.job().profile(revoked_from=SIGNED - timedelta(hours=1)).verdict()
    assert failed(verdict) == ["revocation"]
    assert "is revoked for signatures made from" in verdict.failed[0].message


def test_a_profile_revoked_after_the_signature_leaves_it_trusted(records: Records) -> None:
    verdict = records.job().profile(revoked_from=SIGNED + timedelta(hours=1)).verdict()
    assert verdict.decision is Decision.ALLOW


def test_a_revoked_signature_fails_revocation(records: Records) -> None:
    verdict = records.job(revoked="leaked build").profile().verdict("Warn")
    assert (verdict.decision, failed(verdict)) == (Decision.WARN, ["revocation"])
    assert "leaked build" in verdict.failed[0].message


def test_an_object_overwritten_after_signing_fails_integrity_under_any_policy(
    records: Records, world: AwsWorld
) -> None:
    world.s3.put_object(Bucket=BUCKET, Key=KEY, Body=zip_bytes({"evil.py": b"x"}))
    verdict = records.job().profile().verdict("Warn")
    assert verdict.decision is Decision.REJECT
    assert verdict.exception == "InvalidCodeSignatureException"
    assert "the object was overwritten after signing" in verdict.failed[0].message
    assert records.first in verdict.failed[0].message


def test_the_version_the_job_wrote_still_passes_when_pinned(
    records: Records, world: AwsWorld
) -> None:
    later = world.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"changed")["VersionId"]
    assert records.job().profile().verdict(target=f"{KEY}?versionId={records.first}").decision is (
        Decision.ALLOW
    )
    pinned_later = records.job().profile().verdict(target=f"{KEY}?versionId={later}")
    assert failed(pinned_later) == ["integrity"]


def test_a_deleted_object_is_not_found(records: Records, world: AwsWorld) -> None:
    world.s3.delete_object(Bucket=BUCKET, Key=KEY)
    records.job()
    with pytest.raises(NotFoundError, match="its latest version is a delete marker"):
        records.verdict()


def test_a_job_still_in_progress_leaves_every_check_unknown(records: Records) -> None:
    verdict = records.job("InProgress").verdict()
    assert verdict.decision is Decision.ALLOW
    assert set(verdict.to_document()["unknownChecks"]) == {
        "integrity",
        "mismatch",
        "expiry",
        "revocation",
    }


def test_a_failed_job_signed_nothing(records: Records) -> None:
    verdict = records.job("Failed", reason="the source zip file is empty").verdict("Warn")
    assert failed(verdict) == ["integrity"]
    assert "ended Failed: the source zip file is empty" in verdict.failed[0].message


def test_an_object_the_job_did_not_write_fails_integrity(records: Records, world: AwsWorld) -> None:
    copy = f"copies/{JOB}.zip"
    world.s3.put_object(Bucket=BUCKET, Key=copy, Body=zip_bytes())
    verdict = records.job().profile().verdict(target=copy)
    assert failed(verdict) == ["integrity"]
    assert f"is not the object signing job {JOB} wrote (s3://{BUCKET}/{KEY})" in (
        verdict.failed[0].message
    )


def test_an_object_no_job_names_is_unsigned(records: Records, world: AwsWorld) -> None:
    world.s3.put_object(Bucket=BUCKET, Key="app/plain.zip", Body=zip_bytes())
    verdict = records.verdict("Enforce", target="app/plain.zip")
    assert (verdict.decision, failed(verdict)) == (Decision.REJECT, ["mismatch"])
    assert verdict.failed[0].message == "the package is not signed"
    with pytest.raises(NotFoundError, match=re.escape("s3://codesign-artifacts/app/none.zip")):
        records.verdict(target="app/none.zip")


def test_the_job_can_be_named_when_the_key_does_not_say(records: Records, world: AwsWorld) -> None:
    verdict = records.job().profile().verdict(job_id=JOB)
    assert verdict.facts.job_id == JOB
    assert records.stub.requests("DescribeSigningJob") == [{"jobId": JOB}]


def test_an_unreadable_profile_leaves_revocation_unknown(records: Records) -> None:
    records.job()
    records.stub.add_client_error("get_signing_profile", "AccessDeniedException", "no", 403)
    verdict = records.verdict()
    assert verdict.decision is Decision.ALLOW
    assert verdict.to_document()["unknownChecks"] == ["revocation"]


def test_unlistable_versions_leave_integrity_unknown(records: Records, world: AwsWorld) -> None:
    denied = (403, b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>", {})
    inject_errors(world.backend.clients.s3, "ListObjectVersions", [denied])
    verdict = records.job().profile().verdict()
    assert verdict.decision is Decision.ALLOW
    assert verdict.to_document()["unknownChecks"] == ["integrity"]


def test_a_cross_account_job_is_checked_against_its_owners_profile(records: Records) -> None:
    records.job(owner=OTHER_ACCOUNT).profile(owner=OTHER_ACCOUNT)
    other_arn = ARN.replace(ACCOUNT, OTHER_ACCOUNT)
    verdict = records.verdict("Enforce", (other_arn,))
    assert verdict.decision is Decision.ALLOW
    assert verdict.facts.profile_version_arn == other_arn
    assert records.stub.requests("GetSigningProfile") == [
        {"profileName": "publisher", "profileOwner": OTHER_ACCOUNT}
    ]
