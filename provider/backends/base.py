"""The one small interface both backends implement, and the input rules they share.

Method names and returned documents follow the AWS APIs (snake_case methods, the
services' response shapes), so the CLI can print them as the AWS CLI would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from provider import schemas
from provider.archive import BuiltPackage
from provider.arns import Location, check_platform, check_profile_name, check_profile_version
from provider.backends.function_settings import Code, FunctionSettings, LayerSettings
from provider.backends.jobs import JobFilter, Pagination
from provider.backends.values import CodeSigningConfig, SigningJob, SigningProfile
from provider.clock import format_instant
from provider.errors import ValidationError
from provider.validity import ValidityPeriod
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY, ArtifactFacts, CscPolicy, Verdict

Document = dict[str, Any]


def check_reason(reason: str, field: str = "reason") -> str:
    """Revocation reasons are 1 to 500 characters."""
    if not isinstance(reason, str) or not 1 <= len(reason) <= 500:
        length = len(reason) if isinstance(reason, str) else "no"
        raise ValidationError(f"{field}: must be 1 to 500 characters (got {length})", field=field)
    return reason


@dataclass(frozen=True)
class ProfileRequest:
    """A checked PutSigningProfile request (the validity defaults to 135 months)."""

    profile_name: str
    platform_id: str
    validity: ValidityPeriod
    tags: dict[str, str]


def profile_request(
    profile_name: str,
    platform_id: str,
    validity: ValidityPeriod | None,
    tags: Mapping[str, str] | None,
) -> ProfileRequest:
    """The PutSigningProfile inputs both backends accept, checked."""
    return ProfileRequest(
        check_profile_name(profile_name),
        check_platform(platform_id),
        validity or ValidityPeriod.default(),
        dict(tags or {}),
    )


def check_profile_revocation(
    profile_version: str, reason: str, effective_time: datetime, now: datetime
) -> None:
    """RevokeSigningProfile's inputs: a version, a reason, and an instant not in the future."""
    check_profile_version(profile_version)
    check_reason(reason)
    if effective_time > now:
        raise ValidationError(
            f"effectiveTime: {format_instant(effective_time)} is in the future; a "
            "revocation can only take effect from a past instant",
            field="effectiveTime",
        )


def csc_update_request(
    current: Document,
    allowed: Sequence[str] | None,
    policy: str | None,
    description: str | None,
) -> Document:
    """The whole config an UpdateCodeSigningConfig leaves: the ``current`` CodeSigningConfig
    with the given fields replaced, validated as a Create request."""
    return csc_request(
        list(allowed)
        if allowed is not None
        else current["AllowedPublishers"]["SigningProfileVersionArns"],
        policy if policy is not None else policy_of_config(current).policy,
        description if description is not None else current.get("Description", ""),
    )


def csc_request(allowed: Sequence[str], policy: str | None, description: str | None) -> Document:
    """A CreateCodeSigningConfig request document, validated against its schema."""
    document: Document = {"AllowedPublishers": {"SigningProfileVersionArns": list(allowed)}}
    if policy is not None:
        document["CodeSigningPolicies"] = {"UntrustedArtifactOnDeployment": policy}
    if description is not None:
        document["Description"] = description
    schemas.validate(document, "create-code-signing-config-request", what="code signing config")
    if len(set(allowed)) != len(allowed):
        raise ValidationError(
            "code signing config: AllowedPublishers.SigningProfileVersionArns has duplicates"
        )
    return document


def csc_policy(document: Document) -> CscPolicy:
    """The verdict inputs of a CSC given as a Create request or a Get response document."""
    from provider import csc_file  # only --csc-file needs it: start-up time

    if not csc_file.conforms(document):  # the same rules; jsonschema says what is wrong
        schemas.validate(document, "csc-file", what="code signing config document")
    return policy_of_config(document.get("CodeSigningConfig", document))


def policy_of_config(config: Document, arn: str | None = None) -> CscPolicy:
    """The verdict inputs of a CodeSigningConfig object (or a Create request); the policy
    defaults to ``Warn`` as Lambda's does."""
    policies = config.get("CodeSigningPolicies", {})
    policy = policies.get("UntrustedArtifactOnDeployment", DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value)
    return CscPolicy(
        tuple(config["AllowedPublishers"]["SigningProfileVersionArns"]),
        policy,
        arn or config.get("CodeSigningConfigArn"),
    )


