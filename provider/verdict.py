"""The one decision: what Lambda does with a deployment under a code signing config.

:func:`decide` is pure: artifact facts + CSC + an instant in, :class:`Verdict` out. Both
backends, the Pulumi resources and the CLI call it; nothing else decides.

Lambda's rules (docs/architecture.md, "The one decision"): an integrity failure is always rejected
(``InvalidCodeSignatureException``); a mismatch (unsigned, or signer not allowed), an
expired signature or a revoked one is rejected under ``Enforce``
(``CodeVerificationFailedException``) and deployed with a warning under ``Warn``. A check
the facts cannot decide (:attr:`ArtifactFacts.unknown`) is ``UNKNOWN``, and so is the
decision when that check could still change it: never "allowed" on a guess.

Each check is a rule here (:func:`integrity_rule`, :func:`mismatch_rule`,
:func:`expiry_rule`, :func:`revocation_rule`) over facts that may be unknown;
:func:`check_outcomes` runs them with the skip rules, :func:`possible_decisions` and
:func:`exception_of` turn the outcomes into Lambda's answer. :func:`decide` runs them over
what is read from a package; :mod:`provider.prediction` runs the same functions over what a
preview knows, unknowns included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import product
from typing import Any

from provider.clock import format_instant


class Check(StrEnum):
    """The four checks Lambda runs, in the order it reports them."""

    INTEGRITY = "integrity"
    MISMATCH = "mismatch"
    EXPIRY = "expiry"
    REVOCATION = "revocation"


class CheckState(StrEnum):
    """How one check came out."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    #: Not run: integrity failed (the envelope's claims are not trusted), or the code is
    #: unsigned (no signature to expire or revoke).
    SKIPPED = "SKIPPED"
    #: The facts cannot decide it (yet).
    UNKNOWN = "UNKNOWN"


class Decision(StrEnum):
    """What happens to the deployment."""

    ALLOW = "ALLOW"
    WARN = "WARN"
    REJECT = "REJECT"
    #: A check the facts cannot decide could still change the outcome (Lambda may refuse).
    UNKNOWN = "UNKNOWN"


#: Decisions from the mildest to the worst (how several artifacts of one deploy combine):
#: ``UNKNOWN`` ranks below ``REJECT`` (a known rejection decides) and above ``WARN``.
SEVERITY = (Decision.ALLOW, Decision.WARN, Decision.UNKNOWN, Decision.REJECT)


class Policy(StrEnum):
    """A code signing config's ``UntrustedArtifactOnDeployment``: what Lambda does with
    code that fails a check other than integrity."""

    WARN = "Warn"
    ENFORCE = "Enforce"


#: Lambda's ``UntrustedArtifactOnDeployment`` when a config leaves it out: the one place
#: this default is said.
DEFAULT_UNTRUSTED_ARTIFACT_POLICY = Policy.WARN
#: The policies, as AWS spells them.
POLICIES: tuple[str, ...] = tuple(Policy)


class Reason(StrEnum):
    """Why a check failed (what a remedy is chosen by)."""

    MALFORMED = "malformed"
    CHANGED = "changed"
    UNVERIFIED_KEY = "unverified key"
    NOT_SIGNED = "not signed"
    NOT_ALLOWED = "not allowed"
    EXPIRED = "expired"
    SIGNATURE_REVOKED = "signature revoked"
    PROFILE_REVOKED = "profile revoked"


INTEGRITY_EXCEPTION = "InvalidCodeSignatureException"
VERIFICATION_EXCEPTION = "CodeVerificationFailedException"
MALFORMED_EXCEPTION = "InvalidParameterValueException"


@dataclass(frozen=True)
class ArtifactFacts:
    """What is known about one code artifact (function code or a layer).

    ``integrity_error`` is set when the package was signed but its bytes, envelope or
    signature do not verify, or the signing key is not the profile version's.
    ``malformed`` is set when the file is not a readable zip at all. Checks named in
    ``unknown`` cannot be decided yet (a preview before the package exists), ``undecided``
    says why, when the facts know. ``signed`` is ``False`` for bytes that carry no
    signature, or none that can be read when ``unknown`` holds the mismatch check.
    """

    name: str = "code"
    signed: bool = False
    integrity_error: str | None = None
    malformed: str | None = None
    profile_version_arn: str | None = None
    job_id: str | None = None
    signed_at: datetime | None = None
    expires_at: datetime | None = None
    profile_revoked_from: datetime | None = None
    signature_revoked_reason: str | None = None
    publisher_known: bool = True
    unknown: frozenset[Check] = frozenset()
    #: Set when a trust file vouched for the publisher: its export instant, the newest
    #: revocation state the verdict can know of.
    trust_as_of: datetime | None = None
    #: Why the checks in ``unknown`` cannot be decided (said with them).
    undecided: str | None = None


