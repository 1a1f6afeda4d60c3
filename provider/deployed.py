"""Who signed the code a function runs, from Lambda's own fields, as facts for the one decision.

Lambda reads a package's signature when the code is deployed and reports its signer with
the function's configuration (GetFunction, GetFunctionConfiguration, ListFunctions):
``SigningProfileVersionArn`` and ``SigningJobArn`` for the code, the same two in each entry
of ``Layers``, and in a layer version's ``Content``; code deployed unsigned has neither.
:func:`deployed_artifacts` reads them into :class:`DeployedArtifact` values (code first, then
each layer), and :func:`facts_of_deployed` turns one into the
:class:`~provider.verdict.ArtifactFacts` that :func:`~provider.verdict.decide` and
:func:`~provider.prediction.predict` judge (docs/architecture.md, "The one decision"):

- the signer is the profile version Lambda names (the mismatch check);
- the signing job (:meth:`SignerPart.signing_job`) gives when it signed, when the signature
  expires and whether RevokeSignature revoked it; the profile
  (:meth:`SignerPart.signing_profile`) whether that version is revoked, and from when;
- integrity: Lambda reports a signer only for code whose signature verified when it was
  deployed; with ``signed_sha256`` (the SHA-256 of the object the job signed), deployed
  code whose ``CodeSha256`` is not that object's was changed out of band, an integrity
  failure said so.

A look-up this caller may not make (access denied, not found) leaves the checks it decides
``UNKNOWN``, with the reason; any other error is raised. Every look-up goes through the
``signer`` given, so a caching one makes each job and profile one call for a whole account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provider.arns import Location, ProfileVersionRef, parse_profile_version_arn
from provider.backends.values import SigningJob, SigningProfile
from provider.clock import parse_instant
from provider.errors import AccessDeniedError, NotFoundError, ValidationError
from provider.statuses import ArtifactKind, JobStatus, ProfileStatus
from provider.verdict import ArtifactFacts, Check

if TYPE_CHECKING:
    from provider.backends.base import SignerPart

#: ``arn:PARTITION:signer:REGION:ACCOUNT:/signing-jobs/JOB_ID``, as Lambda names a job.
_JOB_ARN_MARK = ":/signing-jobs/"
#: What a signing job or profile that cannot be read leaves undecided.
_RECORD_CHECKS = frozenset({Check.EXPIRY, Check.REVOCATION})

#: The SHA-256 (base64, as Lambda's ``CodeSha256``) of the object a signing job signed, or
#: ``None`` when it cannot be known.
SignedSha256 = Callable[[SigningJob], str | None]


@dataclass(frozen=True)
class DeployedArtifact:
    """One piece of deployed code (a function's code, or a layer version it uses) and its
    signer, as Lambda reports them."""

    kind: ArtifactKind
    #: The function's ARN (as the configuration names it), or the layer version's ARN.
    arn: str
    #: Lambda's ``CodeSha256`` (base64), when the answer has it (a function's ``Layers``
    #: entries do not: GetLayerVersion's ``Content`` does).
    code_sha256: str | None
    #: Lambda's ``SigningProfileVersionArn`` (``None``: unsigned, or not reported).
    signing_profile_version_arn: str | None
    #: Lambda's ``SigningJobArn``.
    signing_job_arn: str | None

    @property
    def signed(self) -> bool:
        """Whether Lambda names a signer of this code."""
        return bool(self.signing_profile_version_arn or self.signing_job_arn)

    @property
    def job_id(self) -> str | None:
        """The signing job's id (the last part of :attr:`signing_job_arn`)."""
        if not self.signing_job_arn or _JOB_ARN_MARK not in self.signing_job_arn:
            return None
        return self.signing_job_arn.rsplit(_JOB_ARN_MARK, 1)[1] or None

    @property
    def job_owner(self) -> str | None:
        """The account of the signing job (from :attr:`signing_job_arn`)."""
        parts = (self.signing_job_arn or "").split(":")
        return parts[4] if len(parts) > 5 and parts[4] else None

    def profile_version(self) -> ProfileVersionRef | None:
        """:attr:`signing_profile_version_arn`, parsed (a malformed one is refused, naming
        the field)."""
        if not self.signing_profile_version_arn:
            return None
        return parse_profile_version_arn(
            self.signing_profile_version_arn, "SigningProfileVersionArn"
        )


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def deployed_artifacts(configuration: Mapping[str, Any]) -> tuple[DeployedArtifact, ...]:
    """The code and each layer of a function, with their signers, from its configuration
    (GetFunctionConfiguration, ListFunctions' items, GetFunction's ``Configuration``; a
    whole GetFunction answer is read through its ``Configuration``): the code first, then
    each ``Layers`` entry in order."""
    if isinstance(configuration.get("Configuration"), Mapping):
        configuration = configuration["Configuration"]
    arn = _text(configuration.get("FunctionArn"))
    if arn is None:
        raise ValidationError(
            "function configuration: the document has no 'FunctionArn'", field="FunctionArn"
        )
    code = DeployedArtifact(
        ArtifactKind.FUNCTION,
        arn,
        _text(configuration.get("CodeSha256")),
        _text(configuration.get("SigningProfileVersionArn")),
        _text(configuration.get("SigningJobArn")),
    )
    layers = []
    for index, entry in enumerate(configuration.get("Layers") or []):
        layer_arn = _text(entry.get("Arn")) if isinstance(entry, Mapping) else None
        if layer_arn is None:
            raise ValidationError(
                f"function configuration: Layers[{index}] has no 'Arn'", field="Layers"
            )
        layers.append(
            DeployedArtifact(
                ArtifactKind.LAYER,
                layer_arn,
                _text(entry.get("CodeSha256")),
                _text(entry.get("SigningProfileVersionArn")),
                _text(entry.get("SigningJobArn")),
            )
        )
    return (code, *layers)


def deployed_layer_version(layer_version: Mapping[str, Any]) -> DeployedArtifact:
    """A layer version and its signer from GetLayerVersion / GetLayerVersionByArn /
    PublishLayerVersion's answer (its ``Content`` has ``CodeSha256`` and the signer)."""
    arn = _text(layer_version.get("LayerVersionArn"))
    if arn is None:
        raise ValidationError(
            "layer version: the document has no 'LayerVersionArn'", field="LayerVersionArn"
        )
    content = layer_version.get("Content") or {}
    return DeployedArtifact(
        ArtifactKind.LAYER,
        arn,
        _text(content.get("CodeSha256")),
        _text(content.get("SigningProfileVersionArn")),
        _text(content.get("SigningJobArn")),
    )


def _instant(value: str | None, field: str) -> datetime | None:
    return parse_instant(value, field=field) if value else None


def _unknown(facts: ArtifactFacts, checks: frozenset[Check], why: str) -> ArtifactFacts:
    """``facts`` with ``checks`` undecided, for the reason ``why`` (added to any before)."""
    undecided = f"{facts.undecided}; {why}" if facts.undecided else why
    return replace(facts, unknown=facts.unknown | checks, undecided=undecided)


def matches_signed_object(
    artifact: DeployedArtifact, job: SigningJob, signed_sha256: SignedSha256 | None
) -> bool | None:
    """Whether the deployed code is the object ``job`` signed (``CodeSha256`` against the
    signed object's SHA-256): ``None`` when either is not known."""
    if signed_sha256 is None or artifact.code_sha256 is None or not job.succeeded:
        return None
    expected = signed_sha256(job)
    return None if expected is None else expected == artifact.code_sha256


def _signer_arn(artifact: DeployedArtifact, job: SigningJob, signer: SignerPart) -> str | None:
    """The profile version that signed: Lambda's field, else the job's own record."""
    if artifact.signing_profile_version_arn:
        return artifact.signing_profile_version_arn
    if not job.profile_name or not job.profile_version:
        return None
    here = signer.location
    parts = (artifact.signing_job_arn or "").split(":")
    region = parts[3] if len(parts) > 5 and parts[3] else here.region
    owner = job.job_owner or artifact.job_owner or here.account
    return Location(region, owner, here.partition).profile_version_arn(
        job.profile_name, job.profile_version
    )


def _profile_of(
    signer: SignerPart, name: str, owner: str | None
) -> SigningProfile | AccessDeniedError | NotFoundError:
    theirs = owner if owner and owner != signer.location.account else None
    try:
        return signer.signing_profile(name, profile_owner=theirs)
    except (AccessDeniedError, NotFoundError) as exc:
        return exc


def facts_of_deployed(
    artifact: DeployedArtifact,
    signer: SignerPart,
    *,
    name: str,
    signed_sha256: SignedSha256 | None = None,
) -> ArtifactFacts:
    """What Lambda's checks would read of ``artifact`` at its next deploy (called ``name``
    in messages): its signer as Lambda reports it, the signing job's times and revocation,
    the profile version's revocation, and, with ``signed_sha256``, whether the deployed
    code is still the signed object. Code Lambda names no signer of is unsigned."""
    if not artifact.signed:
        return ArtifactFacts(name=name, signed=False)
    reported = artifact.profile_version()
    facts = ArtifactFacts(
        name=name,
        signed=True,
        profile_version_arn=artifact.signing_profile_version_arn,
        job_id=artifact.job_id,
    )
    if artifact.job_id is None:
        return _unknown(
            facts,
            _RECORD_CHECKS,
            "Lambda names no signing job of this code, so its signature's expiry and "
            "revocation cannot be read",
        )
    try:
        job = signer.signing_job(artifact.job_id)
    except (AccessDeniedError, NotFoundError) as exc:
        return _unknown(
            facts,
            _RECORD_CHECKS if reported else frozenset(Check) - {Check.INTEGRITY},
            f"signing job {artifact.job_id} cannot be read ({exc.message})",
        )
    facts = replace(facts, profile_version_arn=_signer_arn(artifact, job, signer))
    if job.status is not JobStatus.SUCCEEDED:
        return replace(
            facts,
            integrity_error=f"Lambda names signing job {job.job_id} as the signer, but it "
            f"ended {job.status} ({job.status_reason or 'no reason given'}) and signed nothing",
        )
    if (
        reported is not None
        and job.profile_version
        and ((reported.name, reported.version) != (job.profile_name, job.profile_version))
    ):
        return replace(
            facts,
            integrity_error=f"Lambda reports {reported.arn} as the signer, but signing job "
            f"{job.job_id} signed with profile {job.profile_name!r} version {job.profile_version}",
        )
    expected = signed_sha256(job) if signed_sha256 and artifact.code_sha256 else None
    if expected is not None and expected != artifact.code_sha256:
        return replace(
            facts,
            integrity_error=f"the deployed code (CodeSha256 {artifact.code_sha256}) is not the "
            f"object signing job {job.job_id} signed (SHA-256 {expected}): it was changed out "
            "of band",
        )
    facts = replace(
        facts,
        signed_at=_instant(job.completed_at or job.created_at, "completedAt"),
        expires_at=_instant(job.signature_expires_at, "signatureExpiresAt"),
        signature_revoked_reason=(
            (job.revocation_reason or "revoked by RevokeSignature") if job.revoked else None
        ),
    )
    return _profile_revocation(facts, job, signer, reported)


def _profile_revocation(
    facts: ArtifactFacts, job: SigningJob, signer: SignerPart, reported: ProfileVersionRef | None
) -> ArtifactFacts:
    """``facts`` with the revocation of the profile version that signed (GetSigningProfile);
    undecided when it cannot be read, unless the signature itself is revoked (which fails
    the check whatever the profile says)."""
    profile_name = job.profile_name or (reported.name if reported else "")
    version = job.profile_version or (reported.version if reported else None)
    owner = reported.account if reported else job.job_owner
    profile = _profile_of(signer, profile_name, owner) if profile_name else None
    revoked_signature = facts.signature_revoked_reason is not None
    if not isinstance(profile, SigningProfile):
        why = f"({profile.message})" if profile is not None else "(the job names no profile)"
        if revoked_signature:
            return facts
        return _unknown(
            facts,
            frozenset({Check.REVOCATION}),
            f"the revocation record of {facts.profile_version_arn} cannot be read {why}",
        )
    if version is not None and profile.profile_version != version:
        if revoked_signature:
            return facts
        return _unknown(
            facts,
            frozenset({Check.REVOCATION}),
            f"the revocation record of {facts.profile_version_arn} cannot be read (profile "
            f"{profile_name!r} is now at version {profile.profile_version})",
        )
    revoked_from = _instant(profile.revocation_effective_from, "revocationEffectiveFrom")
    if revoked_from is None and profile.status is ProfileStatus.REVOKED and not revoked_signature:
        return _unknown(
            facts,
            frozenset({Check.REVOCATION}),
            f"profile {profile_name!r} is Revoked with no effective time on record",
        )
    return replace(facts, profile_revoked_from=revoked_from)