class SignerPart(Protocol):
    """AWS Signer's operations, as the local keystore or AWS Signer itself performs them
    (:class:`~provider.backends.local.signer.LocalSigner`,
    :class:`~provider.backends.aws.signer.AwsSigner`)."""

    @property
    def location(self) -> Location:
        """Partition, region and account of this part's ARNs."""

    def put_signing_profile(
        self,
        profile_name: str,
        *,
        platform_id: str,
        validity: ValidityPeriod | None,
        tags: dict[str, str] | None,
        now: datetime,
    ) -> Document:
        """PutSigningProfile; returns ``{arn, profileVersion, profileVersionArn}``."""

    def get_signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> Document:
        """GetSigningProfile."""

    def signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> SigningProfile:
        """GetSigningProfile, as a :class:`SigningProfile`."""

    def list_signing_profiles(self, *, include_canceled: bool = False) -> Document:
        """ListSigningProfiles; returns ``{profiles: [...]}``."""

    def cancel_signing_profile(self, profile_name: str, *, now: datetime) -> None:
        """CancelSigningProfile: the profile starts no new job."""

    def revoke_signing_profile(
        self,
        profile_name: str,
        profile_version: str,
        reason: str,
        effective_time: datetime,
        *,
        now: datetime,
    ) -> None:
        """RevokeSigningProfile: signatures made from ``effective_time`` on are untrusted."""

    def sign_package(
        self,
        source: Path,
        destination: str,
        profile_name: str,
        *,
        profile_owner: str | None = None,
        client_request_token: str | None = None,
        now: datetime,
        prefix: str = "",
    ) -> Document:
        """Start a signing job for a local .zip, wait for it, return DescribeSigningJob.

        ``destination`` is a directory (local) or ``s3://bucket/prefix`` (aws); the signed
        object is named ``prefix + jobId + ".zip"`` in it, and the job's ``signedObject``
        is ``{path}`` (local) or ``{bucketName, key, version}`` (aws). A job that ends
        ``Failed`` is returned, not raised; its ``statusReason`` says why.
        """

    def describe_signing_job(self, job_id: str) -> Document:
        """DescribeSigningJob."""

    def signing_job(self, job_id: str) -> SigningJob:
        """DescribeSigningJob, as a :class:`SigningJob`."""

    def revoke_signature(
        self, job_id: str, reason: str, *, job_owner: str | None = None, now: datetime
    ) -> None:
        """RevokeSignature: that one signature is untrusted from now on."""

    def sign_archive(
        self,
        source: Path,
        destination: str,
        profile_name: str,
        *,
        written: BuiltPackage | None = None,
        profile_owner: str | None = None,
        client_request_token: str | None = None,
        now: datetime,
        prefix: str = "",
    ) -> tuple[SigningJob, bool]:
        """:meth:`sign_package` for a .zip this process built (``sam-ext package``):
        ``written`` holds its bytes and SHA-384 when it has just been written (a backend
        that signs in this process need not read or hash it again). Returns the job and
        whether this call started it: ``False`` when it may be a job found again by its
        client request token, whose signed object the caller should check."""

    def default_signing_destination(self) -> str | None:
        """Where a signing job writes when no destination is given (local: the
        keystore's ``artifacts`` directory); ``None`` when one must be given (aws: an
        S3 location)."""

    # --- seals: local signed objects proven unchanged without re-verifying them ---------
    def seal_signed(
        self, path: Path, facts: dict[str, str], bound_to: str
    ) -> dict[str, Any] | None:
        """A keyed record proving the local signed object ``path`` unchanged later;
        ``None`` when none can be made (too fresh, or a backend that keeps no seals)."""

    def sealed_facts(
        self, path: Path, seal: Any, bound_to: str, *, name: str
    ) -> ArtifactFacts | None:
        """The facts of the local object ``path`` whose ``seal`` still matches it, else
        ``None`` (then it must be verified in full)."""

    def file_facts(self, path: Path, *, name: str) -> ArtifactFacts:
        """The facts of the local signed object ``path``, verified in full (a backend
        that judges no local files refuses it)."""

    # --- Signer: job listings and third-party layers (issue 15) -----------------------
    def list_signing_jobs(self, filters: JobFilter, pages: Pagination) -> Document:
        """ListSigningJobs, paged as the AWS CLI pages it: ``{jobs: [...]}``, plus
        ``NextToken`` (for ``pages.starting_token``) when ``pages.max_items`` cut it short."""


