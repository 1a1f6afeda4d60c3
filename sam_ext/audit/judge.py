"""Judge what was read of a function with the one prediction: each artifact (its code and
every layer version) through :func:`provider.prediction.predict` under the function's code
signing config, at the audit instant and at the horizon; the function's standing is the
worst of them (:func:`provider.prediction.combined`). Pure: no backend, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from provider.backends.values import CodeSigningConfig
from provider.clock import format_instant
from provider.prediction import KnownConfig, Prediction, combined, predict
from provider.verdict import ArtifactFacts, CheckState, Decision, Policy
from sam_ext.audit.report import (
    ArtifactAudit,
    ArtifactKindName,
    ConfigAudit,
    FunctionAudit,
    Publisher,
    PublisherStatus,
    Standing,
)


@dataclass(frozen=True)
class DeployedFacts:
    """One deployed artifact as read: what Lambda reports of it and the facts the checks
    run over."""

    kind: ArtifactKindName
    arn: str
    facts: ArtifactFacts
    signing_profile_version_arn: str | None = None
    signing_job_arn: str | None = None
    code_sha256: str | None = None
    matches_signed_object: bool | None = None


@dataclass(frozen=True)
class FunctionRead:
    """Everything read of one function."""

    region: str
    name: str
    arn: str
    config: CodeSigningConfig | None
    artifacts: tuple[DeployedFacts, ...]
    signature_validation_errors: int | None = None
    #: Why code signing does not apply (a container image), when it does not.
    not_applicable: str | None = None


def _check_of(prediction: Prediction) -> str | None:
    """The deciding check: the first failed one, else the first undecided one."""
    if prediction.failed:
        return prediction.failed[0].check.value
    undecided = [c for c, s in prediction.checks.items() if s is CheckState.UNKNOWN]
    return undecided[0].value if undecided else None


def _predictions(
    read: FunctionRead, config: KnownConfig, at: datetime
) -> list[tuple[DeployedFacts, Prediction]]:
    return [
        (artifact, predict(artifact.facts.name, artifact.facts, config, at))
        for artifact in read.artifacts
    ]


def _worst(found: Sequence[tuple[DeployedFacts, Prediction]]) -> Decision:
    return combined(p.decision for _, p in found)


def _expiring(read: FunctionRead, at: datetime, horizon: datetime) -> str:
    soon = sorted(  # by date only: a function's code and layer often expire together
        (
            (a.facts.expires_at, a)
            for a in read.artifacts
            if a.facts.expires_at is not None and at < a.facts.expires_at <= horizon
        ),
        key=lambda found: found[0],
    )
    if not soon:
        return ""
    said = ", ".join(
        f"{'its code' if a.kind is ArtifactKindName.CODE else 'layer ' + a.arn}'s signature "
        f"expires at {format_instant(when)}"
        for when, a in soon
    )
    return f" ({said})"


def _reason(artifact: DeployedFacts, prediction: Prediction) -> str:
    """What decided an artifact, shortly: its failed checks, else what is undecided."""
    said = prediction.reasons or f"undecided: {prediction.waiting_for}"
    if artifact.kind is ArtifactKindName.CODE:
        return said
    return f"layer {artifact.arn.split(':layer:', 1)[-1]}: {said}"


def judge_function(read: FunctionRead, at: datetime, horizon: datetime | None) -> FunctionAudit:
    """The standing of ``read``'s next code deploy at ``at`` (and at ``horizon``)."""
    base = FunctionAudit(
        region=read.region,
        function_name=read.name,
        function_arn=read.arn,
        standing=Standing.NO_CONFIG,
        message="",
        signature_validation_errors=read.signature_validation_errors,
    )
    if read.config is None:
        why = read.not_applicable or (
            "no code signing config is attached: Lambda checks nothing on its deploys"
        )
        artifacts = tuple(_unjudged(a, why) for a in read.artifacts)
        remedy = (
            None
            if read.not_applicable
            else "Attach a code signing config: aws lambda put-function-code-signing-config "
            f"--function-name {read.name} --code-signing-config-arn ARN"
        )
        return replace(
            base,
            standing=Standing.NO_CONFIG,
            standing_at_horizon=Standing.NO_CONFIG if horizon else None,
            message=f"function {read.name}: {why}",
            reason=why,
            remedy=remedy,
            artifacts=artifacts,
        )
    config = KnownConfig.of(read.config.policy)
    now = _predictions(read, config, at)
    decision = _worst(now)
    worst = [p for _, p in now if p.decision is decision]
    later = _worst(_predictions(read, config, horizon)) if horizon is not None else None
    blocked = False
    if read.config.untrusted_artifact_on_deployment is Policy.WARN:
        enforced = KnownConfig(Policy.ENFORCE.value, config.publishers, config.arn)
        blocked = _worst(_predictions(read, enforced, at)) is Decision.REJECT
    if decision is Decision.ALLOW:
        layers = len(read.artifacts) - 1
        message = (
            f"function {read.name}: the deploy would be allowed (every check passes for its "
            f"code{f' and {layers} layer(s)' if layers > 0 else ''})"
        )
        reason = "every check passes"
    else:
        message = "; ".join(dict.fromkeys(p.message for p in worst))
        reason = "; ".join(dict.fromkeys(_reason(a, p) for a, p in now if p in worst))
    standing = Standing.of(decision)
    at_horizon = Standing.of(later) if later is not None else None
    if horizon is not None and at_horizon is not None and at_horizon is not standing:
        later_said = (
            f"by {format_instant(horizon)} it would be {at_horizon.value}"
            f"{_expiring(read, at, horizon)}"
        )
        message += f"; {later_said}"
        reason += f"; {later_said}"
    remedies = dict.fromkeys(f.remedy for _, p in now for f in p.failed)
    return replace(
        base,
        code_signing_config_arn=read.config.arn,
        policy=read.config.untrusted_artifact_on_deployment.value,
        standing=standing,
        standing_at_horizon=at_horizon,
        check=_check_of(worst[0]) if decision is not Decision.ALLOW else None,
        exception=worst[0].exception,
        message=message,
        remedy=" ".join(remedies) or None,
        artifacts=tuple(_judged(a, p) for a, p in now),
        blocked_if_enforced=blocked,
        reason=reason,
    )


