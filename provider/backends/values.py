"""Typed values of the domain, made from the AWS-shaped documents the backends speak.

A backend's operations answer with the services' response documents (the CLI and the
endpoint print them as the AWS CLI would); code that reads fields reads them from these
values instead, made at that edge by ``from_document``. ``to_document`` gives the document
back unchanged, key for key, so what is printed stays the service's shape.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from provider.errors import ValidationError
from provider.objects import S3Object
from provider.statuses import JobStatus, ProfileStatus
from provider.validity import ValidityPeriod
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY, CscPolicy, Policy

Document = dict[str, Any]
E = TypeVar("E", JobStatus, ProfileStatus, Policy)


def _field(document: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return document[key]
    except (KeyError, TypeError):
        raise ValidationError(f"{what}: the document has no {key!r}", field=key) from None


def _member(kind: type[E], value: Any, key: str) -> E:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(kind)
        raise ValidationError(f"{key}: {value!r} is not one of {known}", field=key) from None


@dataclass(frozen=True)
class SignedObject:
    """Where a signing job wrote: a local file (``path``) or an S3 object."""

    path: str | None = None
    s3: S3Object | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SignedObject:
        """``{path}`` (local) or ``{bucketName, key[, version]}`` (aws)."""
        if "path" in document:
            return cls(path=str(document["path"]))
        return cls(s3=S3Object.from_location(dict(document)))


@dataclass(frozen=True)
class SigningJob:
    """A DescribeSigningJob answer: the fields callers decide on, typed."""

    job_id: str
    status: JobStatus
    profile_name: str
    created_at: str
    status_reason: str | None = None
    signature_expires_at: str | None = None
    signed_object: SignedObject | None = None
    profile_version: str | None = None
    #: The account the job belongs to (``None``: the caller's).
    job_owner: str | None = None
    #: Whether RevokeSignature revoked this job's signature.
    revoked: bool = False
    #: When the job finished (``completedAt``), and why its signature was revoked.
    completed_at: str | None = None
    revocation_reason: str | None = None
    #: The service's document, as it came (the edges print it).
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SigningJob:
        """A signing job from DescribeSigningJob's document (either backend's)."""
        what = "signing job"
        signed = document.get("signedObject")
        return cls(
            job_id=str(_field(document, "jobId", what)),
            status=_member(JobStatus, _field(document, "status", what), "status"),
            profile_name=str(document.get("profileName", "")),
            created_at=str(_field(document, "createdAt", what)),
            status_reason=document.get("statusReason"),
            signature_expires_at=document.get("signatureExpiresAt"),
            signed_object=SignedObject.from_document(signed) if signed else None,
            profile_version=document.get("profileVersion"),
            job_owner=document.get("jobOwner") or None,
            revoked="revocationRecord" in document,
            completed_at=document.get("completedAt"),
            revocation_reason=(document.get("revocationRecord") or {}).get("reason"),
            document=copy.deepcopy(dict(document)),
        )

    def to_document(self) -> Document:
        """The DescribeSigningJob document this job was made from."""
        return copy.deepcopy(dict(self.document))

    @property
    def succeeded(self) -> bool:
        """Whether the job wrote a signed object."""
        return self.status is JobStatus.SUCCEEDED


@dataclass(frozen=True)
class SigningProfile:
    """A GetSigningProfile answer: the fields callers decide on, typed."""

    profile_name: str
    profile_version: str
    profile_version_arn: str
    arn: str
    status: ProfileStatus
    status_reason: str | None = None
    #: From when its signatures are untrusted, when RevokeSigningProfile revoked it.
    revocation_effective_from: str | None = None
    #: How long its signatures are valid (the default when the document names none).
    validity: ValidityPeriod = field(default_factory=ValidityPeriod.default)
    #: The service's document, as it came (the edges print it).
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SigningProfile:
        """A signing profile from GetSigningProfile's document (either backend's)."""
        what = "signing profile"
        return cls(
            profile_name=str(_field(document, "profileName", what)),
            profile_version=str(_field(document, "profileVersion", what)),
            profile_version_arn=str(_field(document, "profileVersionArn", what)),
            arn=str(_field(document, "arn", what)),
            status=_member(ProfileStatus, _field(document, "status", what), "status"),
            status_reason=document.get("statusReason"),
            revocation_effective_from=(document.get("revocationRecord") or {}).get(
                "revocationEffectiveFrom"
            ),
            validity=ValidityPeriod.from_document(document.get("signatureValidityPeriod")),
            document=copy.deepcopy(dict(document)),
        )

    def to_document(self) -> Document:
        """The GetSigningProfile document this profile was made from."""
        return copy.deepcopy(dict(self.document))

    @property
    def active(self) -> bool:
        """Whether the profile starts signing jobs."""
        return self.status is ProfileStatus.ACTIVE


@dataclass(frozen=True)
class CodeSigningConfig:
    """A code signing config (GetCodeSigningConfig's ``CodeSigningConfig``), typed; its
    verdict inputs are :attr:`policy`."""

    arn: str
    config_id: str
    allowed: tuple[str, ...]
    untrusted_artifact_on_deployment: Policy
    description: str
    last_modified: str | None = None
    #: The service's document, as it came (the edges print it).
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CodeSigningConfig:
        """From GetCodeSigningConfig's document, or the ``CodeSigningConfig`` in it; the
        policy defaults to ``Warn`` as Lambda's does."""
        what = "code signing config"
        config = document.get("CodeSigningConfig", document)
        publishers = _field(config, "AllowedPublishers", what)
        policies = config.get("CodeSigningPolicies") or {}
        return cls(
            arn=str(_field(config, "CodeSigningConfigArn", what)),
            config_id=str(config.get("CodeSigningConfigId", "")),
            allowed=tuple(_field(publishers, "SigningProfileVersionArns", what)),
            untrusted_artifact_on_deployment=_member(
                Policy,
                policies.get("UntrustedArtifactOnDeployment", DEFAULT_UNTRUSTED_ARTIFACT_POLICY),
                "UntrustedArtifactOnDeployment",
            ),
            description=str(config.get("Description") or ""),
            last_modified=config.get("LastModified"),
            document=copy.deepcopy(dict(document)),
        )

    def to_document(self) -> Document:
        """The document this config was made from."""
        return copy.deepcopy(dict(self.document))

    @property
    def policy(self) -> CscPolicy:
        """The verdict inputs (see :mod:`provider.verdict`)."""
        return CscPolicy(self.allowed, self.untrusted_artifact_on_deployment, self.arn)


@dataclass(frozen=True)
class FunctionConfiguration:
    """GetFunction's configuration (with ``CodeSigningConfigArn``, ``CodeSha256`` and, on
    the local registry, ``CodeSha384``): the fields callers decide on, typed."""

    function_name: str
    function_arn: str
    code_sha256: str | None = None
    code_sha384: str | None = None
    version: str | None = None
    #: The code signing config attached (``None``: none).
    csc_arn: str | None = None
    #: Each layer version's ARN (or, for a layer Lambda names no ARN of, its location).
    layers: tuple[str, ...] = ()
    #: The service's document, as it came (the edges print it).
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> FunctionConfiguration:
        """From GetFunction's configuration document (either backend's)."""
        what = "function"
        return cls(
            function_name=str(_field(document, "FunctionName", what)),
            function_arn=str(_field(document, "FunctionArn", what)),
            code_sha256=document.get("CodeSha256"),
            code_sha384=document.get("CodeSha384"),
            version=document.get("Version"),
            csc_arn=document.get("CodeSigningConfigArn") or None,
            layers=tuple(
                layer.get("Arn") or layer.get("Location") for layer in document.get("Layers", [])
            ),
            document=copy.deepcopy(dict(document)),
        )

    def to_document(self) -> Document:
        """The document this configuration was made from."""
        return copy.deepcopy(dict(self.document))
