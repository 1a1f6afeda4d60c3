"""Predict the verdict of a deploy from what is known before it happens, unknowns included.

Pure (no Pulumi, no backend, no clock): a Pulumi preview, a CrossGuard policy pack and a
test all call :func:`predict` with what they know, in plain data:

- the code, as one of
  :class:`~provider.verdict.ArtifactFacts` (read from a package that exists already),
  :class:`PendingSignature` (a package this update signs with a new signing job, by a
  profile named or declared in the program), or ``None`` (nothing known yet);
- the code signing config, as a :class:`KnownConfig`: its policy and its publishers, any of
  which may be unknown (a config or a profile created by the same update);
- the instant the deploy would happen.

What is known becomes facts and a :class:`~provider.verdict.Membership` (whether the signer
is among the allowed publishers, or unknown), and :mod:`provider.verdict` decides over them
with the same rules :func:`~provider.verdict.decide` runs: each of Lambda's four checks comes
out ``PASSED``, ``FAILED``, ``SKIPPED`` or ``UNKNOWN``; an ``UNKNOWN`` check says what leaves
it undecided (:attr:`Prediction.undecided`). The decision is ``ALLOW``, ``WARN`` or
``REJECT`` when every way the unknowns can turn out leads to it, and ``UNKNOWN`` otherwise:
a prediction never says "allowed" on a guess.

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
from typing import Any

from provider.verdict import (
    POLICIES,
    SEVERITY,
    ArtifactFacts,
    Check,
    CheckState,
    CscPolicy,
    Decision,
    FailedCheck,
    Membership,
    check_outcomes,
    decision_of,
    exception_of,
    possible_decisions,
)


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
class KnownConfig:
    """A code signing config as a preview knows it.

    ``policy`` is ``Warn``/``Enforce`` or ``None`` (unknown); ``publishers`` the allowed
    publishers, or ``None`` when the list itself is unknown; ``arn`` for messages.
    """

    policy: str | None
    publishers: tuple[Publisher, ...] | None
    arn: str | None = None

    @classmethod
    def of(cls, csc: CscPolicy) -> KnownConfig:
        """A config that exists: everything about it is known."""
        return cls(
            csc.policy, tuple(Publisher(a) for a in csc.allowed_profile_version_arns), csc.arn
        )

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
KnownCode = ArtifactFacts | PendingSignature | None

_FRESH = "a fresh signature made by this update's signing job"


@dataclass(frozen=True)
class Prediction:
    """What a deploy of one artifact (function code or a layer) would meet.

    ``checks`` maps every check to ``PASSED``/``FAILED``/``SKIPPED``/``UNKNOWN``;
    ``undecided`` says, for each ``UNKNOWN`` check, what it waits for; ``possible`` lists
    the decisions the unknowns still allow (one, unless the decision is ``UNKNOWN``).
    """

    name: str
    decision: Decision
    possible: tuple[Decision, ...]
    policy: str | None
    checks: dict[Check, CheckState]
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
        """What is undecided: ``check, check (why); ...`` (checks waiting for the same thing
        said together), and the policy when it is unknown."""
        grouped: dict[str, list[str]] = {}  # checks waiting for the same thing, said once
        for check, why in self.undecided.items():
            grouped.setdefault(why, []).append(check.value)
        parts = [f"{', '.join(checks)} ({why})" for why, checks in grouped.items()]
        if self.policy is None:
            parts.append("the policy (Warn or Enforce: not known yet)")
        return "; ".join(parts)

    @property
    def message(self) -> str:
        """One sentence: what the deploy would meet, and why."""
        config = (
            f"code signing config {self.csc_arn}" if self.csc_arn else "its code signing config"
        )
        if self.decision is Decision.REJECT:
            return (
                f"{self.name}: the deploy would be rejected by {config} "
                f"({self.policy or 'policy unknown'}) with {self.exception}: {self.reasons}"
            )
        if self.decision is Decision.WARN:
            return (
                f"{self.name}: the deploy would go ahead with a warning under Warn: {self.reasons}"
            )
        if self.decision is Decision.ALLOW:
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
            "decision": self.decision.value,
            "possible": [d.value for d in self.possible],
            "policy": self.policy,
            "exception": self.exception,
            "checks": {c.value: s.value for c, s in self.checks.items()},
            "failed_checks": [f"{f.check.value}: {f.message}" for f in self.failed],
            "remedies": sorted({f.remedy for f in self.failed}),
            "unknown_until_deploy": [c.value for c in self.undecided],
            "undecided": {c.value: why for c, why in self.undecided.items()},
            "message": self.message,
        }


def _membership(ref: str | None, arn: str | None, config: KnownConfig) -> Membership:
    """Whether the signer ``ref``/``arn`` is among ``config``'s allowed publishers, as far
    as the graph knows."""
    if config.publishers is None:
        return Membership(None, "the config's allowed publishers are not known yet")
    if config.lists(ref) or (arn is not None and arn in config.known_arns):
        return Membership(True)
    if arn is None and ref is None:
        return Membership(None, "the signing profile is not known yet")
    if config.has_unknown_publisher:
        return Membership(None, "some allowed publisher is not known yet")
    return Membership(
        False, signer=arn or f"the profile {ref} (a profile version this update creates)"
    )


def _facts_of(name: str, code: KnownCode, config: KnownConfig) -> tuple[ArtifactFacts, Membership]:
    """The code as facts the checks run over, and its signer's membership of the config."""
    if code is None:
        nothing = "the code is not known until deploy"
        return ArtifactFacts(name, unknown=frozenset(Check), undecided=nothing), Membership(None)
    if isinstance(code, PendingSignature):
        # The job that makes it writes the package and signs it now, and only an active
        # profile starts one: nothing to fail integrity, expiry or revocation.
        fresh = ArtifactFacts(name, signed=True, profile_version_arn=code.profile_version_arn)
        return fresh, _membership(code.profile_ref, code.profile_version_arn, config)
    return code, _membership(None, code.profile_version_arn, config)


