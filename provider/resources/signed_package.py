"""``SignedPackage``: code signed by a signing job, re-signed only when the source changes."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from provider.archive import package_bytes
from provider.errors import CodesignError, SigningJobFailed
from provider.resources._base import (
    CodesignProvider,
    backend_of,
    check_inputs,
    checked,
    is_unknown,
    local_only,
    now_of,
    reported,
    settings_input,
)

#: A change to any of these means a new signing job and a new signed object.
_REPLACING = ("source_hash", "profile_name", "profile_owner", "destination")


@dataclass
class SignedPackageArgs:
    """Inputs of :class:`SignedPackage`."""

    #: A directory (zipped deterministically) or a .zip file.
    source: pulumi.Input[str]
    #: The signing profile to sign with (``SigningProfile.profile_name``).
    profile_name: pulumi.Input[str]
    #: 12-digit account that owns the profile, for cross-account signing.
    profile_owner: pulumi.Input[str] | None = None
    #: Where the signed object is written (local backend); default ``HOME/artifacts``.
    destination: pulumi.Input[str] | None = None
    #: Revoke this signature (irreversible): ``{"reason": "..."}``.
    signature_revocation: pulumi.Input[dict[str, str]] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _absolute(path: str) -> str:
    """Paths are made absolute in the program: the provider host runs elsewhere."""
    return str(Path(path).expanduser().resolve())


def _source_hash(source: str) -> str:
    return hashlib.sha384(package_bytes(Path(source))).hexdigest()


class SignedPackageProvider(CodesignProvider):
    """Lifecycle: the source is hashed in ``check``; an unchanged hash means no diff and
    no new job (unlike ``sam package``); a changed one replaces the package."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, hash the source, and predict the signer."""
        inputs = dict(news)
        failures = check_inputs(inputs, "resource-signed-package", "SignedPackage") + local_only(
            inputs, "SignedPackage"
        )
        if failures:
            return CheckResult(inputs, failures)
        if not is_unknown(inputs.get("source")):
            try:
                inputs["source_hash"] = _source_hash(inputs["source"])
            except CodesignError as exc:
                return CheckResult(
                    inputs, [CheckFailure("source", f"SignedPackage input source: {exc.message}")]
                )
        if (
            olds.get("signature_revocation")
            and not inputs.get("signature_revocation")
            and not any(olds.get(k) != inputs.get(k) for k in _REPLACING)
        ):
            failures.append(
                CheckFailure(
                    "signature_revocation",
                    "SignedPackage input signature_revocation: the signature was revoked, and "
                    "that is irreversible; keep the input, or change the source to sign anew",
                )
            )
        name = str(inputs.get("profile_name"))
        if not is_unknown(name) and not is_unknown(inputs.get("settings")):
            profile = checked(
                lambda: backend_of(inputs).get_signing_profile(
                    name, profile_owner=inputs.get("profile_owner")
                ),
                "profile_name",
            )
            needs_job = not olds or any(olds.get(k) != inputs.get(k) for k in _REPLACING)
            if isinstance(profile, dict):
                inputs["profile_version_arn"] = profile["profileVersionArn"]
                if needs_job and profile["status"] != "Active":
                    failures.append(
                        CheckFailure(
                            "profile_name",
                            f"SignedPackage input profile_name: profile {name!r} is "
                            f"{profile['status']}; canceled or revoked profiles start no "
                            "signing job",
                        )
                    )
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace when the source or the signer changes; revocation updates in place."""
        replaces = [k for k in _REPLACING if olds.get(k) != news.get(k)]
        changes = bool(replaces) or olds.get("signature_revocation") != news.get(
            "signature_revocation"
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Start a signing job (idempotent per source hash and signer) and wait for it."""
        with reported():
            backend = backend_of(props)
            destination = props.get("destination") or str(backend.store.home / "artifacts")
            unsigned = package_bytes(Path(props["source"]))
            source_hash = hashlib.sha384(unsigned).hexdigest()
            token = hashlib.sha256(
                f"{source_hash}:{props['profile_name']}:{props.get('profile_owner')}:"
                f"{destination}".encode()
            ).hexdigest()
            with tempfile.TemporaryDirectory(prefix="codesign-") as scratch:
                source = Path(scratch) / "package.zip"
                source.write_bytes(unsigned)
                job = backend.sign_package(
                    source,
                    destination,
                    props["profile_name"],
                    profile_owner=props.get("profile_owner"),
                    client_request_token=token,
                    now=now_of(props),
                    prefix="signed_",
                )
            if job["status"] != "Succeeded":
                raise SigningJobFailed(
                    f"signing job {job['jobId']} for {props['source']} failed: "
                    f"{job.get('statusReason')}",
                    job_id=job["jobId"],
                )
            if props.get("signature_revocation"):
                backend.revoke_signature(
                    job["jobId"], props["signature_revocation"]["reason"], now=now_of(props)
                )
                job = backend.describe_signing_job(job["jobId"])
        outs = {**props, "source_hash": source_hash, **_outputs(job, backend)}
        return CreateResult(job["jobId"], outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """RevokeSignature (the only in-place change)."""
        with reported():
            backend = backend_of(news)
            job = backend.describe_signing_job(id_)
            if news.get("signature_revocation") and "revocationRecord" not in job:
                backend.revoke_signature(
                    id_, news["signature_revocation"]["reason"], now=now_of(news)
                )
                job = backend.describe_signing_job(id_)
        return UpdateResult({**olds, **news, **_outputs(job, backend)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """DescribeSigningJob: refresh picks up revocations made outside Pulumi."""
        with reported():
            backend = backend_of(props)
            job = backend.describe_signing_job(id_)
        return ReadResult(id_, {**props, **_outputs(job, backend)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: a signing job cannot be deleted, and its signed object stays
        (as on AWS, where it stays in S3)."""


def _outputs(job: dict[str, Any], backend: Any) -> dict[str, Any]:
    location = job["signedObject"]["path"]
    digest = (
        hashlib.sha384(Path(location).read_bytes()).hexdigest()
        if Path(location).is_file()
        else None
    )
    return {
        "job_id": job["jobId"],
        "location": location,
        "bucket": None,
        "key": None,
        "object_version": None,
        "profile_version_arn": backend.location.profile_version_arn(
            job["profileName"], job["profileVersion"]
        ),
        "signed_at": job["createdAt"],
        "signature_expires_at": job["signatureExpiresAt"],
        "digest": digest,
        "revoked": "revocationRecord" in job,
    }


class SignedPackage(Resource, module="codesign", name="SignedPackage"):
    """A code package signed by a signing job.

    Outputs: ``location`` (local backend) or ``bucket``/``key``/``object_version`` (aws),
    ``job_id``, ``profile_version_arn``, ``signature_expires_at``, ``digest`` (SHA-384 of
    the signed object), ``source_hash``. Deploy ``location`` with :class:`LambdaFunction`,
    or the S3 object with ``pulumi_aws.lambda_.Function(code_signing_config_arn=...)``.
    """

    source_hash: pulumi.Output[str]
    job_id: pulumi.Output[str]
    location: pulumi.Output[str]
    bucket: pulumi.Output[str | None]
    key: pulumi.Output[str | None]
    object_version: pulumi.Output[str | None]
    profile_version_arn: pulumi.Output[str]
    signed_at: pulumi.Output[str]
    signature_expires_at: pulumi.Output[str]
    digest: pulumi.Output[str]
    revoked: pulumi.Output[bool]

    def __init__(
        self, name: str, args: SignedPackageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "source": pulumi.Output.from_input(args.source).apply(_absolute),
            "profile_name": args.profile_name,
            "profile_owner": args.profile_owner,
            "destination": pulumi.Output.from_input(args.destination).apply(
                lambda d: _absolute(d) if d else None
            ),
            "signature_revocation": args.signature_revocation,
            "settings": settings_input(args.backend, args.home, args.region),
            **{
                key: None
                for key in (
                    "source_hash",
                    "job_id",
                    "location",
                    "bucket",
                    "key",
                    "object_version",
                    "profile_version_arn",
                    "signed_at",
                    "signature_expires_at",
                    "digest",
                    "revoked",
                )
            },
        }
        super().__init__(SignedPackageProvider(), name, props, opts)
