"""One decision: the prediction runs verdict's rules, not a copy of them; the domain's
policies and statuses are AWS's enums, each default said once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import chain, combinations, product
from pathlib import Path

import botocore.session
import pytest

from provider.prediction import KnownConfig, PendingSignature, Publisher, predict
from provider.statuses import JobStatus, ProfileStatus
from provider.verdict import (
    DEFAULT_UNTRUSTED_ARTIFACT_POLICY,
    ArtifactFacts,
    Check,
    CheckState,
    CscPolicy,
    Policy,
    Reason,
    decide,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/publisher/AbCdE12345"
OTHER = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/other/ZyXwV98765"


def _unknown_sets() -> list[frozenset[Check]]:
    checks = list(Check)
    subsets = chain.from_iterable(combinations(checks, n) for n in range(len(checks) + 1))
    return [frozenset(s) for s in subsets]


def _facts() -> list[ArtifactFacts]:
    """Facts failing, passing and leaving undecided every check, alone and together (a
    signature always names its profile version)."""
    found = []
    for signed, error, malformed, known, arn, expires, revoked_from, reason, unknown in product(
        (True, False),
        (None, "digest mismatch"),
        (None, "too short"),
        (True, False),
        (ARN, OTHER),
        (None, T0 - timedelta(seconds=1), T0 + timedelta(days=1)),
        (None, T0 - timedelta(days=2)),
        (None, "leaked"),
        _unknown_sets(),
    ):
        found.append(
            ArtifactFacts(
                name="code",
                signed=signed,
                integrity_error=error,
                malformed=malformed,
                publisher_known=known,
                profile_version_arn=arn if signed else None,
                job_id="job" if signed else None,
                signed_at=T0 - timedelta(days=1) if signed else None,
                expires_at=expires,
                profile_revoked_from=revoked_from,
                signature_revoked_reason=reason,
                unknown=unknown,
                undecided="no record yet" if unknown else None,
            )
        )
    return found


@pytest.mark.parametrize("policy", list(Policy))
def test_the_prediction_of_known_code_is_decide(policy: Policy) -> None:
    """Every check state, failure (message, remedy, reason), decision and exception of a
    prediction over a config that exists is decide's, unknown checks included."""
    csc = CscPolicy((ARN,), policy, "arn:csc")
    for facts in _facts():
        verdict = decide(facts, csc, T0)
        predicted = predict("code", facts, KnownConfig.of(csc), T0)
        assert predicted.decision == verdict.decision, facts
        assert predicted.exception == verdict.exception, facts
        assert predicted.checks == verdict.checks, facts
        assert predicted.failed == verdict.failed, facts


def test_unsigned_code_skips_expiry_and_revocation_even_when_they_are_unknown() -> None:
    # One skip rule for both: there is no signature to expire or revoke.
    facts = ArtifactFacts(signed=False, unknown=frozenset({Check.EXPIRY, Check.REVOCATION}))
    verdict = decide(facts, CscPolicy((ARN,), Policy.WARN), T0)
    assert verdict.checks[Check.EXPIRY] is verdict.checks[Check.REVOCATION] is CheckState.SKIPPED
    assert "unknownChecks" not in verdict.to_document()


def test_the_mismatch_message_is_one_for_bytes_and_pending_signatures() -> None:
    unlisted = KnownConfig(Policy.ENFORCE, (Publisher(OTHER),))
    signed = ArtifactFacts(signed=True, profile_version_arn=ARN, job_id="j", signed_at=T0)
    by_bytes = predict("f", signed, unlisted, T0).failed
    pending = predict("f", PendingSignature(profile_version_arn=ARN), unlisted, T0).failed
    assert by_bytes == pending
    assert [f.reason for f in pending] == [Reason.NOT_ALLOWED]


def test_documents_hold_plain_strings() -> None:
    """StrEnums inside, the same JSON-able (and YAML-able) text outside."""
    facts = ArtifactFacts(signed=False)
    document = decide(facts, CscPolicy((ARN,)), T0).to_document()
    predicted = predict("f", None, KnownConfig(None, None), T0).to_document()
    for value in (
        document["decision"],
        document["policy"],
        *document["checks"].values(),
        predicted["decision"],
        *predicted["possible"],
        *predicted["checks"].values(),
    ):
        assert type(value) is str, value
    assert document["policy"] == DEFAULT_UNTRUSTED_ARTIFACT_POLICY == "Warn"


def test_the_enums_are_aws_own() -> None:
    session = botocore.session.get_session()
    signer = session.get_service_model("signer")
    lambda_ = session.get_service_model("lambda")
    assert list(JobStatus) == signer.shape_for("SigningStatus").enum
    assert list(ProfileStatus) == signer.shape_for("SigningProfileStatus").enum
    assert list(Policy) == lambda_.shape_for("CodeSigningPolicy").enum


@pytest.mark.parametrize(
    "literal,home",
    [
        ('"Warn"', "provider/verdict.py"),
        ('"PASSED"', "provider/verdict.py"),
        ('"SKIPPED"', "provider/verdict.py"),
    ],
)
def test_each_policy_and_check_state_is_spelled_once(literal: str, home: str) -> None:
    """Outside its enum, code names the member (the default policy among them)."""
    pattern = re.compile(re.escape(literal))
    spelled = {
        str(path.relative_to(REPO))
        for path in chain((REPO / "provider").rglob("*.py"), (REPO / "sam_ext").rglob("*.py"))
        if pattern.search(path.read_text())
    }
    assert spelled == {home}
