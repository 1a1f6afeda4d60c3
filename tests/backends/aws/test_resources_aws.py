"""The ``SignedPackage`` provider on ``codesign:backend aws``, its lifecycle methods called
directly (as tests/resources/test_providers.py does for local): moto S3 and Signer
profiles, the fake Signer for jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws import S3Object
from provider.resources._base import CodesignStepError
from provider.resources.function import LambdaFunctionProvider
from provider.resources.signed_package import SignedPackageProvider, _destination_input
from provider.verdict import CscPolicy, Decision

from .conftest import BUCKET, NOW, AwsWorld

SETTINGS = {"backend": "aws", "home": None, "region": "us-east-1", "now": None}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A function's source directory."""
    directory = tmp_path / "src"
    directory.mkdir()
    (directory / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return directory


def inputs(source: Path, **overrides: Any) -> dict[str, Any]:
    """SignedPackage inputs on the aws backend."""
    return {
        "source": str(source),
        "profile_name": "publisher",
        "profile_owner": None,
        "destination": f"s3://{BUCKET}/signed",
        "signature_revocation": None,
        "settings": SETTINGS,
        **overrides,
    }


def test_create_signs_into_s3_and_fills_the_s3_outputs(cli_world: AwsWorld, source: Path) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source))
    assert checked.failures == []
    assert checked.inputs["profile_version_arn"] == arn
    assert len(checked.inputs["source_hash"]) == 96

    outs = provider.create(checked.inputs).outs or {}
    job_id = outs["job_id"]
    assert outs["bucket"] == BUCKET
    assert outs["key"] == f"signed/signed_{job_id}.zip"
    assert outs["location"] == f"s3://{BUCKET}/signed/signed_{job_id}.zip"
    assert outs["object_version"]
    assert outs["digest"] is None  # not downloaded back; object_version names the bytes
    assert outs["profile_version_arn"] == arn
    assert outs["signature_expires_at"] > outs["signed_at"]
    assert outs["revoked"] is False
    head = cli_world.s3.head_object(
        Bucket=BUCKET, Key=outs["key"], VersionId=outs["object_version"]
    )
    assert head["ContentLength"] > 0
    assert fake.started == 1

    # Read (refresh): the same outputs; DescribeSigningJob has no version, it is kept.
    read = provider.read(job_id, outs)
    assert read.id == job_id
    assert {k: (read.outs or {})[k] for k in outs} == outs

    # An unchanged source: no diff, so no new job; a create again (what `pulumi up
    # --replace` does) signs anew.
    again = provider.check(outs, inputs(source))
    assert provider.diff(job_id, outs, again.inputs).changes is False
    assert fake.started == 1
    assert (provider.create(again.inputs).outs or {})["job_id"] != job_id
    assert fake.started == 2


def test_revocation_updates_in_place(cli_world: AwsWorld, source: Path) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source))
    outs = {**checked.inputs, **(provider.create(checked.inputs).outs or {})}
    news = provider.check(outs, inputs(source, signature_revocation={"reason": "leaked"})).inputs
    diff = provider.diff(outs["job_id"], outs, news)
    assert diff.changes is True and diff.replaces == []
    updated = provider.update(outs["job_id"], outs, news).outs or {}
    assert updated["revoked"] is True
    assert updated["object_version"] == outs["object_version"]

    # Revoked at create (a package signed and revoked in one update): the version stays.
    other = source / "more.py"
    other.write_text("X = 1\n")
    revoked = provider.check({}, inputs(source, signature_revocation={"reason": "test run"}))
    created = provider.create(revoked.inputs).outs or {}
    assert created["revoked"] is True and created["object_version"]
    assert created["job_id"] != outs["job_id"]


def test_destination_rules_on_aws(cli_world: AwsWorld, source: Path) -> None:
    cli_world.put_profile("publisher")
    provider = SignedPackageProvider()
    for destination, expected in (
        (None, "the aws backend needs an S3 location s3://BUCKET/PREFIX"),
        ("/tmp/signed", "'/tmp/signed' is not an S3 location"),
        ("s3://Bad_Bucket/x", "'Bad_Bucket' is not an S3 bucket name"),
    ):
        failures = provider.check({}, inputs(source, destination=destination)).failures
        assert [f.property for f in failures] == ["destination"], destination
        assert expected in failures[0].reason
        assert failures[0].reason.startswith("SignedPackage input destination")
    # Program side: stack config codesign:bucket gives s3://BUCKET/signed/ on aws only.
    assert _destination_input(None, "aws", "team-bucket") == "s3://team-bucket/signed/"
    assert _destination_input("s3://b-1/x", "aws", "team-bucket") == "s3://b-1/x"
    assert _destination_input(None, "local", "team-bucket") is None


def test_an_unversioned_bucket_fails_the_step_with_the_fix(
    cli_world: AwsWorld, source: Path
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    cli_world.s3.create_bucket(Bucket="plain-bucket")
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source, destination="s3://plain-bucket/signed"))
    assert checked.failures == []
    with pytest.raises(CodesignStepError, match="versioning is not enabled"):
        provider.create(checked.inputs)


def test_lambda_function_on_aws_points_to_pulumi_aws(cli_world: AwsWorld) -> None:
    failures = (
        LambdaFunctionProvider()
        .check(
            {},
            {
                "logical_name": "fn",
                "function_name": None,
                "code": f"s3://{BUCKET}/signed/x.zip",
                "code_signing_config_arn": None,
                "code_signing_policy": None,
                "allowed_publishers": None,
                "settings": SETTINGS,
            },
        )
        .failures
    )
    assert [f.property for f in failures] == ["settings"]
    assert "does not run on the aws backend" in failures[0].reason
    assert "s3_object_version=package.object_version" in failures[0].reason


def test_the_signed_object_verifies_under_a_policy_allowing_its_profile(
    cli_world: AwsWorld, source: Path
) -> None:
    """The outputs are what pulumi_aws.lambda_.Function takes, and the object they name
    is one Lambda would accept under a config allowing the profile."""
    cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    provider = SignedPackageProvider()
    outs = provider.create(provider.check({}, inputs(source)).inputs).outs or {}
    obj = S3Object(outs["bucket"], outs["key"], outs["object_version"])
    verdict = cli_world.backend.evaluate_package(obj, CscPolicy((arn,), "Enforce"), at=NOW)
    assert verdict.decision is Decision.ALLOW
