"""Signing again on ``codesign:backend aws`` (issue 11 §4 on AWS, issue 13 §2): a
``SignedPackage``'s check finds its current signature in S3 through the backend
(DescribeSigningJob, GetSigningProfile) and renews it within ``renew_before``, or after a
revocation of it or of its profile, and says so; the functions deployed from it are
updated by the next up. moto S3, Signer profiles and Lambda; the fake Signer for jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from provider.clock import format_instant, parse_instant
from provider.resources.function import LambdaFunctionProvider
from provider.resources.signed_package import SignedPackageProvider

from .conftest import ACCOUNT, NOW, AwsWorld
from .test_resources_aws import csc_state, function_inputs, inputs

SEED = "0123456789abcdef" * 4


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A function's source directory."""
    directory = tmp_path / "src"
    directory.mkdir()
    (directory / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return directory


def package_inputs(source: Path, now: str | None = None, **overrides: Any) -> dict[str, Any]:
    """SignedPackage inputs of one program resource (its ``name_seed``) on aws."""
    settings = {"backend": "aws", "home": None, "region": "us-east-1", "now": now}
    return inputs(
        source, **{"name_seed": SEED, "renew_before": None, "settings": settings, **overrides}
    )


def created(source: Path, **overrides: Any) -> dict[str, Any]:
    """A package created as an up creates it: its check's inputs and its outputs."""
    provider = SignedPackageProvider()
    checked = provider.check({}, package_inputs(source, **overrides))
    assert checked.failures == [] and checked.inputs["findings"] == []
    return {**checked.inputs, **(provider.create(checked.inputs).outs or {})}


def profile_answers(world: AwsWorld, **fields: Any) -> Callable[..., None]:
    """Make GetSigningProfile answer with ``fields`` too (moto has no RevokeSigningProfile)."""

    def answer(parsed: dict[str, Any], **_: Any) -> None:
        parsed.update(fields)

    world.signer.meta.events.register("after-call.signer.GetSigningProfile", answer)
    return answer


def test_renew_before_signs_again_on_aws_and_the_function_is_updated(
    cli_world: AwsWorld, source: Path, role: str
) -> None:
    fake = cli_world.fake_signer()
    cli_world.fake_code_signing()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package = created(source, renew_before="30d")
    assert package["key"] == f"signed/signed_{SEED[:12]}_{package['job_id']}.zip"
    functions = LambdaFunctionProvider()
    news = function_inputs(package["deploy_location"], csc_state(arn), role=role)
    checked = functions.check({}, news)
    function = {**checked.inputs, **(functions.create(checked.inputs).outs or {})}
    assert function["deployed_code"] == package["deploy_location"]

    provider = SignedPackageProvider()
    unchanged = provider.check(package, package_inputs(source, renew_before="30d"))
    assert unchanged.inputs["signing_generation"] == 0 and unchanged.inputs["findings"] == []
    # Found through the backend: an in-place preview knows the object functions deploy.
    assert unchanged.inputs["deploy_location"] == package["deploy_location"]
    assert unchanged.inputs["location"] == package["location"]
    assert provider.diff(package["job_id"], package, unchanged.inputs).changes is False

    expires = parse_instant(package["signature_expires_at"], field="signature_expires_at")
    later = format_instant(expires - timedelta(days=10))
    outside = provider.check(package, package_inputs(source, later, renew_before="1w"))
    assert outside.inputs["signing_generation"] == 0 and outside.inputs["findings"] == []
    within = provider.check(package, package_inputs(source, later, renew_before="30d"))
    assert within.failures == [] and within.inputs["signing_generation"] == 1
    [said] = within.inputs["findings"]
    assert said["level"] == "info" and "signed again in this update" in said["message"]
    assert "within renew_before 30d" in said["message"]
    assert format_instant(expires) in said["message"]
    assert "functions and layers deployed from it are updated" in said["message"]
    diff = provider.diff(package["job_id"], package, within.inputs)
    assert diff.replaces == ["signing_generation"]
    # The engine checks a replacement again without olds; the preview shows that check.
    rechecked = provider.check({}, package_inputs(source, later, renew_before="30d"))
    assert "within renew_before 30d" in rechecked.inputs["findings"][0]["message"]
    renewed = {**rechecked.inputs, **(provider.create(rechecked.inputs).outs or {})}
    assert renewed["job_id"] != package["job_id"] and fake.started == 2
    assert renewed["deploy_location"] != package["deploy_location"]
    # The newest signature is the package's current one from now on.
    current = provider.check(renewed, package_inputs(source))
    assert current.inputs["deploy_location"] == renewed["deploy_location"]

    # The next up updates the function deployed from it: its code is the new object.
    updated_news = functions.check(function, {**news, "code": renewed["deploy_location"]})
    assert functions.diff(function["function_name"], function, updated_news.inputs).changes
    updated = functions.update(function["function_name"], function, updated_news.inputs)
    assert (updated.outs or {})["deployed_code"] == renewed["deploy_location"]


def test_a_revoked_signature_is_signed_again_on_aws(cli_world: AwsWorld, source: Path) -> None:
    fake = cli_world.fake_signer()
    cli_world.put_profile("publisher")
    package = created(source)
    provider = SignedPackageProvider()
    cli_world.backend.revoke_signature(package["job_id"], "key leaked", now=NOW)
    again = provider.check(package, package_inputs(source))
    assert again.failures == [] and again.inputs["signing_generation"] == 1
    [said] = again.inputs["findings"]
    assert said["level"] == "info" and "signed again" in said["message"]
    assert f"job {package['job_id']}" in said["message"] and "key leaked" in said["message"]
    assert provider.diff(package["job_id"], package, again.inputs).replaces == [
        "signing_generation"
    ]
    rechecked = provider.check({}, package_inputs(source))
    assert "key leaked" in rechecked.inputs["findings"][0]["message"]
    renewed = provider.create(rechecked.inputs).outs or {}
    assert renewed["job_id"] != package["job_id"] and renewed["revoked"] is False
    assert fake.started == 2
    # The new signature is current: nothing more to do.
    settled = provider.check(renewed, package_inputs(source))
    assert settled.inputs["signing_generation"] == 0 and settled.inputs["findings"] == []


def test_a_covering_profile_revocation_signs_again_while_the_profile_can_sign(
    cli_world: AwsWorld, source: Path
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    package = created(source)
    signed_at = parse_instant(package["signed_at"], field="signed_at")
    record = {
        "revocationEffectiveFrom": signed_at - timedelta(hours=1),
        "revokedAt": signed_at,
        "revokedBy": f"arn:aws:iam::{ACCOUNT}:user/security",
    }
    answer = profile_answers(cli_world, revocationRecord=record)
    provider = SignedPackageProvider()
    again = provider.check(package, package_inputs(source))
    assert again.inputs["signing_generation"] == 1
    [said] = again.inputs["findings"]
    assert said["level"] == "info" and "signed again" in said["message"]
    assert "the revocation of profile version" in said["message"]
    assert "covers its signature" in said["message"]

    # Revoked outright, the profile can sign no more: a warning naming the fix, no job.
    cli_world.signer.meta.events.unregister("after-call.signer.GetSigningProfile", answer)
    profile_answers(cli_world, revocationRecord=record, status="Revoked")
    stuck = provider.check(package, package_inputs(source))
    assert stuck.failures == [] and stuck.inputs["signing_generation"] == 0
    [warning] = stuck.inputs["findings"]
    assert (
        warning["level"] == "warning" and "is Revoked and can sign no more" in (warning["message"])
    )
    assert "to fix: create a new SigningProfile" in warning["message"]
    assert provider.diff(package["job_id"], package, stuck.inputs).changes is False


def test_a_canceled_profile_says_the_package_needs_a_new_profile(
    cli_world: AwsWorld, source: Path
) -> None:
    fake = cli_world.fake_signer()
    cli_world.put_profile("publisher")
    package = created(source)
    cli_world.backend.revoke_signature(package["job_id"], "key leaked", now=NOW)
    cli_world.backend.cancel_signing_profile("publisher", now=NOW)
    stuck = SignedPackageProvider().check(package, package_inputs(source))
    assert stuck.failures == [] and stuck.inputs["signing_generation"] == 0
    [warning] = stuck.inputs["findings"]
    assert "needs a new signature" in warning["message"] and "key leaked" in warning["message"]
    assert "'publisher' is Canceled and can sign no more" in warning["message"]
    assert "allowed_publishers" in warning["message"]
    assert fake.started == 1


def test_a_destination_bucket_not_made_yet_is_no_check_failure(
    cli_world: AwsWorld, source: Path
) -> None:
    cli_world.put_profile("publisher")
    checked = SignedPackageProvider().check(
        {}, package_inputs(source, destination="s3://made-by-this-program/signed")
    )
    assert checked.failures == [] and checked.inputs["findings"] == []