@dataclass(frozen=True)
class CscPolicy:
    """The parts of a code signing config that decide a verdict."""

    allowed_profile_version_arns: tuple[str, ...]
    policy: str = DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value
    arn: str | None = None


@dataclass(frozen=True)
class FailedCheck:
    """One failed check, said so a person can act on it."""

    check: Check
    message: str
    remedy: str
    reason: Reason

    def to_document(self) -> dict[str, str]:
        """The verdict schema's ``failedChecks`` item."""
        return {"check": self.check.value, "message": self.message, "remedy": self.remedy}


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`decide` (see ``schemas/verdict.schema.json``)."""

    decision: Decision
    policy: str
    evaluated_at: datetime
    checks: dict[Check, CheckState]
    failed: tuple[FailedCheck, ...]
    exception: str | None = None
    csc_arn: str | None = None
    facts: ArtifactFacts = field(default_factory=ArtifactFacts)

    @property
    def message(self) -> str:
        """One paragraph: what happens and why (and, when a trust file vouched for the
        publisher, that revocations after its date are not seen)."""
        message = self._outcome()
        if self.facts.trust_as_of is not None:
            message += (
                f" [judged on a trust file exported at {format_instant(self.facts.trust_as_of)}:"
                " revocations made later are not known to this verdict]"
            )
        return message

    def _outcome(self) -> str:
        name = self.facts.name
        unknown = [c.value for c, s in self.checks.items() if s == CheckState.UNKNOWN]
        undecided = ""
        if unknown:
            why = f" ({self.facts.undecided})" if self.facts.undecided else ""
            undecided = f"undecided: {', '.join(unknown)}{why}"
        if self.decision is Decision.ALLOW:
            return f"{name}: all code signing checks pass"
        reasons = "; ".join(f"{f.check.value}: {f.message}" for f in self.failed)
        if self.decision is Decision.UNKNOWN:
            found = f"; failed so far: {reasons}" if reasons else ""
            return (
                f"{name}: the verdict is UNKNOWN (Lambda may refuse the deploy under the "
                f"{self.policy} policy); {undecided}{found}"
            )
        if self.decision is Decision.WARN:
            also = f"; {undecided}" if undecided else ""
            return f"{name}: deploys with a warning under the Warn policy ({reasons}){also}"
        return f"{name}: rejected with {self.exception} ({reasons})"

    def to_document(self) -> dict[str, Any]:
        """The verdict as a JSON document valid against ``verdict.schema.json``."""
        document: dict[str, Any] = {
            "decision": self.decision.value,
            "policy": self.policy,
            "evaluatedAt": format_instant(self.evaluated_at),
            "checks": {check.value: state.value for check, state in self.checks.items()},
            "failedChecks": [failed.to_document() for failed in self.failed],
            "message": self.message,
        }
        if self.facts.signed or Check.MISMATCH not in self.facts.unknown:
            # Omitted for bytes that may carry a signature no one here can read.
            document["signed"] = self.facts.signed
        optional = {
            "exception": self.exception,
            "codeSigningConfigArn": self.csc_arn,
            "profileVersionArn": self.facts.profile_version_arn,
            "jobId": self.facts.job_id,
            "signatureExpiresAt": (
                format_instant(self.facts.expires_at) if self.facts.expires_at else None
            ),
            "trustFileExportedAt": (
                format_instant(self.facts.trust_as_of) if self.facts.trust_as_of else None
            ),
        }
        document.update({key: value for key, value in optional.items() if value is not None})
        unknown = [c.value for c, s in self.checks.items() if s == CheckState.UNKNOWN]
        if unknown:
            document["unknownChecks"] = unknown
        return document


@dataclass(frozen=True)
class Membership:
    """Whether the signer is among the code signing config's allowed publishers: ``True``,
    ``False``, or ``None`` while unknown (``undecided`` says why). ``signer`` is how a
    mismatch names the signer (by default its profile version ARN)."""

    listed: bool | None
    undecided: str | None = None
    signer: str | None = None


@dataclass(frozen=True)
class CheckOutcome:
    """One check's outcome: its state, the failure when it failed, and what leaves it
    undecided when it is unknown."""

    state: CheckState
    failure: FailedCheck | None = None
    undecided: str | None = None


_PASSED = CheckOutcome(CheckState.PASSED)
_SKIPPED = CheckOutcome(CheckState.SKIPPED)


def _failed(check: Check, reason: Reason, message: str, remedy: str) -> CheckOutcome:
    return CheckOutcome(CheckState.FAILED, FailedCheck(check, message, remedy, reason))


def _unknown(why: str) -> CheckOutcome:
    return CheckOutcome(CheckState.UNKNOWN, undecided=why)


def integrity_rule(facts: ArtifactFacts, membership: Membership) -> CheckOutcome:
    """The integrity check: a malformed, changed or unverifiable package fails it."""
    if Check.INTEGRITY in facts.unknown:
        return _unknown(facts.undecided or "the package's bytes cannot be read yet")
    if facts.malformed:
        return _failed(
            Check.INTEGRITY,
            Reason.MALFORMED,
            f"the package is not a readable .zip archive: {facts.malformed}",
            "Upload the .zip that the signing job wrote, unmodified.",
        )
    if facts.integrity_error:
        return _failed(
            Check.INTEGRITY,
            Reason.CHANGED,
            f"the package was changed after signing or its signature is invalid: "
            f"{facts.integrity_error}",
            "Rebuild the package from source and sign it again; never modify a signed package.",
        )
    if facts.signed and not facts.publisher_known:
        # An unknown publisher cannot vouch for its key: harmless when it is not allowed
        # anyway (a mismatch), but an allowed ARN whose key cannot be checked is not trusted.
        if membership.listed is None:
            return _unknown("the signer's key is unknown to this backend")
        if membership.listed:
            return _failed(
                Check.INTEGRITY,
                Reason.UNVERIFIED_KEY,
                f"the signing key of {facts.profile_version_arn} cannot be verified: that "
                "profile version is unknown to this backend",
                "Sign with a profile of this backend (or its account), or check the ARN.",
            )
    return _PASSED


def mismatch_rule(facts: ArtifactFacts, membership: Membership) -> CheckOutcome:
    """The mismatch check: unsigned code, or a signer the config does not list, fails it."""
    if Check.MISMATCH in facts.unknown:
        return _unknown(facts.undecided or "the signer is not known yet")
    if not facts.signed:
        return _failed(
            Check.MISMATCH,
            Reason.NOT_SIGNED,
            "the package is not signed",
            "Sign it with one of the code signing config's allowed profiles "
            "(sam-ext sign --profile-name NAME ...).",
        )
    if membership.listed is None:
        return _unknown(membership.undecided or "the signer is not known yet")
    if membership.listed:
        return _PASSED
    signer = membership.signer or facts.profile_version_arn
    return _failed(
        Check.MISMATCH,
        Reason.NOT_ALLOWED,
        f"signed by {signer}, which is not among the code signing config's allowed publishers",
        "Sign with an allowed profile version, or add this profile version ARN to the "
        "code signing config's AllowedPublishers.",
    )


def expiry_rule(facts: ArtifactFacts, at: datetime) -> CheckOutcome:
    """The expiry check at instant ``at``."""
    if Check.EXPIRY in facts.unknown:
        return _unknown(facts.undecided or "the signature's record is not known yet")
    # A signature is valid on [signedAt, signatureExpiresAt): at the expiry instant it
    # has expired.
    if facts.expires_at is not None and at >= facts.expires_at:
        return _failed(
            Check.EXPIRY,
            Reason.EXPIRED,
            f"the signature expired at {format_instant(facts.expires_at)}",
            "Sign the package again; a new signature gets a fresh validity period.",
        )
    return _PASSED


def revocation_rule(facts: ArtifactFacts) -> CheckOutcome:
    """The revocation check: a revoked signature, or a profile revocation covering it."""
    if Check.REVOCATION in facts.unknown:
        return _unknown(facts.undecided or "the signature's record is not known yet")
    if facts.signature_revoked_reason is not None:
        return _failed(
            Check.REVOCATION,
            Reason.SIGNATURE_REVOKED,
            f"the signature (job {facts.job_id}) was revoked: {facts.signature_revoked_reason}",
            "Sign the package again with a new signing job.",
        )
    revoked_from = facts.profile_revoked_from
    # Signatures made at or after the effective time are untrusted: AWS says "after";
    # the instant itself is treated as revoked, the safer reading.
    if revoked_from is not None and facts.signed_at is not None and facts.signed_at >= revoked_from:
        return _failed(
            Check.REVOCATION,
            Reason.PROFILE_REVOKED,
            f"profile version {facts.profile_version_arn} is revoked for signatures made "
            f"from {format_instant(revoked_from)}; this one was made at "
            f"{format_instant(facts.signed_at)}",
            "Sign with a profile that is not revoked and allow it in the code signing config.",
        )
    return _PASSED


def check_outcomes(
    facts: ArtifactFacts, membership: Membership, at: datetime
) -> dict[Check, CheckOutcome]:
    """Every check of ``facts`` (signed by a publisher the config lists or not, as
    ``membership`` says) at ``at``, in Lambda's order, with the skip rules."""
    integrity = integrity_rule(facts, membership)
    if integrity.state is CheckState.FAILED:
        # The envelope's claims are not trustworthy once integrity fails.
        return {
            Check.INTEGRITY: integrity,
            Check.MISMATCH: _SKIPPED,
            Check.EXPIRY: _SKIPPED,
            Check.REVOCATION: _SKIPPED,
        }
    outcomes = {Check.INTEGRITY: integrity, Check.MISMATCH: mismatch_rule(facts, membership)}
    if not facts.signed and Check.MISMATCH not in facts.unknown:
        # Unsigned code fails the mismatch check; it has no signature to expire or revoke.
        outcomes[Check.EXPIRY] = outcomes[Check.REVOCATION] = _SKIPPED
    else:
        outcomes[Check.EXPIRY] = expiry_rule(facts, at)
        outcomes[Check.REVOCATION] = revocation_rule(facts)
    return outcomes


