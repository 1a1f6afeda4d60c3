"""Every check x Warn/Enforce through the local backend: real keys, real packages, real
revocations, evaluated directly and as deployments to the local function registry."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provider.errors import DeploymentRejected, NotFoundError
from provider.validity import ValidityPeriod
from provider.verdict import INTEGRITY_EXCEPTION, VERIFICATION_EXCEPTION, Decision

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class Case:
    """A package, the instant to judge it at, the CSC's allowed ARNs, the failing check."""

    package: Path
    at: datetime
    arns: tuple[str, ...]
    failed: str | None


def _good(ks, make_zip) -> Case:
    return Case(ks.signed(make_zip()), T0, (ks.arn,), None)


def _unsigned(ks, make_zip) -> Case:
    return Case(make_zip(), T0, (ks.arn,), "mismatch")


def _other_profile(ks, make_zip) -> Case:
    ks.add_profile("other")
    return Case(ks.signed(make_zip(), profile="other"), T0, (ks.arn,), "mismatch")


def _expiring(offset: timedelta) -> Callable:
    def build(ks, make_zip) -> Case:
        daily = ks.add_profile("daily", validity=ValidityPeriod(1, "DAYS"))
        package = ks.signed(make_zip(), profile="daily", now=T0)
        failed = "expiry" if offset >= DAY else None
        return Case(package, T0 + offset, (daily["profileVersionArn"],), failed)

    return build


def _profile_revoked_before_signing(ks, make_zip) -> Case:
    package = ks.signed(make_zip(), now=T0 + HOUR)
    ks.backend.revoke_signing_profile(
        "publisher", ks.profile["profileVersion"], "key leaked", T0, now=T0 + 2 * HOUR
    )
    return Case(package, T0 + 3 * HOUR, (ks.arn,), "revocation")


def _signed_before_the_revocation(ks, make_zip) -> Case:
    package = ks.signed(make_zip(), now=T0 + HOUR)
    ks.backend.revoke_signing_profile(
        "publisher", ks.profile["profileVersion"], "key leaked", T0 + 2 * HOUR, now=T0 + 3 * HOUR
    )
    return Case(package, T0 + 4 * HOUR, (ks.arn,), None)


def _signature_revoked(ks, make_zip) -> Case:
    package = ks.signed(make_zip())
    ks.backend.revoke_signature(package.stem, "built from a bad commit", now=T0 + HOUR)
    return Case(package, T0 + 2 * HOUR, (ks.arn,), "revocation")


def _tampered(ks, make_zip) -> Case:
    package = ks.signed(make_zip({"app.py": b"print('trusted')\n"}, compression=zipfile.ZIP_STORED))
    package.write_bytes(package.read_bytes().replace(b"trusted", b"evil!!!"))
    return Case(package, T0, (ks.arn,), "integrity")


CASES: dict[str, Callable] = {
    "signed and allowed": _good,
    "unsigned": _unsigned,
    "signed by a profile not in the CSC": _other_profile,
    "1-day signature, 1 ms before expiry": _expiring(DAY - timedelta(milliseconds=1)),
    "1-day signature, exactly at expiry": _expiring(DAY),
    "1-day signature, a day after expiry": _expiring(2 * DAY),
    "profile revoked from before the signing": _profile_revoked_before_signing,
    "signed before the profile's revocation": _signed_before_the_revocation,
    "signature revoked": _signature_revoked,
    "bytes changed after signing": _tampered,
}


