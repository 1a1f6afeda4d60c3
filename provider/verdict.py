"""The one decision: what Lambda does with a deployment under a code signing config.

:func:`decide` is pure: artifact facts + CSC + an instant in, :class:`Verdict` out. Both
backends, the Pulumi resources and the CLI call it; nothing else decides.

Lambda's rules (docs/architecture.md, "The one decision"): an integrity failure is always rejected
(``InvalidCodeSignatureException``); a mismatch (unsigned, or signer not allowed), an
expired signature or a revoked one is rejected under ``Enforce``
(``CodeVerificationFailedException``) and deployed with a warning under ``Warn``. A check
the facts cannot decide (:attr:`ArtifactFacts.unknown`) is ``UNKNOWN``, and so is the
decision when that check could still change it: never "allowed" on a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from provider.clock import format_instant


class Check(StrEnum):
    """The four checks Lambda runs, in the order it reports them."""

    INTEGRITY = "integrity"
    MISMATCH = "mismatch"
    EXPIRY = "expiry"
    REVOCATION = "revocation"


class Decision(StrEnum):
    """What happens to the deployment."""

    ALLOW = "ALLOW"
    WARN = "WARN"
    REJECT = "REJECT"
    #: A check the facts cannot decide could still change the outcome (Lambda may refuse).
    UNKNOWN = "UNKNOWN"


POLICIES = ("Warn", "Enforce")
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
    policy: str = "Warn"
    arn: str | None = None


@dataclass(frozen=True)
class FailedCheck:
    """One failed check, said so a person can act on it."""

    check: Check
    message: str
    remedy: str

    def to_document(self) -> dict[str, str]:
        """The verdict schema's ``failedChecks`` item."""
        return {"check": self.check.value, "message": self.message, "remedy": self.remedy}


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`decide` (see ``schemas/verdict.schema.json``)."""

    decision: Decision
    policy: str
    evaluated_at: datetime
    checks: dict[Check, str]
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
        unknown = [c.value for c, s in self.checks.items() if s == "UNKNOWN"]
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
            "checks": {check.value: state for check, state in self.checks.items()},
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
        unknown = [c.value for c, s in self.checks.items() if s == "UNKNOWN"]
        if unknown:
            document["unknownChecks"] = unknown
        return document


def integrity_failure(facts: ArtifactFacts, csc: CscPolicy) -> FailedCheck | None:
    """The integrity check: a malformed, changed or unverifiable package fails it."""
    if facts.malformed:
        return FailedCheck(
            Check.INTEGRITY,
            f"the package is not a readable .zip archive: {facts.malformed}",
            "Upload the .zip that the signing job wrote, unmodified.",
        )
    if facts.integrity_error:
        return FailedCheck(
            Check.INTEGRITY,
            f"the package was changed after signing or its signature is invalid: "
            f"{facts.integrity_error}",
            "Rebuild the package from source and sign it again; never modify a signed package.",
        )
    if (
        facts.signed
        and not facts.publisher_known
        and facts.profile_version_arn in csc.allowed_profile_version_arns
    ):
        # An unknown publisher cannot vouch for its key: harmless when it is not allowed
        # anyway (a mismatch), but an allowed ARN whose key cannot be checked is not trusted.
        return FailedCheck(
            Check.INTEGRITY,
            f"the signing key of {facts.profile_version_arn} cannot be verified: that "
            "profile version is unknown to this backend",
            "Sign with a profile of this backend (or its account), or check the ARN.",
        )
    return None


def mismatch_failure(facts: ArtifactFacts, csc: CscPolicy) -> FailedCheck | None:
    """The mismatch check: unsigned code, or a signer the config does not list, fails it."""
    if not facts.signed:
        return FailedCheck(
            Check.MISMATCH,
            "the package is not signed",
            "Sign it with one of the code signing config's allowed profiles "
            "(sam-ext sign --profile-name NAME ...).",
        )
    if facts.profile_version_arn not in csc.allowed_profile_version_arns:
        return FailedCheck(
            Check.MISMATCH,
            f"signed by {facts.profile_version_arn}, which is not among the code signing "
            "config's allowed publishers",
            "Sign with an allowed profile version, or add this profile version ARN to the "
            "code signing config's AllowedPublishers.",
        )
    return None


def expiry_failure(facts: ArtifactFacts, at: datetime) -> FailedCheck | None:
    """The expiry check at instant ``at``."""
    # A signature is valid on [signedAt, signatureExpiresAt): at the expiry instant it
    # has expired.
    if facts.expires_at is not None and at >= facts.expires_at:
        return FailedCheck(
            Check.EXPIRY,
            f"the signature expired at {format_instant(facts.expires_at)}",
            "Sign the package again; a new signature gets a fresh validity period.",
        )
    return None


def revocation_failure(facts: ArtifactFacts) -> FailedCheck | None:
    """The revocation check: a revoked signature, or a profile revocation covering it."""
    if facts.signature_revoked_reason is not None:
        return FailedCheck(
            Check.REVOCATION,
            f"the signature (job {facts.job_id}) was revoked: {facts.signature_revoked_reason}",
            "Sign the package again with a new signing job.",
        )
    revoked_from = facts.profile_revoked_from
    # Signatures made at or after the effective time are untrusted: AWS says "after";
    # the instant itself is treated as revoked, the safer reading.
    if revoked_from is not None and facts.signed_at is not None and facts.signed_at >= revoked_from:
        return FailedCheck(
            Check.REVOCATION,
            f"profile version {facts.profile_version_arn} is revoked for signatures made "
            f"from {format_instant(revoked_from)}; this one was made at "
            f"{format_instant(facts.signed_at)}",
            "Sign with a profile that is not revoked and allow it in the code signing config.",
        )
    return None


def decide(facts: ArtifactFacts, csc: CscPolicy, at: datetime) -> Verdict:
    """Decide what Lambda does with ``facts`` under ``csc`` at instant ``at``."""
    checks: dict[Check, str] = {check: "PASSED" for check in Check}
    failures: list[FailedCheck] = []

    integrity = None if Check.INTEGRITY in facts.unknown else integrity_failure(facts, csc)
    if integrity is not None:
        failures.append(integrity)
        checks[Check.INTEGRITY] = "FAILED"
        # The envelope's claims are not trustworthy once integrity fails.
        for check in (Check.MISMATCH, Check.EXPIRY, Check.REVOCATION):
            checks[check] = "SKIPPED"
        exception = MALFORMED_EXCEPTION if facts.malformed else INTEGRITY_EXCEPTION
        return Verdict(
            Decision.REJECT, csc.policy, at, checks, tuple(failures), exception, csc.arn, facts
        )

    if not facts.signed and Check.MISMATCH not in facts.unknown:
        checks[Check.EXPIRY] = checks[Check.REVOCATION] = "SKIPPED"
    evaluations: dict[Check, Callable[[], FailedCheck | None]] = {
        Check.MISMATCH: lambda: mismatch_failure(facts, csc),
        Check.EXPIRY: lambda: expiry_failure(facts, at),
        Check.REVOCATION: lambda: revocation_failure(facts),
    }
    for check, evaluate in evaluations.items():
        if check in facts.unknown:
            checks[check] = "UNKNOWN"
            continue
        if checks[check] == "SKIPPED":
            continue
        failed = evaluate()
        if failed is not None:
            failures.append(failed)
            checks[check] = "FAILED"
    if Check.INTEGRITY in facts.unknown:
        checks[Check.INTEGRITY] = "UNKNOWN"

    unknown = {check for check, state in checks.items() if state == "UNKNOWN"}
    if unknown and not (failures and csc.policy == "Enforce"):
        # What an unknown check would do if it failed: an integrity failure is rejected
        # under any policy, any other under Enforce; under Warn it would warn.
        worst = (
            Decision.REJECT
            if Check.INTEGRITY in unknown or csc.policy == "Enforce"
            else Decision.WARN
        )
        if worst is not (Decision.WARN if failures else Decision.ALLOW):
            return Verdict(
                Decision.UNKNOWN, csc.policy, at, checks, tuple(failures), None, csc.arn, facts
            )
    if not failures:
        return Verdict(Decision.ALLOW, csc.policy, at, checks, (), None, csc.arn, facts)
    if csc.policy == "Enforce":
        return Verdict(
            Decision.REJECT,
            csc.policy,
            at,
            checks,
            tuple(failures),
            VERIFICATION_EXCEPTION,
            csc.arn,
            facts,
        )
    return Verdict(Decision.WARN, csc.policy, at, checks, tuple(failures), None, csc.arn, facts)