class LambdaPart(Protocol):
    """AWS Lambda's code signing configs, functions and layers, and the verdict Lambda
    would give a package, as the local registry or AWS Lambda performs them
    (:class:`~provider.backends.local.registry.LocalFunctions`, which takes the trust
    records it judges publishers by as an argument;
    :class:`~provider.backends.aws.lambda_functions.AwsFunctions`)."""

    # --- Lambda -----------------------------------------------------------------------
    def create_code_signing_config(
        self,
        allowed: Sequence[str],
        *,
        policy: str | None,
        description: str | None,
        now: datetime,
    ) -> Document:
        """CreateCodeSigningConfig; returns ``{CodeSigningConfig: {...}}``."""

    def get_code_signing_config(self, arn: str) -> Document:
        """GetCodeSigningConfig."""

    def code_signing_config(self, arn: str) -> CodeSigningConfig:
        """GetCodeSigningConfig, as a :class:`CodeSigningConfig`."""

    def update_code_signing_config(
        self,
        arn: str,
        *,
        allowed: Sequence[str] | None,
        policy: str | None,
        description: str | None,
        now: datetime,
    ) -> Document:
        """UpdateCodeSigningConfig (only the given fields change)."""

    def delete_code_signing_config(self, arn: str) -> None:
        """DeleteCodeSigningConfig; refused while a function uses it."""

    def list_code_signing_configs(self) -> Document:
        """ListCodeSigningConfigs."""

    def csc_policy_of(self, arn: str) -> CscPolicy:
        """The verdict inputs of a code signing config (GetCodeSigningConfig)."""

    def evaluate_package(
        self, package: Code, csc: CscPolicy, *, at: datetime, name: str | None = None
    ) -> Verdict:
        """The verdict Lambda would give ``package`` under ``csc`` at ``at``: a local
        .zip (local backend) or a signed S3 object ``s3://bucket/key[?versionId=V]`` (aws);
        each backend refuses the other's kind with a message saying which it takes."""

    def package_facts(self, code: Code, *, name: str | None = None) -> ArtifactFacts:
        """What Lambda's checks would read of ``code`` (a local .zip on local, a signed S3
        object on aws), for :mod:`provider.prediction`; the other kind is refused."""

    def signed_sha256(self, job: SigningJob) -> str | None:
        """The SHA-256 (base64, as Lambda's ``CodeSha256``) of the object ``job`` signed, as
        the job wrote it (local: its file; aws: the S3 object's version it wrote); ``None``
        when it cannot be read. :func:`provider.deployed.facts_of_deployed` compares the
        code a function runs with it."""

    def code_exists(self, code: Code) -> bool:
        """Whether ``code`` is still there (a local file; an S3 object, in the version it
        names): a ``SignedPackage`` whose signed object was deleted out of band is gone."""

    def newest_signature(self, destination: str, prefix: str) -> tuple[Code, ArtifactFacts] | None:
        """The newest signed object a signing job wrote into ``destination`` (a directory on
        local, ``s3://bucket/prefix`` on aws) named ``prefix + jobId + ".zip"``, as a
        function deploys it (aws: pinned to the version the job wrote), and what Lambda's
        checks would read of it (its job's expiry and revocation, its profile's revocation);
        ``None`` when there is none. A ``SignedPackage`` finds its current signature so."""

    # --- Lambda functions and layers ---------------------------------------------------
    def check_deployable(
        self,
        code: Code | None,
        settings: FunctionSettings | None = None,
        *,
        pending: frozenset[str] = frozenset(),
        field: str = "code",
    ) -> Code | None:
        """What this backend needs before a deploy, checked without calling it: the kind of
        code it deploys (local: a .zip path; aws: an S3 object), and on aws a function's
        execution role unless its name is in ``pending`` (not known yet). Returns ``code``
        as the backend deploys it; raises a :class:`ValidationError` naming ``field``."""

    def deployed_code(self, function: Document, code: Code | None) -> Code | None:
        """The code ``function`` (a GetFunction document) runs, deployed from ``code``, as
        :meth:`package_facts` reads it: local, the registry's own copy; aws, ``code``
        itself (Lambda keeps no pointer to the source object; refresh's
        :meth:`function_drift` checks that it is still what runs)."""

    def layer_version_code(self, layer_version_arn: str) -> Code | None:
        """A published layer version's content as :meth:`package_facts` reads it: local,
        the registry's copy; aws, ``None`` (Lambda does not say which object a version
        was published from: the program's own ``LayerVersion`` says it)."""

    def get_layer_version(self, layer_version_arn: str) -> Document:
        """GetLayerVersionByArn."""

    def create_function(
        self,
        name: str,
        code: Code,
        *,
        csc_arn: str | None = None,
        layers: Sequence[str] = (),
        now: datetime,
        settings: FunctionSettings | None = None,
    ) -> Document:
        """CreateFunction with the code signing config attached in the same call; the code
        and every layer are checked under it, and a rejection creates nothing. ``code`` is
        a local .zip (local) or a signed S3 object (aws). Returns GetFunction's document."""

    def update_function_code(
        self,
        name: str,
        code: Code,
        *,
        now: datetime,
        publish: bool = False,
        architectures: Sequence[str] | None = None,
    ) -> Document:
        """UpdateFunctionCode, checked under the function's code signing config; a
        rejection changes nothing."""

    def update_function_configuration(
        self,
        name: str,
        *,
        layers: Sequence[str] | None = None,
        now: datetime,
        settings: FunctionSettings | None = None,
    ) -> Document:
        """UpdateFunctionConfiguration: the given settings and layers (``None``: unchanged);
        new layers are checked under the function's code signing config. ``tags`` replace
        the function's tags; ``architectures`` change with the code only."""

    def put_function_code_signing_config(self, name: str, csc_arn: str) -> Document:
        """PutFunctionCodeSigningConfig: governs the function's next deployments only."""

    def get_function_code_signing_config(self, name: str) -> Document:
        """GetFunctionCodeSigningConfig (``CodeSigningConfigArn`` is ``""`` when none)."""

    def delete_function_code_signing_config(self, name: str) -> None:
        """DeleteFunctionCodeSigningConfig."""

    def get_function(self, name: str) -> Document:
        """GetFunction's configuration with ``CodeSigningConfigArn`` (when attached),
        ``CodeSha256`` and ``Tags``."""

    def delete_function(self, name: str) -> None:
        """DeleteFunction."""

    def function_drift(
        self,
        name: str,
        *,
        csc_arn: str | None,
        code: Code | None,
        settings: FunctionSettings | None = None,
        at: datetime | None = None,
    ) -> list[str]:
        """What refresh reads back and finds changed out of band: the code signing config
        detached or replaced, code that is not ``code``'s, settings, and with ``at``, a
        signature of ``code`` expired or revoked since (see
        :func:`provider.backends.function_settings.drift`)."""

    def publish_layer_version(
        self,
        layer_name: str,
        content: Code,
        *,
        now: datetime,
        settings: LayerSettings | None = None,
    ) -> Document:
        """PublishLayerVersion. Layers have no code signing config of their own: they are
        checked on each function with one that uses them."""

    def delete_layer_version(self, layer_version_arn: str) -> None:
        """DeleteLayerVersion (functions using it keep their copy; deleting one already
        gone succeeds, as on Lambda)."""


class Backend(SignerPart, LambdaPart, Protocol):
    """A Signer part and a Lambda part over one account (the local keystore, or AWS)."""

    def adopt_layer(
        self,
        source: str,
        profile_name: str,
        *,
        layer_name: str | None,
        now: datetime,
        destination: str | None = None,
    ) -> Document:
        """Sign a third-party layer unchanged and publish it as this account's layer
        version: ``source`` is a layer version ARN (aws, signed through ``destination``,
        ``s3://bucket[/prefix]``) or a .zip path (local). Returns the ``layer-adoption``
        document: the new ARN and the content's SHA-256 before and after."""