def _expected(failed: str | None, policy: str) -> tuple[Decision, str | None]:
    if failed is None:
        return Decision.ALLOW, None
    if failed == "integrity":
        return Decision.REJECT, INTEGRITY_EXCEPTION
    if policy == "Warn":
        return Decision.WARN, None
    return Decision.REJECT, VERIFICATION_EXCEPTION


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
@pytest.mark.parametrize("case", CASES)
def test_verdict_of_the_local_backend(ks, make_zip, case, policy):
    built = CASES[case](ks, make_zip)

    verdict = ks.evaluate(built.package, policy, at=built.at, arns=built.arns)

    decision, exception = _expected(built.failed, policy)
    assert verdict.decision is decision, verdict.message
    assert verdict.exception == exception
    assert [f.check.value for f in verdict.failed] == ([built.failed] if built.failed else [])
    if built.failed:
        assert verdict.checks[verdict.failed[0].check] == "FAILED"


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
@pytest.mark.parametrize("case", CASES)
def test_deploying_to_a_function_with_a_csc(ks, make_zip, case, policy):
    built = CASES[case](ks, make_zip)
    csc = ks.backend.create_code_signing_config(list(built.arns), policy=policy, now=T0)
    csc_arn = csc["CodeSigningConfig"]["CodeSigningConfigArn"]
    decision, exception = _expected(built.failed, policy)

    if decision is Decision.REJECT:
        with pytest.raises(DeploymentRejected) as rejected:
            ks.backend.create_function("fn", built.package, csc_arn=csc_arn, now=built.at)
        assert rejected.value.code == exception
        assert built.failed in str(rejected.value)
        with pytest.raises(NotFoundError):
            ks.backend.get_function("fn")
        assert ks.backend.metric_count("SignatureValidationErrors") == 0
        return

    function = ks.backend.create_function("fn", built.package, csc_arn=csc_arn, now=built.at)
    assert function["LastVerdict"]["decision"] == decision.value
    warned = decision is Decision.WARN
    assert bool(function["Warnings"]) == warned
    assert ks.backend.metric_count("SignatureValidationErrors", "fn") == int(warned)


def test_the_other_signatures_of_a_profile_survive_a_signature_revocation(ks, make_zip):
    revoked = ks.signed(make_zip(name="a.zip"))
    kept = ks.signed(make_zip(name="b.zip"))
    ks.backend.revoke_signature(revoked.stem, "oops", now=T0 + HOUR)

    assert ks.evaluate(revoked, "Enforce", at=T0 + HOUR).decision is Decision.REJECT
    assert ks.evaluate(kept, "Enforce", at=T0 + HOUR).decision is Decision.ALLOW


def test_a_canceled_profiles_existing_signatures_stay_valid(ks, make_zip):
    package = ks.signed(make_zip())
    ks.backend.cancel_signing_profile("publisher", now=T0 + HOUR)

    assert ks.evaluate(package, "Enforce", at=T0 + 2 * HOUR).decision is Decision.ALLOW


def test_moving_a_revocation_earlier_untrusts_older_signatures(ks, make_zip):
    early = ks.signed(make_zip(name="early.zip"), now=T0 + HOUR)
    late = ks.signed(make_zip(name="late.zip"), now=T0 + 3 * HOUR)
    version = ks.profile["profileVersion"]
    ks.backend.revoke_signing_profile("publisher", version, "r", T0 + 2 * HOUR, now=T0 + 4 * HOUR)
    at = T0 + 5 * HOUR
    assert ks.evaluate(early, "Enforce", at=at).decision is Decision.ALLOW
    assert ks.evaluate(late, "Enforce", at=at).decision is Decision.REJECT

    ks.backend.revoke_signing_profile("publisher", version, "r", T0, now=T0 + 4 * HOUR)

    assert ks.evaluate(early, "Enforce", at=at).decision is Decision.REJECT


def test_the_verdict_document_names_the_package_csc_and_signature(ks, make_zip):
    package = ks.signed(make_zip())
    csc = ks.backend.create_code_signing_config([ks.arn], policy="Enforce", now=T0)
    arn = csc["CodeSigningConfig"]["CodeSigningConfigArn"]

    document = ks.backend.evaluate_package(
        package, ks.backend.csc_policy_of(arn), at=T0
    ).to_document()

    assert document["codeSigningConfigArn"] == arn
    assert document["profileVersionArn"] == ks.arn
    assert document["jobId"] == package.stem
    assert document["policy"] == "Enforce"
    assert document["evaluatedAt"] == "2026-01-15T12:00:00.000Z"
