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
from provider.arns import Location
from provider.backends.base import Backend
from provider.backends.local import LocalBackend
from provider.errors import CodesignError, SigningJobFailed, ValidationError
from provider.objects import parse_destination
from provider.resources._base import (
    CodesignProvider,
    backend_of,
    check_inputs,
    checked,
    is_unknown,
    now_of,
    on_aws,
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
    #: Where the signed object is written: a directory (local backend; default
    #: ``HOME/artifacts``) or ``s3://BUCKET/PREFIX`` (aws backend, a versioned bucket;
    #: default ``s3://BUCKET/signed/`` with stack config ``codesign:bucket``).
    destination: pulumi.Input[str] | None = None
    #: Revoke this signature (irreversible): ``{"reason": "..."}``.
    signature_revocation: pulumi.Input[dict[str, str]] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _absolute(path: str) -> str:
    """Paths are made absolute in the program: the provider host runs elsewhere."""
    return str(Path(path).expanduser().resolve())


def _destination_input(destination: str | None, backend: str, bucket: str | None) -> str | None:
    """The ``destination`` input (program side): an ``s3://`` location as given, a
    directory made absolute, or on aws with none given ``s3://BUCKET/signed/`` from stack
    config ``codesign:bucket``."""
    if destination:
        return destination if destination.startswith("s3:") else _absolute(destination)
    if backend == "aws" and bucket:
        return f"s3://{bucket}/signed/"
    return None


def _destination_failures(inputs: dict[str, Any]) -> list[CheckFailure]:
    """An S3 destination on aws, a directory on local, each said with the way to fix it."""
    destination = inputs.get("destination")
    if is_unknown(destination) or is_unknown(inputs.get("settings")):
        return []
    remote = isinstance(destination, str) and destination.startswith("s3:")
    if not on_aws(inputs):
        if remote:
            return [
                CheckFailure(
                    "destination",
                    f"SignedPackage input destination: {destination!r} is an S3 location, "
                    "which needs codesign:backend aws; the local backend writes to a directory",
                )
            ]
        return []
    if not remote:
        given = f"{destination!r} is not" if destination else "the aws backend needs"
        return [
            CheckFailure(
                "destination",
                f"SignedPackage input destination: {given} an S3 location s3://BUCKET/PREFIX "
                "(a versioned bucket); set destination, or stack config codesign:bucket "
                "(then s3://BUCKET/signed/ is used)",
            )
        ]
    try:
        parse_destination(str(destination))
    except CodesignError as exc:
        return [CheckFailure("destination", f"SignedPackage input {exc.message}")]
    return []


def _signing_destination(props: dict[str, Any], backend: Backend) -> str:
    """Where the job writes: the input, else the local keystore's ``artifacts``."""
    destination = props.get("destination")
    if destination:
        return str(destination)
    if isinstance(backend, LocalBackend):
        return str(backend.store.home / "artifacts")
    raise ValidationError(
        "destination: the aws backend needs s3://BUCKET/PREFIX (or stack config codesign:bucket)"
    )


def _source_hash(source: str) -> str:
    return hashlib.sha384(package_bytes(Path(source))).hexdigest()


class SignedPackageProvider(CodesignProvider):
    """Lifecycle: the source is hashed in ``check``; an unchanged hash means no diff and
    no new job (unlike ``sam package``); a changed one replaces the package."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, hash the source, and predict the signer."""
        inputs = dict(news)
        failures = check_inputs(
            inputs, "resource-signed-package", "SignedPackage"
        ) + _destination_failures(inputs)
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
            destination = _signing_destination(props, backend)
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
                # Described anew for the revocation; the signed object (with the S3
                # version DescribeSigningJob lacks) is the one just written.
                job = {
                    **backend.describe_signing_job(job["jobId"]),
                    "signedObject": job["signedObject"],
                }
        outs = {**props, "source_hash": source_hash, **_outputs(job, backend, props)}
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
        return UpdateResult({**olds, **news, **_outputs(job, backend, olds)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """DescribeSigningJob: refresh picks up revocations made outside Pulumi."""
        with reported():
            backend = backend_of(props)
            job = backend.describe_signing_job(id_)
        return ReadResult(id_, {**props, **_outputs(job, backend, props)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: a signing job cannot be deleted, and its signed object stays
        (as on AWS, where it stays in S3)."""


def _outputs(job: dict[str, Any], backend: Backend, previous: dict[str, Any]) -> dict[str, Any]:
    """The outputs a signing job gives. ``digest`` (SHA-384) is computed only for a local
    signed object; for an S3 one it is ``None`` (reading it back would mean downloading it:
    ``object_version`` identifies those bytes instead). DescribeSigningJob does not return
    the S3 version, so a refresh keeps the one recorded at create."""
    signed = job["signedObject"]
    if "path" in signed:
        location = str(signed["path"])
        path = Path(location)
        digest = hashlib.sha384(path.read_bytes()).hexdigest() if path.is_file() else None
        bucket = key = version = None
    else:
        bucket, key = signed["bucketName"], signed["key"]
        location = f"s3://{bucket}/{key}"
        same = (previous.get("bucket"), previous.get("key")) == (bucket, key)
        version = signed.get("version") or (previous.get("object_version") if same else None)
        digest = None
    where = backend.location
    signer = Location(where.region, job.get("jobOwner") or where.account, where.partition)
    return {
        "job_id": job["jobId"],
        "location": location,
        "bucket": bucket,
        "key": key,
        "object_version": version,
        "profile_version_arn": signer.profile_version_arn(
            job["profileName"], job["profileVersion"]
        ),
        "signed_at": job["createdAt"],
        "signature_expires_at": job["signatureExpiresAt"],
        "digest": digest,
        "revoked": "revocationRecord" in job,
    }


class SignedPackage(Resource, module="codesign", name="SignedPackage"):
    """A code package signed by a signing job.

    Outputs: ``location`` (the signed file's path, or ``s3://bucket/key`` on aws),
    ``bucket``/``key``/``object_version`` (aws; ``None`` on local), ``job_id``,
    ``profile_version_arn``, ``signature_expires_at``, ``digest`` (SHA-384 of a local
    signed object; ``None`` on aws), ``source_hash``. Deploy ``location`` with
    :class:`LambdaFunction` (local), or the S3 object with
    ``pulumi_aws.lambda_.Function(s3_bucket=..., s3_key=..., s3_object_version=...,
    code_signing_config_arn=...)`` (aws, where Lambda itself verifies it).
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
    digest: pulumi.Output[str | None]
    revoked: pulumi.Output[bool]

    def __init__(
        self, name: str, args: SignedPackageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        settings = settings_input(args.backend, args.home, args.region)
        bucket = pulumi.Config("codesign").get("bucket")
        props = {
            "source": pulumi.Output.from_input(args.source).apply(_absolute),
            "profile_name": args.profile_name,
            "profile_owner": args.profile_owner,
            "destination": pulumi.Output.from_input(args.destination).apply(
                lambda d: _destination_input(d, settings["backend"], bucket)
            ),
            "signature_revocation": args.signature_revocation,
            "settings": settings,
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
