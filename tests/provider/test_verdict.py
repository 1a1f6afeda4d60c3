"""The pure decision: every check under Warn and Enforce, straight through ``decide``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from provider import schemas
from provider.verdict import (
    INTEGRITY_EXCEPTION,
    MALFORMED_EXCEPTION,
    VERIFICATION_EXCEPTION,
    ArtifactFacts,
    Check,
    CscPolicy,
    Decision,
    decide,
)

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/publisher/AbCdE12345"
OTHER = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/other/ZyXwV98765"
CSC_ARN = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
MS = timedelta(milliseconds=1)

GOOD = ArtifactFacts(
    name="code",
    signed=True,
    profile_version_arn=ARN,
    job_id="0f8fad5b-d9cb-469f-a165-70867728950e",
    signed_at=T0,
    expires_at=T0 + timedelta(days=1),
)

#: Facts that fail exactly one check (other than integrity), and that check.
SOFT_FAILURES = {
    "unsigned": (ArtifactFacts(signed=False), Check.MISMATCH),
    "other publisher": (replace(GOOD, profile_version_arn=OTHER), Check.MISMATCH),
    "expired": (replace(GOOD, expires_at=T0 - MS), Check.EXPIRY),
    "at expiry": (replace(GOOD, expires_at=T0), Check.EXPIRY),
    "profile revoked before signing": (
        replace(GOOD, profile_revoked_from=T0 - timedelta(hours=1)),
        Check.REVOCATION,
    ),
    "profile revoked at signing": (replace(GOOD, profile_revoked_from=T0), Check.REVOCATION),
    "signature revoked": (replace(GOOD, signature_revoked_reason="leaked"), Check.REVOCATION),
}

INTEGRITY_FAILURES = {
    "changed bytes": (replace(GOOD, integrity_error="digest mismatch"), INTEGRITY_EXCEPTION),
    "unsigned with broken marker": (
        ArtifactFacts(signed=True, integrity_error="marker damaged"),
        INTEGRITY_EXCEPTION,
    ),
    "not a zip": (ArtifactFacts(malformed="too short"), MALFORMED_EXCEPTION),
    "unknown allowed publisher": (replace(GOOD, publisher_known=False), INTEGRITY_EXCEPTION),
}


def _csc(policy: str) -> CscPolicy:
    return CscPolicy((ARN,), policy, CSC_ARN)


def _valid(verdict) -> dict:
    document = verdict.to_document()
    assert list(schemas.validator("verdict").iter_errors(document)) == []
    return document


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_all_checks_pass_is_allow(policy):
    verdict = decide(GOOD, _csc(policy), T0)

    assert verdict.decision is Decision.ALLOW
    assert verdict.exception is None and verdict.failed == ()
    document = _valid(verdict)
    assert document["checks"] == dict.fromkeys(
        ("integrity", "mismatch", "expiry", "revocation"), "PASSED"
    )
    assert document["codeSigningConfigArn"] == CSC_ARN
    assert document["signatureExpiresAt"] == "2026-01-16T12:00:00.000Z"


@pytest.mark.parametrize("case", SOFT_FAILURES)
def test_soft_failures_warn_under_warn(case):
    facts, check = SOFT_FAILURES[case]

    verdict = decide(facts, _csc("Warn"), T0)

    assert verdict.decision is Decision.WARN
    assert verdict.exception is None
    assert [f.check for f in verdict.failed] == [check]
    assert verdict.checks[check] == "FAILED"
    assert "Warn" in verdict.message
    document = _valid(verdict)
    assert "exception" not in document


@pytest.mark.parametrize("case", SOFT_FAILURES)
def test_soft_failures_are_rejected_under_enforce(case):
    facts, check = SOFT_FAILURES[case]

    verdict = decide(facts, _csc("Enforce"), T0)

    assert verdict.decision is Decision.REJECT
    assert verdict.exception == VERIFICATION_EXCEPTION
    assert [f.check for f in verdict.failed] == [check]
    assert VERIFICATION_EXCEPTION in verdict.message
    assert all(f.message and f.remedy for f in verdict.failed)
    assert _valid(verdict)["exception"] == VERIFICATION_EXCEPTION


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
@pytest.mark.parametrize("case", INTEGRITY_FAILURES)
def test_integrity_failures_are_always_rejected(case, policy):
    facts, exception = INTEGRITY_FAILURES[case]

    verdict = decide(facts, _csc(policy), T0)

    assert verdict.decision is Decision.REJECT
    assert verdict.exception == exception
    assert [f.check for f in verdict.failed] == [Check.INTEGRITY]
    # The envelope's claims cannot be trusted: the other checks are not run.
    assert verdict.checks == {
        Check.INTEGRITY: "FAILED",
        Check.MISMATCH: "SKIPPED",
        Check.EXPIRY: "SKIPPED",
        Check.REVOCATION: "SKIPPED",
    }
    _valid(verdict)


def test_an_unknown_publisher_not_in_the_csc_is_only_a_mismatch():
    facts = replace(GOOD, profile_version_arn=OTHER, publisher_known=False)

    verdict = decide(facts, _csc("Enforce"), T0)

    assert [f.check for f in verdict.failed] == [Check.MISMATCH]
    assert verdict.exception == VERIFICATION_EXCEPTION


def test_unsigned_skips_expiry_and_revocation_and_says_so():
    verdict = decide(ArtifactFacts(signed=False), _csc("Enforce"), T0)

    assert verdict.checks[Check.EXPIRY] == verdict.checks[Check.REVOCATION] == "SKIPPED"
    assert "not signed" in verdict.failed[0].message
    assert _valid(verdict)["signed"] is False


def test_a_signature_is_valid_until_the_millisecond_before_expiry():
    facts = replace(GOOD, expires_at=T0 + timedelta(days=1))

    assert decide(facts, _csc("Enforce"), T0 + timedelta(days=1) - MS).decision is Decision.ALLOW
    expired = decide(facts, _csc("Enforce"), T0 + timedelta(days=1))
    assert expired.decision is Decision.REJECT
    assert "expired at 2026-01-16T12:00:00.000Z" in expired.failed[0].message


def test_a_signature_made_before_the_revocation_stays_trusted():
    facts = replace(GOOD, profile_revoked_from=T0 + MS)

    assert decide(facts, _csc("Enforce"), T0 + timedelta(days=0.5)).decision is Decision.ALLOW


def test_every_failed_check_is_reported():
    facts = replace(
        GOOD,
        profile_version_arn=OTHER,
        expires_at=T0 - MS,
        signature_revoked_reason="compromised",
    )

    verdict = decide(facts, _csc("Enforce"), T0)

    assert [f.check for f in verdict.failed] == [Check.MISMATCH, Check.EXPIRY, Check.REVOCATION]
    document = _valid(verdict)
    assert [f["check"] for f in document["failedChecks"]] == ["mismatch", "expiry", "revocation"]
    assert "compromised" in verdict.message


def test_unknown_checks_do_not_fail_and_leave_the_decision_unknown():
    facts = replace(
        GOOD, unknown=frozenset({Check.INTEGRITY, Check.EXPIRY}), undecided="no record yet"
    )

    verdict = decide(facts, _csc("Enforce"), T0)

    # Never "allowed" on a guess: Lambda may refuse what is not known to pass.
    assert verdict.decision is Decision.UNKNOWN and verdict.exception is None
    assert verdict.checks[Check.INTEGRITY] == verdict.checks[Check.EXPIRY] == "UNKNOWN"
    document = _valid(verdict)
    assert sorted(document["unknownChecks"]) == ["expiry", "integrity"]
    assert document["decision"] == "UNKNOWN"
    assert "UNKNOWN" in verdict.message and "undecided: integrity, expiry (no record yet)" in (
        verdict.message
    )


@pytest.mark.parametrize(
    ("policy", "unknown", "failing", "decision"),
    [
        # Under Warn an unknown check other than integrity can only warn: a known warning stays.
        ("Warn", {Check.REVOCATION}, True, Decision.WARN),
        ("Warn", {Check.REVOCATION}, False, Decision.UNKNOWN),
        # An unknown integrity check could reject under any policy.
        ("Warn", {Check.INTEGRITY}, True, Decision.UNKNOWN),
        ("Enforce", {Check.REVOCATION}, False, Decision.UNKNOWN),
    ],
)
def test_an_unknown_check_decides_only_what_it_cannot_change(
    policy: str, unknown: set[Check], failing: bool, decision: Decision
) -> None:
    facts = replace(GOOD, unknown=frozenset(unknown))
    if failing:
        facts = replace(facts, profile_version_arn=OTHER)

    verdict = decide(facts, _csc(policy), T0)

    assert verdict.decision is decision
    _valid(verdict)


def test_bytes_that_may_carry_an_unreadable_signature_are_not_called_unsigned():
    facts = ArtifactFacts(name="code", signed=False, unknown=frozenset(Check))

    verdict = decide(facts, _csc("Warn"), T0)

    assert verdict.decision is Decision.UNKNOWN and not verdict.failed
    document = _valid(verdict)
    assert "signed" not in document and "not signed" not in verdict.message


def test_a_known_failure_is_still_reported_next_to_unknown_checks():
    facts = replace(GOOD, profile_version_arn=OTHER, unknown=frozenset({Check.EXPIRY}))

    verdict = decide(facts, _csc("Enforce"), T0)

    assert verdict.decision is Decision.REJECT
    assert verdict.checks[Check.EXPIRY] == "UNKNOWN"


def test_decide_is_pure():
    first = decide(GOOD, _csc("Warn"), T0)
    second = decide(GOOD, _csc("Warn"), T0)

    assert first == second
    assert first.to_document() == second.to_document()
    assert first.evaluated_at == T0