def _audited(artifact: DeployedFacts, standing: Standing, message: str) -> ArtifactAudit:
    return ArtifactAudit(
        kind=artifact.kind,
        arn=artifact.arn,
        standing=standing,
        message=message,
        signing_profile_version_arn=artifact.signing_profile_version_arn,
        signing_job_arn=artifact.signing_job_arn,
        signed_at=artifact.facts.signed_at,
        signature_expires_at=artifact.facts.expires_at,
        code_sha256=artifact.code_sha256,
        matches_signed_object=artifact.matches_signed_object,
    )


def _judged(artifact: DeployedFacts, prediction: Prediction) -> ArtifactAudit:
    audited = _audited(artifact, Standing.of(prediction.decision), prediction.message)
    return replace(audited, check=_check_of(prediction))


def _unjudged(artifact: DeployedFacts, why: str) -> ArtifactAudit:
    return _audited(artifact, Standing.NO_CONFIG, f"{artifact.facts.name}: {why}")


def error_function(region: str, name: str, arn: str, error: str) -> FunctionAudit:
    """A function that could not be read: standing ``ERROR``, ``error`` says why."""
    return FunctionAudit(
        region=region,
        function_name=name,
        function_arn=arn,
        standing=Standing.ERROR,
        message=f"function {name}: could not be read ({error}); its standing is not known",
        error=error,
        reason=f"could not be read: {error}",
    )


def judge_config(
    region: str,
    config: CodeSigningConfig,
    functions: Sequence[FunctionAudit],
    statuses: Mapping[str, PublisherStatus],
) -> ConfigAudit:
    """A config: its publishers' statuses, the functions using it, and under ``Warn`` which
    of them an ``Enforce`` would block today."""
    using = [f for f in functions if f.code_signing_config_arn == config.arn]
    publishers = tuple(
        Publisher(arn, statuses.get(arn, PublisherStatus.UNKNOWN)) for arn in config.allowed
    )
    notes: list[str] = []
    blocked: tuple[str, ...] = ()
    if config.untrusted_artifact_on_deployment is Policy.WARN:
        blocked = tuple(sorted(f.function_name for f in using if f.blocked_if_enforced))
        notes.append(
            "Warn policy: code that fails a check other than integrity deploys with a warning"
            + (
                f"; under Enforce, {len(blocked)} function(s) would be blocked today: "
                f"{', '.join(blocked)}"
                if blocked
                else "; under Enforce, no function would be blocked today"
            )
        )
    for publisher in publishers:
        if publisher.status in (PublisherStatus.CANCELED, PublisherStatus.REVOKED):
            notes.append(
                f"publisher {publisher.profile_version_arn}: its signing profile is "
                f"{publisher.status.value}"
            )
        elif publisher.status is PublisherStatus.UNKNOWN:
            notes.append(
                f"publisher {publisher.profile_version_arn}: its signing profile could not be read"
            )
    if not using:
        notes.append("no function uses this config")
    return ConfigAudit(
        region=region,
        arn=config.arn,
        policy=config.untrusted_artifact_on_deployment.value,
        publishers=publishers,
        functions=tuple(sorted(f.function_name for f in using)),
        blocked_if_enforced=blocked,
        notes=tuple(notes),
    )
