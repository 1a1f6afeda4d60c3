"""Predict the verdict of a deploy from what is known before it happens, unknowns included.

Pure (no Pulumi, no backend, no clock): a Pulumi preview, a CrossGuard policy pack and a
test all call :func:`predict` with what they know, in plain data:

- the code, as one of
  :class:`~provider.verdict.ArtifactFacts` (read from a package that exists already),
  :class:`PendingSignature` (a package this update signs with a new signing job, by a
  profile named or declared in the program), or ``None`` (nothing known yet);
- the code signing config, as a :class:`ConfigView`: its policy and its publishers, any of
  which may be unknown (a config or a profile created by the same update);
- the instant the deploy would happen.

Each of Lambda's four checks comes out ``PASSED``, ``FAILED``, ``SKIPPED`` or ``UNKNOWN``;
an ``UNKNOWN`` check says what leaves it undecided (:attr:`Prediction.undecided`). The
decision is ``ALLOW``, ``WARN`` or ``REJECT`` when every way the unknowns can turn out leads
to it, and ``UNKNOWN`` otherwise: a prediction never says "allowed" on a guess.

What the graph lets one know (docs/architecture.md, "The one decision"):

- a fresh signature passes integrity, expiry and revocation: the job that makes it writes
  the package, signs it now, and only an active profile can start a job;
- a profile declared in the program is identified by a *ref* (its URN) even before its
  version ARN exists, so "signed by P, under a config listing P" passes the mismatch check,
  and "signed by P, under a config listing only others" fails it;
- a :class:`Publisher` with a ref and no ARN is a profile version this update creates: no
  existing signature can be by it. One with neither is entirely unknown: it could be
  anyone, so the mismatch check of any signed code stays undecided;
- unsigned code fails the mismatch check whoever the publishers are; under a known
  ``Enforce`` it is therefore rejected even when the publishers are unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product
from typing import Any

from provider.verdict import (
    INTEGRITY_EXCEPTION,
    MALFORMED_EXCEPTION,
    POLICIES,
    VERIFICATION_EXCEPTION,
    ArtifactFacts,
    Check,
    CscPolicy,
    FailedCheck,
    expiry_failure,
    integrity_failure,
    mismatch_failure,
    revocation_failure,
)

#: The decision when the unknowns leave more than one possible.
UNKNOWN = "UNKNOWN"
#: Decisions from the mildest to the worst (how several artifacts of one deploy combine).
_SEVERITY = ("ALLOW", "WARN", UNKNOWN, "REJECT")


@dataclass(frozen=True)
class Publisher:
    """One entry of a config's allowed publishers, as far as it is known.

    ``arn`` is the profile version ARN (``None`` while unknown); ``ref`` the identity of the
    signing profile that declares it in the program (a URN), when it is one. ``arn=None``
    with a ``ref`` means a profile version this update creates; with neither, unknown.
    """

    arn: str | None = None
    ref: str | None = None

    @property
    def unknown(self) -> bool:
        """Whether nothing is known of this publisher (it could be any profile version)."""
        return self.arn is None and self.ref is None


@dataclass(frozen=True)
class ConfigView:
    """A code signing config as a preview knows it.

    ``policy`` is ``Warn``/``Enforce`` or ``None`` (unknown); ``publishers`` the allowed
    publishers, or ``None`` when the list itself is unknown; ``arn`` for messages.
    """

    policy: str | None
    publishers: tuple[Publisher, ...] | None
    arn: str | None = None

    @property
    def known_arns(self) -> tuple[str, ...]:
        """The publishers' profile version ARNs that are known."""
        return tuple(p.arn for p in self.publishers or () if p.arn is not None)

    @property
    def has_unknown_publisher(self) -> bool:
        """Whether some publisher, or the list itself, is unknown."""
        return self.publishers is None or any(p.unknown for p in self.publishers)

    def lists(self, ref: str | None) -> bool:
        """Whether a publisher is the profile declared as ``ref``."""
        return ref is not None and any(p.ref == ref for p in self.publishers or ())


@dataclass(frozen=True)
class PendingSignature:
    """Code that this update signs with a new signing job before deploying it.

    ``profile_ref`` identifies the signing profile in the program (when it is declared
    there); ``profile_version_arn`` is its version ARN when the profile exists already.
    """

    profile_ref: str | None = None
    profile_version_arn: str | None = None


#: What a prediction can know of the code: facts, a pending signature, or nothing.
Code = ArtifactFacts | PendingSignature | None

_FRESH = "a fresh signature made by this update's signing job"


