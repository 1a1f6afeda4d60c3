"""What ``sam-ext check`` says about a template: one :class:`Finding` per function or layer,
gathered in a :class:`CheckReport` (the table, the ``--output json`` document of
``schemas/check-report.schema.json``, the exit status, and cfn-lint's messages all come
from these values)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from provider.clock import format_instant
from sam_ext.signing_profiles import SigningProfileRef


class Standing(StrEnum):
    """What the next deploy of one function's or layer's code would meet."""

    ALLOW = "ALLOW"
    WARN = "WARN"
    REJECT = "REJECT"
    #: Some check cannot be decided before deploy (said per check): never "allowed".
    UNKNOWN = "UNKNOWN"
    #: A function without a code signing config: Lambda checks nothing.
    NO_CONFIG = "NO_CONFIG"
    #: A container image: code signing does not apply.
    NOT_APPLICABLE = "NOT_APPLICABLE"


#: Standings from the worst to the mildest: the order of the table and of the report.
WORST_FIRST: tuple[Standing, ...] = (
    Standing.REJECT,
    Standing.UNKNOWN,
    Standing.WARN,
    Standing.NO_CONFIG,
    Standing.ALLOW,
    Standing.NOT_APPLICABLE,
)


class FailOn(StrEnum):
    """``--fail-on``: which standings make ``sam-ext check`` exit 1."""

    #: Only a deploy that would be rejected.
    REJECT = "reject"
    #: Also a warning, an undecided check, or a function without a code signing config.
    WARN = "warn"


#: The standings each ``--fail-on`` level fails on.
FAILING: Mapping[FailOn, frozenset[Standing]] = MappingProxyType(
    {
        FailOn.REJECT: frozenset({Standing.REJECT}),
        FailOn.WARN: frozenset(
            {Standing.REJECT, Standing.WARN, Standing.UNKNOWN, Standing.NO_CONFIG}
        ),
    }
)


@dataclass(frozen=True)
class Finding:
    """The verdict of one function's or layer's next deploy, named as its author knows it."""

    #: The file declaring the resource (a nested stack: its own file).
    template: Path
    logical_id: str
    #: ``AWS::Lambda::Function``, ``AWS::Serverless::LayerVersion``, ...
    resource_type: str
    #: The CDK construct path (``aws:cdk:path``), when known.
    construct_path: str | None
    standing: Standing
    #: ``Warn`` | ``Enforce`` | ``None`` (no config, or not known).
    policy: str | None
    #: The deciding check: ``integrity|mismatch|expiry|revocation`` (``None``: none failed).
    check: str | None
    #: Lambda's exception when ``standing`` is ``REJECT``.
    exception: str | None
    #: One sentence; the same text in the table, the JSON document and cfn-lint.
    message: str
    #: Something the user can run or change.
    remedy: str | None
    #: The logical ids of the nested-stack resources leading here (outermost first).
    nested_in: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The resource's path through nested stacks: ``Child/Function``."""
        return "/".join((*self.nested_in, self.logical_id))

    @property
    def name(self) -> str:
        """How the author knows the resource: the CDK construct path, else its path."""
        return self.construct_path or self.path

    def to_document(self) -> dict[str, Any]:
        """One item of the report's ``findings``."""
        return {
            "template": str(self.template),
            "logical_id": self.logical_id,
            "nested_in": list(self.nested_in),
            "resource_type": self.resource_type,
            "construct_path": self.construct_path,
            "standing": self.standing.value,
            "policy": self.policy,
            "check": self.check,
            "exception": self.exception,
            "message": self.message,
            "remedy": self.remedy,
        }


@dataclass(frozen=True)
class CheckOptions:
    """What a check is run with: the instant of the deploy, the template's parameter values
    (``--parameter-overrides``), and the functions and layers ``sam-ext package`` would
    sign (``--signing-profiles``: their deploys carry a fresh signature by that profile)."""

    at: datetime
    parameter_overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    signing_profiles: Mapping[str, SigningProfileRef] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class CheckReport:
    """Every finding of one check, worst first."""

    findings: tuple[Finding, ...]
    #: What was checked (a template file or a cloud assembly directory).
    source: Path | None = None
    #: The instant the deploys were judged at.
    checked_at: datetime | None = None
    #: What could not be checked (a nested template out of reach), one sentence each.
    notes: tuple[str, ...] = ()

    def sorted(self) -> tuple[Finding, ...]:
        """The findings worst first, then in template order."""
        rank = {standing: index for index, standing in enumerate(WORST_FIRST)}
        return tuple(sorted(self.findings, key=lambda f: rank[f.standing]))

    def counts(self) -> dict[str, int]:
        """How many findings of each standing (every standing named, worst first)."""
        found = Counter(f.standing for f in self.findings)
        return {standing.value: found.get(standing, 0) for standing in WORST_FIRST}

    def exit_code(self, fail_on: FailOn) -> int:
        """1 when a finding's standing is one ``fail_on`` fails on, else 0."""
        failing = FAILING[fail_on]
        return 1 if any(f.standing in failing for f in self.findings) else 0

    def to_document(self) -> dict[str, Any]:
        """The ``--output json`` document (``schemas/check-report.schema.json``)."""
        return {
            "source": str(self.source) if self.source is not None else None,
            "checked_at": format_instant(self.checked_at) if self.checked_at else None,
            "summary": {
                "resources": len(self.findings),
                "by_standing": self.counts(),
                "would_reject": any(f.standing is Standing.REJECT for f in self.findings),
            },
            "findings": [f.to_document() for f in self.sorted()],
            "notes": list(self.notes),
        }
