"""The prediction over unknowns: which checks each unknown leaves undecided, and when a
decision is known anyway."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from provider.prediction import (
    KnownConfig,
    PendingSignature,
    Publisher,
    combined,
    predict,
)
from provider.verdict import (
    INTEGRITY_EXCEPTION,
    VERIFICATION_EXCEPTION,
    ArtifactFacts,
    Check,
    CscPolicy,
    Decision,
    decide,
)

UNKNOWN = Decision.UNKNOWN

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/publisher/AbCdE12345"
OTHER = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/other/ZyXwV98765"
P_REF = "urn:pulumi:dev::app::pulumi-python:dynamic:Resource::publisher"
Q_REF = "urn:pulumi:dev::app::pulumi-python:dynamic:Resource::outsider"
GOOD = ArtifactFacts(
    name="code",
    signed=True,
    profile_version_arn=ARN,
    job_id="job",
    signed_at=T0,
    expires_at=T0 + timedelta(days=1),
)
UNSIGNED = ArtifactFacts(name="code", signed=False)


def config(policy: str | None, *publishers: Publisher, unknown_list: bool = False) -> KnownConfig:
    return KnownConfig(policy, None if unknown_list else tuple(publishers))


def states(prediction: object) -> dict[str, str]:
    return {c.value: s for c, s in prediction.checks.items()}  # type: ignore[attr-defined]


def test_nothing_known_is_unknown_never_allowed() -> None:
    prediction = predict("function f", None, config("Enforce", unknown_list=True), T0)
    assert prediction.decision == UNKNOWN and prediction.possible == ("ALLOW", "REJECT")
    assert set(states(prediction).values()) == {"UNKNOWN"}
    assert set(prediction.undecided) == set(Check)
    assert "UNKNOWN until deploy" in prediction.message and "allowed" not in prediction.message


def test_unsigned_under_a_literal_enforce_is_rejected_with_unknown_publishers() -> None:
    prediction = predict("function f", UNSIGNED, config("Enforce", unknown_list=True), T0)
    assert prediction.decision == "REJECT" and prediction.exception == VERIFICATION_EXCEPTION
    assert states(prediction) == {
        "integrity": "PASSED",
        "mismatch": "FAILED",
        "expiry": "SKIPPED",
        "revocation": "SKIPPED",
    }
    assert prediction.undecided == {}


def test_an_unknown_policy_leaves_warn_or_reject() -> None:
    prediction = predict("function f", UNSIGNED, config(None, Publisher(ARN)), T0)
    assert prediction.decision == UNKNOWN and prediction.possible == ("WARN", "REJECT")
    assert "policy" in prediction.waiting_for
    # An integrity failure is rejected under every policy.
    tampered = replace(GOOD, integrity_error="changed")
    rejected = predict("function f", tampered, config(None, unknown_list=True), T0)
    assert rejected.decision == "REJECT" and rejected.exception == INTEGRITY_EXCEPTION
    assert states(rejected)["mismatch"] == "SKIPPED"


def test_a_fresh_signature_by_a_listed_profile_is_allowed_before_anything_exists() -> None:
    pending = PendingSignature(profile_ref=P_REF)
    prediction = predict("function f", pending, config("Enforce", Publisher(None, P_REF)), T0)
    assert prediction.decision == "ALLOW"
    assert set(states(prediction).values()) == {"PASSED"}
    assert "fresh signature" in prediction.message


@pytest.mark.parametrize("policy,decision", [("Enforce", "REJECT"), ("Warn", "WARN")])
def test_a_fresh_signature_by_an_unlisted_profile_is_a_mismatch(policy: str, decision: str) -> None:
    pending = PendingSignature(profile_ref=Q_REF)
    listed = config(policy, Publisher(None, P_REF), Publisher(OTHER))
    prediction = predict("function f", pending, listed, T0)
    assert prediction.decision == decision
    assert states(prediction) == {
        "integrity": "PASSED",
        "mismatch": "FAILED",
        "expiry": "PASSED",
        "revocation": "PASSED",
    }
    assert Q_REF in prediction.failed[0].message


def test_an_entirely_unknown_publisher_leaves_the_mismatch_undecided() -> None:
    pending = PendingSignature(profile_ref=Q_REF)
    view = config("Enforce", Publisher(None, P_REF), Publisher())
    prediction = predict("function f", pending, view, T0)
    assert prediction.decision == UNKNOWN
    assert list(prediction.undecided) == [Check.MISMATCH]
    assert states(prediction)["integrity"] == "PASSED"
    # A signer known by ARN only, not among the known publishers, is undecided too.
    by_arn = predict("function f", PendingSignature(profile_version_arn=ARN), view, T0)
    assert list(by_arn.undecided) == [Check.MISMATCH]


def test_existing_code_against_a_profile_this_update_creates() -> None:
    # A new profile version cannot have signed code that exists already.
    prediction = predict("function f", GOOD, config("Enforce", Publisher(None, P_REF)), T0)
    assert prediction.decision == "REJECT" and states(prediction)["mismatch"] == "FAILED"
    # With its ARN listed, the known checks decide; expiry is judged at the instant given.
    allowed = config("Enforce", Publisher(ARN, P_REF))
    assert predict("function f", GOOD, allowed, T0).decision == "ALLOW"
    late = predict("function f", GOOD, allowed, T0 + timedelta(days=2))
    assert late.decision == "REJECT" and states(late)["expiry"] == "FAILED"


def test_facts_with_unknown_checks_and_agreement_with_decide() -> None:
    partial = replace(GOOD, unknown=frozenset({Check.EXPIRY}))
    prediction = predict("function f", partial, config("Warn", Publisher(ARN)), T0)
    assert prediction.decision == UNKNOWN and list(prediction.undecided) == [Check.EXPIRY]
    # With everything known, the prediction is decide's verdict.
    for facts in (
        GOOD,
        UNSIGNED,
        replace(GOOD, profile_version_arn=OTHER),
        replace(GOOD, signature_revoked_reason="leaked"),
    ):
        for policy in ("Warn", "Enforce"):
            verdict = decide(facts, CscPolicy((ARN,), policy), T0)
            predicted = predict("f", facts, config(policy, Publisher(ARN)), T0)
            assert predicted.decision == verdict.decision.value, (facts, policy)
            assert predicted.exception == verdict.exception


def test_combined_decision_of_code_and_layers() -> None:
    assert combined(["ALLOW", "WARN"]) == "WARN"
    assert combined(["WARN", UNKNOWN]) == UNKNOWN
    assert combined([UNKNOWN, "REJECT", "ALLOW"]) == "REJECT"
    assert combined([]) == "ALLOW"
    document = predict("layer l", UNSIGNED, config("Enforce", Publisher(ARN)), T0).to_document()
    assert document["decision"] == "REJECT" and document["failed_checks"][0].startswith("mismatch")
    assert document["name"] == "layer l" and document["remedies"]