@dataclass(frozen=True)
class Prediction:
    """What a deploy of one artifact (function code or a layer) would meet.

    ``checks`` maps every check to ``PASSED``/``FAILED``/``SKIPPED``/``UNKNOWN``;
    ``undecided`` says, for each ``UNKNOWN`` check, what it waits for; ``possible`` lists
    the decisions the unknowns still allow (one, unless the decision is ``UNKNOWN``).
    """

    name: str
    decision: str
    possible: tuple[str, ...]
    policy: str | None
    checks: dict[Check, str]
    failed: tuple[FailedCheck, ...]
    undecided: dict[Check, str] = field(default_factory=dict)
    passed_because: dict[Check, str] = field(default_factory=dict)
    exception: str | None = None
    csc_arn: str | None = None

    @property
    def reasons(self) -> str:
        """The failed checks, ``check: message; ...``."""
        return "; ".join(f"{f.check.value}: {f.message}" for f in self.failed)

    @property
    def waiting_for(self) -> str:
        """What is undecided: ``check (why); ...``, and the policy when it is unknown."""
        parts = [f"{c.value} ({why})" for c, why in self.undecided.items()]
        if self.policy is None:
            parts.append("the policy (Warn or Enforce: not known yet)")
        return "; ".join(parts)

    @property
    def message(self) -> str:
        """One sentence: what the deploy would meet, and why."""
        config = (
            f"code signing config {self.csc_arn}" if self.csc_arn else "its code signing config"
        )
        if self.decision == "REJECT":
            return (
                f"{self.name}: the deploy would be rejected by {config} "
                f"({self.policy or 'policy unknown'}) with {self.exception}: {self.reasons}"
            )
        if self.decision == "WARN":
            return (
                f"{self.name}: the deploy would go ahead with a warning under Warn: {self.reasons}"
            )
        if self.decision == "ALLOW":
            grouped: dict[str, list[str]] = {}
            for check, reason in self.passed_because.items():
                grouped.setdefault(reason, []).append(check.value)
            why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in grouped.items())
            because = f": {why}" if why else ""  # what the graph, not the bytes, decided
            return f"{self.name}: the deploy would be allowed (every check passes{because})"
        found = f"; failed so far: {self.reasons}" if self.failed else ""
        return (
            f"{self.name}: the verdict is UNKNOWN until deploy (could be "
            f"{' or '.join(self.possible)}); undecided: {self.waiting_for}{found}"
        )

    def to_document(self) -> dict[str, Any]:
        """Plain data (a Pulumi output): decision, checks, failures, remedies, unknowns."""
        return {
            "name": self.name,
            "decision": self.decision,
            "possible": list(self.possible),
            "policy": self.policy,
            "exception": self.exception,
            "checks": {c.value: s for c, s in self.checks.items()},
            "failed_checks": [f"{f.check.value}: {f.message}" for f in self.failed],
            "remedies": sorted({f.remedy for f in self.failed}),
            "unknown_until_deploy": [c.value for c in self.undecided],
            "undecided": {c.value: why for c, why in self.undecided.items()},
            "message": self.message,
        }


@dataclass
class _Checks:
    states: dict[Check, str] = field(default_factory=lambda: {c: "PASSED" for c in Check})
    failed: list[FailedCheck] = field(default_factory=list)
    undecided: dict[Check, str] = field(default_factory=dict)
    passed_because: dict[Check, str] = field(default_factory=dict)

    def fail(self, failure: FailedCheck | None) -> None:
        if failure is not None:
            self.states[failure.check] = "FAILED"
            self.failed.append(failure)

    def unknown(self, check: Check, why: str) -> None:
        self.states[check] = "UNKNOWN"
        self.undecided[check] = why


def _signer_mismatch(ref: str | None, arn: str | None, config: ConfigView, checks: _Checks) -> None:
    """The mismatch check of signed code whose signer is ``ref``/``arn``."""
    if config.publishers is None:
        checks.unknown(Check.MISMATCH, "the config's allowed publishers are not known yet")
        return
    if config.lists(ref) or (arn is not None and arn in config.known_arns):
        checks.passed_because[Check.MISMATCH] = "signed by a profile the config lists"
        return
    if arn is None and ref is None:
        checks.unknown(Check.MISMATCH, "the signing profile is not known yet")
        return
    if config.has_unknown_publisher:
        checks.unknown(Check.MISMATCH, "some allowed publisher is not known yet")
        return
    signer = arn or f"the profile {ref} (a profile version this update creates)"
    checks.fail(
        FailedCheck(
            Check.MISMATCH,
            f"signed by {signer}, which is not among the code signing config's allowed publishers",
            "Sign with an allowed profile version, or add this profile version ARN to the "
            "code signing config's AllowedPublishers.",
        )
    )


