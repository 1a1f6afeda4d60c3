"""Predicting Lambda's verdict for an S3 object whose bytes carry no signature this project
can read (AWS Signer's own format), by matching them to a signing job's signed object:
DescribeSigningJob, ListSigningJobs and GetSigningProfile on Stubber, the objects and
versions on moto. (Bytes in this project's format are verified against ``sam-ext serve``
in test_served_verify.py.)"""

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

    def __init__(self, world: AwsWorld, *operations: str) -> None:
        self.world = world
        self.stub: PartialStubber = world.stub_signer(
            "describe_signing_job", "get_signing_profile", *operations
        )
        self.first = world.s3.put_object(Bucket=BUCKET, Key=KEY, Body=zip_bytes())["VersionId"]

    def listed(self, *keys: str) -> Records:
        """ListSigningJobs: one succeeded job per key (JOB's for KEY)."""
        jobs = []
        for index, key in enumerate(keys):
            described = job_response(
                JOB if key == KEY else f"{JOB[:-1]}{index}", "Succeeded", key=key
            )
            jobs.append({k: v for k, v in described.items() if k in _LISTED})
        self.stub.add_response(
            "list_signing_jobs",
            {"jobs": jobs},
            {"status": "Succeeded", "platformId": "AWSLambda-SHA384-ECDSA"},
        )
        return self

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


#: The fields of a ListSigningJobs entry (a SigningJob), of a DescribeSigningJob response.
_LISTED = (
    "jobId", "source", "signedObject", "signingMaterial", "createdAt", "status",
    "profileName", "profileVersion", "platformId", "platformDisplayName",
    "signatureExpiresAt", "jobOwner", "jobInvoker",
)  # fmt: skip


@pytest.fixture
def records(world: AwsWorld) -> Records:
    return Records(world)


@pytest.fixture
def listing(world: AwsWorld) -> Records:
    """Records whose ListSigningJobs is stubbed too."""
    return Records(world, "list_signing_jobs")


def unknown_everywhere(verdict: Any) -> None:
    """Nothing decided, nothing claimed: not unsigned, not allowed."""
    document = verdict.to_document()
    assert verdict.decision is Decision.UNKNOWN and not verdict.failed, document
    assert sorted(document["unknownChecks"]) == ["expiry", "integrity", "mismatch", "revocation"]
    assert "signed" not in document and "not signed" not in verdict.message


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


def test_bytes_no_job_wrote_are_unknown_wherever_they_lie(
    listing: Records, world: AwsWorld
) -> None:
    """Other bytes under the job's key (an overwrite) are not what the job signed, and
    they may carry a signature this backend cannot read: neither passed nor "unsigned"."""
    world.s3.put_object(Bucket=BUCKET, Key=KEY, Body=zip_bytes({"evil.py": b"x"}))
    verdict = listing.job().listed(KEY).verdict("Warn")
    unknown_everywhere(verdict)
    assert "no signing job this account can see wrote these bytes" in verdict.message


def test_the_version_the_job_wrote_still_passes_when_pinned(
    records: Records, world: AwsWorld
) -> None:
    later = world.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"changed")["VersionId"]
    assert records.job().profile().verdict(target=f"{KEY}?versionId={records.first}").decision is (
        Decision.ALLOW
    )
    # Not a zip at all: Lambda refuses it whatever signed what.
    pinned_later = records.verdict(target=f"{KEY}?versionId={later}")
    assert failed(pinned_later) == ["integrity"]
    assert pinned_later.exception == "InvalidParameterValueException"


def test_a_deleted_object_is_not_found(records: Records, world: AwsWorld) -> None:
    world.s3.delete_object(Bucket=BUCKET, Key=KEY)
    with pytest.raises(NotFoundError, match=re.escape(f"s3://{BUCKET}/{KEY}")):
        records.verdict()


@pytest.mark.parametrize(("status", "reason"), [("InProgress", None), ("Failed", "empty zip")])
def test_a_key_naming_a_job_that_signed_nothing_decides_nothing(
    records: Records, status: str, reason: str | None
) -> None:
    """Bytes under the key of a job still running, or of one that failed, are not what it
    signed (it signed nothing yet): the key says nothing of them."""
    verdict = records.job(status, reason=reason).verdict("Warn")
    unknown_everywhere(verdict)
    assert "signing jobs cannot be listed" in verdict.message  # moto has no ListSigningJobs


def test_a_byte_identical_copy_is_the_jobs_signed_object_wherever_it_lies(
    listing: Records, world: AwsWorld
) -> None:
    """Lambda deploys a copy of a signed object: its bytes carry the signature."""
    named = f"copies/{JOB}.zip"  # a key naming the job, not the job's key
    world.s3.put_object(Bucket=BUCKET, Key=named, Body=zip_bytes())
    verdict = listing.job().profile().verdict(target=named)
    assert verdict.decision is Decision.ALLOW and verdict.facts.job_id == JOB

    # No job in the key: the account's signing jobs are searched, one listing per place.
    world.s3.put_object(Bucket=BUCKET, Key="elsewhere/app.zip", Body=zip_bytes())
    found = listing.listed("app/other.zip", KEY).job().profile().verdict(target="elsewhere/app.zip")
    assert found.decision is Decision.ALLOW and found.facts.profile_version_arn == ARN
    assert found.facts.signed_at == SIGNED

    # Other bytes: no job wrote them.
    world.s3.put_object(Bucket=BUCKET, Key="elsewhere/b.zip", Body=zip_bytes({"b.py": b"b"}))
    unknown_everywhere(listing.listed(KEY).verdict(target="elsewhere/b.zip"))


def test_an_object_no_job_wrote_is_unknown_never_unsigned(
    records: Records, world: AwsWorld
) -> None:
    world.s3.put_object(Bucket=BUCKET, Key="app/plain.zip", Body=zip_bytes({"x.py": b"x"}))
    verdict = records.verdict("Enforce", target="app/plain.zip")
    unknown_everywhere(verdict)
    assert "no signature this backend can read" in verdict.message
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
    # Enforce would reject a revoked signature: not known to pass, so not allowed.
    assert verdict.decision is Decision.UNKNOWN
    assert verdict.to_document()["unknownChecks"] == ["revocation"]
    assert "the revocation record of" in verdict.message


def test_unlistable_versions_leave_every_check_unknown(records: Records, world: AwsWorld) -> None:
    denied = (403, b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>", {})
    inject_errors(world.backend.clients.s3, "ListObjectVersions", [denied])
    unknown_everywhere(records.job().verdict())


def test_a_cross_account_job_is_checked_against_its_owners_profile(records: Records) -> None:
    records.job(owner=OTHER_ACCOUNT).profile(owner=OTHER_ACCOUNT)
    other_arn = ARN.replace(ACCOUNT, OTHER_ACCOUNT)
    verdict = records.verdict("Enforce", (other_arn,))
    assert verdict.decision is Decision.ALLOW
    assert verdict.facts.profile_version_arn == other_arn
    assert records.stub.requests("GetSigningProfile") == [
        {"profileName": "publisher", "profileOwner": OTHER_ACCOUNT}
    ]