def outcome(policy: str, integrity_fails: bool, other_fails: bool) -> Decision:
    """What Lambda does: an integrity failure is rejected under any policy; any other
    failure is rejected under ``Enforce`` and deployed with a warning under ``Warn``."""
    if integrity_fails:
        return Decision.REJECT
    if other_fails:
        return Decision.REJECT if policy == Policy.ENFORCE else Decision.WARN
    return Decision.ALLOW


def possible_decisions(
    states: Mapping[Check, CheckState], policies: Iterable[str]
) -> tuple[Decision, ...]:
    """The decisions that the ways the ``UNKNOWN`` checks (and the ``policies`` still
    possible) can turn out lead to, mildest first."""
    integrity_state = states[Check.INTEGRITY]
    integrity = (
        (True,)
        if integrity_state is CheckState.FAILED
        else (False, True)
        if integrity_state is CheckState.UNKNOWN
        else (False,)
    )
    others = [states[c] for c in (Check.MISMATCH, Check.EXPIRY, Check.REVOCATION)]
    other = (
        (True,)
        if CheckState.FAILED in others
        else (False, True)
        if CheckState.UNKNOWN in others
        else (False,)
    )
    found = {outcome(p, i, o) for p, i, o in product(policies, integrity, other)}
    return tuple(d for d in SEVERITY if d in found)


