"""The audit's typed report: every function's standing, the code signing configs and the
upcoming signature expiries, and :meth:`AuditReport.to_document`, the ``--output json``
document (``schemas/audit-report.schema.json``; the HTML page renders that document).

Plain values only: :mod:`sam_ext.audit.judge` fills them from the one prediction
(:func:`provider.prediction.predict`), :mod:`sam_ext.audit.collect` from the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from provider.clock import format_instant
from provider.verdict import Decision

Document = dict[str, Any]

#: Exit status of an audit that found nothing its ``--fail-on`` fails on, but could not read
#: some function or region (distinct from 1, a failing standing, and 2, bad input).
EXIT_INCOMPLETE = 3


class Standing(StrEnum):
    """A deployed function's standing: what its next code deploy would meet."""

    ALLOW = "ALLOW"
    WARN = "WARN"
    REJECT = "REJECT"
    UNKNOWN = "UNKNOWN"
    #: No code signing config: nothing is checked.
    NO_CONFIG = "NO_CONFIG"
    #: The function could not be read (``error`` says why).
    ERROR = "ERROR"

    @classmethod
    def of(cls, decision: Decision) -> Standing:
        """The standing of a prediction's decision."""
        return cls(decision.value)


#: Standings from the worst to the mildest: the table's groups, in this order.
WORST_FIRST = (
    Standing.REJECT,
    Standing.ERROR,
    Standing.UNKNOWN,
    Standing.WARN,
    Standing.NO_CONFIG,
    Standing.ALLOW,
)
#: How the standing of one function can worsen between the audit instant and the horizon.
_RANK = {standing: rank for rank, standing in enumerate(reversed(WORST_FIRST))}


def worse(after: Standing, before: Standing) -> bool:
    """Whether ``after`` is a worse standing than ``before``."""
    return _RANK[after] > _RANK[before]


class FailOn(StrEnum):
    """What ``--fail-on`` makes the audit exit 1 for."""

    #: A function whose next deploy would be rejected.
    REJECT = "reject"
    #: Also WARN, UNKNOWN and NO_CONFIG.
    WARN = "warn"
    #: Also a function whose standing worsens within ``--within`` (an expiring signature).
    EXPIRING = "expiring"


class ArtifactKindName(StrEnum):
    """What an audited artifact is, as the report says it."""

    CODE = "code"
    LAYER = "layer"


class PublisherStatus(StrEnum):
    """A publisher's signing profile status (``Unknown``: it could not be read)."""

    ACTIVE = "Active"
    CANCELED = "Canceled"
    REVOKED = "Revoked"
    UNKNOWN = "Unknown"


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


@dataclass(frozen=True)
class ArtifactAudit:
    """The function's code or one of its layer versions, and how its next deploy fares."""

    kind: ArtifactKindName
    arn: str
    standing: Standing
    message: str
    check: str | None = None
    signing_profile_version_arn: str | None = None
    signing_job_arn: str | None = None
    signed_at: datetime | None = None
    signature_expires_at: datetime | None = None
    code_sha256: str | None = None
    #: Whether the deployed bytes are still the signed object (``None``: not known).
    matches_signed_object: bool | None = None

    def to_document(self) -> Document:
        """The report's ``artifacts`` item."""
        return {
            "kind": self.kind.value,
            "arn": self.arn,
            "signing_profile_version_arn": self.signing_profile_version_arn,
            "signing_job_arn": self.signing_job_arn,
            "signed_at": _instant(self.signed_at),
            "signature_expires_at": _instant(self.signature_expires_at),
            "code_sha256": self.code_sha256,
            "matches_signed_object": self.matches_signed_object,
            "standing": self.standing.value,
            "check": self.check,
            "message": self.message,
        }


@dataclass(frozen=True)
class FunctionAudit:
    """One function's standing at the audit instant (and at the horizon)."""

    region: str
    function_name: str
    function_arn: str
    standing: Standing
    message: str
    code_signing_config_arn: str | None = None
    policy: str | None = None
    standing_at_horizon: Standing | None = None
    check: str | None = None
    exception: str | None = None
    remedy: str | None = None
    error: str | None = None
    signature_validation_errors: int | None = None
    artifacts: tuple[ArtifactAudit, ...] = ()
    #: Whether an ``Enforce`` policy would reject its next deploy today (Warn configs).
    blocked_if_enforced: bool = False
    #: :attr:`message` in short, for the table: the failed checks (without the config).
    reason: str | None = None

    @property
    def expiring(self) -> bool:
        """ALLOW or WARN now, worse at the horizon."""
        return (
            self.standing in (Standing.ALLOW, Standing.WARN)
            and self.standing_at_horizon is not None
            and worse(self.standing_at_horizon, self.standing)
        )

    def to_document(self) -> Document:
        """The report's ``functions`` item."""
        return {
            "region": self.region,
            "function_name": self.function_name,
            "function_arn": self.function_arn,
            "code_signing_config_arn": self.code_signing_config_arn,
            "policy": self.policy,
            "standing": self.standing.value,
            "standing_at_horizon": (
                self.standing_at_horizon.value if self.standing_at_horizon else None
            ),
            "check": self.check,
            "exception": self.exception,
            "message": self.message,
            "remedy": self.remedy,
            "error": self.error,
            "signature_validation_errors": self.signature_validation_errors,
            "artifacts": [artifact.to_document() for artifact in self.artifacts],
        }