def _known_code(facts: ArtifactFacts, config: ConfigView, at: datetime, checks: _Checks) -> None:
    csc = CscPolicy(config.known_arns, config.policy or "Warn", config.arn)
    integrity = None if Check.INTEGRITY in facts.unknown else integrity_failure(facts, csc)
    if integrity is not None:
        checks.fail(integrity)
        for check in (Check.MISMATCH, Check.EXPIRY, Check.REVOCATION):
            checks.states[check] = "SKIPPED"
        return
    if Check.INTEGRITY in facts.unknown:
        checks.unknown(Check.INTEGRITY, facts.undecided or "the package's bytes cannot be read yet")
    elif facts.signed and not facts.publisher_known and config.has_unknown_publisher:
        # An unknown publisher's key cannot vouch for the package if it turns out allowed.
        checks.unknown(Check.INTEGRITY, "the signer's key is unknown to this backend")
    if not facts.signed and Check.MISMATCH not in facts.unknown:
        checks.fail(mismatch_failure(facts, csc))
        checks.states[Check.EXPIRY] = checks.states[Check.REVOCATION] = "SKIPPED"
        return
    if Check.MISMATCH in facts.unknown:
        checks.unknown(Check.MISMATCH, facts.undecided or "the signer is not known yet")
    else:
        _signer_mismatch(None, facts.profile_version_arn, config, checks)
        checks.passed_because.pop(Check.MISMATCH, None)  # said for predictions only
    for check in (Check.EXPIRY, Check.REVOCATION):
        if check in facts.unknown:
            checks.unknown(check, facts.undecided or "the signature's record is not known yet")
        elif check is Check.EXPIRY:
            checks.fail(expiry_failure(facts, at))
        else:
            checks.fail(revocation_failure(facts))


def _checks_of(code: Code, config: ConfigView, at: datetime) -> _Checks:
    checks = _Checks()
    if code is None:
        for check in Check:
            checks.unknown(check, "the code is not known until deploy")
    elif isinstance(code, PendingSignature):
        for check in (Check.INTEGRITY, Check.EXPIRY, Check.REVOCATION):
            checks.passed_because[check] = _FRESH
        _signer_mismatch(code.profile_ref, code.profile_version_arn, config, checks)
    else:
        _known_code(code, config, at, checks)
    return checks


def _outcome(policy: str, integrity_fails: bool, other_fails: bool) -> str:
    if integrity_fails:
        return "REJECT"
    if other_fails:
        return "REJECT" if policy == "Enforce" else "WARN"
    return "ALLOW"


def predict(name: str, code: Code, config: ConfigView, at: datetime) -> Prediction:
    """Predict what Lambda does with a deploy of ``code`` (called ``name`` in messages)
    under ``config`` at instant ``at``, deciding only what the known values decide."""
    checks = _checks_of(code, config, at)
    states = checks.states
    integrity = {"FAILED": (True,), "UNKNOWN": (False, True)}.get(states[Check.INTEGRITY], (False,))
    others = [states[c] for c in (Check.MISMATCH, Check.EXPIRY, Check.REVOCATION)]
    other = (True,) if "FAILED" in others else (False, True) if "UNKNOWN" in others else (False,)
    policies = (config.policy,) if config.policy in POLICIES else POLICIES
    possible = tuple(
        d
        for d in _SEVERITY
        if d in {_outcome(p, i, o) for p, i, o in product(policies, integrity, other)}
    )
    decision = possible[0] if len(possible) == 1 else UNKNOWN
    exception = None
    if decision == "REJECT":
        integrity_failed = states[Check.INTEGRITY] == "FAILED"
        malformed = isinstance(code, ArtifactFacts) and code.malformed
        exception = (
            (MALFORMED_EXCEPTION if malformed else INTEGRITY_EXCEPTION)
            if integrity_failed
            else VERIFICATION_EXCEPTION
        )
    return Prediction(
        name=name,
        decision=decision,
        possible=possible,
        policy=config.policy if config.policy in POLICIES else None,
        checks=dict(states),
        failed=tuple(checks.failed),
        undecided=dict(checks.undecided),
        passed_because={c: w for c, w in checks.passed_because.items() if states[c] == "PASSED"},
        exception=exception,
        csc_arn=config.arn,
    )


def combined(decisions: Iterable[str]) -> str:
    """The decision of a deploy of several artifacts (code and layers): the worst one,
    ``UNKNOWN`` ranking below ``REJECT`` (a known rejection decides) and above ``WARN``."""
    worst = "ALLOW"
    for decision in decisions:
        if _SEVERITY.index(decision) > _SEVERITY.index(worst):
            worst = decision
    return worst