def predict(name: str, code: KnownCode, config: KnownConfig, at: datetime) -> Prediction:
    """Predict what Lambda does with a deploy of ``code`` (called ``name`` in messages)
    under ``config`` at instant ``at``, deciding only what the known values decide."""
    facts, membership = _facts_of(name, code, config)
    outcomes = check_outcomes(facts, membership, at)
    states = {check: o.state for check, o in outcomes.items()}
    policies = (config.policy,) if config.policy in POLICIES else POLICIES
    possible = possible_decisions(states, policies)
    decision = decision_of(possible)
    passed_because: dict[Check, str] = {}
    if isinstance(code, PendingSignature):  # what the graph, not the bytes, decided
        for check in (Check.INTEGRITY, Check.EXPIRY, Check.REVOCATION):
            passed_because[check] = _FRESH
        passed_because[Check.MISMATCH] = "signed by a profile the config lists"
    return Prediction(
        name=name,
        decision=decision,
        possible=possible,
        policy=config.policy if config.policy in POLICIES else None,
        checks=states,
        failed=tuple(o.failure for o in outcomes.values() if o.failure is not None),
        undecided={c: o.undecided for c, o in outcomes.items() if o.undecided is not None},
        passed_because={c: w for c, w in passed_because.items() if states[c] is CheckState.PASSED},
        exception=exception_of(decision, states, bool(facts.malformed)),
        csc_arn=config.arn,
    )


def combined(decisions: Iterable[str]) -> Decision:
    """The decision of a deploy of several artifacts (code and layers): the worst one,
    ``UNKNOWN`` ranking below ``REJECT`` (a known rejection decides) and above ``WARN``."""
    worst = Decision.ALLOW
    for decision in decisions:
        if SEVERITY.index(Decision(decision)) > SEVERITY.index(worst):
            worst = Decision(decision)
    return worst