@dataclass(frozen=True)
class Publisher:
    """One allowed publisher of a config and its profile's status."""

    profile_version_arn: str
    status: PublisherStatus

    def to_document(self) -> Document:
        return {"profile_version_arn": self.profile_version_arn, "status": self.status.value}


@dataclass(frozen=True)
class ConfigAudit:
    """A code signing config: its policy, publishers, and the functions it governs."""

    region: str
    arn: str
    policy: str
    publishers: tuple[Publisher, ...]
    functions: tuple[str, ...]
    blocked_if_enforced: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def unused(self) -> bool:
        """Whether no function uses it."""
        return not self.functions

    def to_document(self) -> Document:
        """The report's ``code_signing_configs`` item."""
        return {
            "region": self.region,
            "arn": self.arn,
            "policy": self.policy,
            "publishers": [publisher.to_document() for publisher in self.publishers],
            "functions": list(self.functions),
            "blocked_if_enforced": list(self.blocked_if_enforced),
            "unused": self.unused,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Expiry:
    """A signature of deployed code that has not expired yet."""

    region: str
    function_name: str
    artifact: ArtifactKindName
    arn: str
    expires_at: datetime
    within_window: bool

    def to_document(self) -> Document:
        """The report's ``expiries`` item."""
        return {
            "region": self.region,
            "function_name": self.function_name,
            "artifact": self.artifact.value,
            "arn": self.arn,
            "expires_at": format_instant(self.expires_at),
            "within_window": self.within_window,
        }


@dataclass(frozen=True)
class RegionError:
    """A region (or its listing) that could not be read."""

    region: str
    error: str

    def to_document(self) -> Document:
        return {"region": self.region, "error": self.error}


@dataclass(frozen=True)
class AuditReport:
    """The whole audit: :meth:`to_document` is ``--output json``; :meth:`exit_code` the
    CI gate."""

    audited_at: datetime
    backend: str
    regions: tuple[str, ...]
    functions: tuple[FunctionAudit, ...]
    code_signing_configs: tuple[ConfigAudit, ...]
    within: str | None = None
    horizon: datetime | None = None
    region_errors: tuple[RegionError, ...] = ()
    #: Service calls made, by operation (the scale goal: calls per function).
    calls: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def complete(self) -> bool:
        """Whether every region and every function could be read."""
        return not self.region_errors and all(
            f.standing is not Standing.ERROR for f in self.functions
        )

    @property
    def expiries(self) -> tuple[Expiry, ...]:
        """Signatures of deployed code not yet expired at the audit instant, soonest first."""
        found = [
            Expiry(
                function.region,
                function.function_name,
                artifact.kind,
                artifact.arn,
                artifact.signature_expires_at,
                self.horizon is not None and artifact.signature_expires_at <= self.horizon,
            )
            for function in self.functions
            for artifact in function.artifacts
            if artifact.signature_expires_at is not None
            and artifact.signature_expires_at > self.audited_at
        ]
        return tuple(sorted(found, key=lambda e: (e.expires_at, e.function_name, e.arn)))

    def count(self, standing: Standing) -> int:
        """How many functions have ``standing``."""
        return sum(1 for function in self.functions if function.standing is standing)

    def exit_code(self, fail_on: FailOn = FailOn.REJECT) -> int:
        """1 when a function fails ``fail_on``; else :data:`EXIT_INCOMPLETE` when some
        function or region could not be read; else 0."""
        failing = {Standing.REJECT}
        if fail_on in (FailOn.WARN, FailOn.EXPIRING):
            failing |= {Standing.WARN, Standing.UNKNOWN, Standing.NO_CONFIG}
        if any(f.standing in failing for f in self.functions):
            return 1
        if fail_on is FailOn.EXPIRING and any(f.expiring for f in self.functions):
            return 1
        return 0 if self.complete else EXIT_INCOMPLETE

    def to_document(self) -> Document:
        """The ``--output json`` document (``schemas/audit-report.schema.json``)."""
        ordered = sorted(
            self.functions,
            key=lambda f: (WORST_FIRST.index(f.standing), f.region, f.function_name),
        )
        document: Document = {
            "audited_at": format_instant(self.audited_at),
            "within": self.within,
            "horizon": _instant(self.horizon),
            "backend": self.backend,
            "regions": list(self.regions),
            "complete": self.complete,
            "summary": {
                "functions": len(self.functions),
                "by_standing": {s.value: self.count(s) for s in Standing},
                "expiring_within": sum(1 for f in self.functions if f.expiring),
                "code_signing_configs": len(self.code_signing_configs),
            },
            "functions": [function.to_document() for function in ordered],
            "code_signing_configs": [config.to_document() for config in self.code_signing_configs],
            "expiries": [expiry.to_document() for expiry in self.expiries],
        }
        if self.region_errors:
            document["region_errors"] = [error.to_document() for error in self.region_errors]
        return document