def decision_of(possible: tuple[Decision, ...]) -> Decision:
    """The decision when the possible ones are ``possible``: the one, else ``UNKNOWN``
    (never "allowed" on a guess)."""
    return possible[0] if len(possible) == 1 else Decision.UNKNOWN


def exception_of(
    decision: Decision, states: Mapping[Check, CheckState], malformed: bool
) -> str | None:
    """The exception Lambda raises for ``decision``: an integrity failure's (or, for a
    file that is no .zip, the malformed parameter's), else the verification failure's."""
    if decision is not Decision.REJECT:
        return None
    if states[Check.INTEGRITY] is CheckState.FAILED:
        return MALFORMED_EXCEPTION if malformed else INTEGRITY_EXCEPTION
    return VERIFICATION_EXCEPTION


def decide(facts: ArtifactFacts, csc: CscPolicy, at: datetime) -> Verdict:
    """Decide what Lambda does with ``facts`` under ``csc`` at instant ``at``."""
    listed = facts.profile_version_arn in csc.allowed_profile_version_arns
    outcomes = check_outcomes(facts, Membership(listed), at)
    states = {check: o.state for check, o in outcomes.items()}
    failures = tuple(o.failure for o in outcomes.values() if o.failure is not None)
    decision = decision_of(possible_decisions(states, (csc.policy,)))
    exception = exception_of(decision, states, bool(facts.malformed))
    return Verdict(decision, csc.policy, at, states, failures, exception, csc.arn, facts)
