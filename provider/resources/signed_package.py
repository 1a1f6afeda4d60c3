"""``SignedPackage``: code signed by a signing job, re-signed only when the source changes."""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

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

from provider.archive import package_bytes, source_hash
from provider.arns import Location
from provider.backends import values
from provider.backends.base import Backend
from provider.backends.function_settings import Code
from provider.backends.values import SigningJob
from provider.clock import format_instant
from provider.errors import CodesignError, NotFoundError, SigningJobFailed, ValidationError
from provider.objects import S3Object, parse_destination
from provider.resources._base import (
    CodesignProvider,
    backend_of,
    check_inputs,
    checked,
    gone,
    is_unknown,
    name_seed,
    now_of,
    on_aws,
    reported,
    settings_input,
)
from provider.resources.origins import mark, traced
from provider.resources.report import finding, watch
from provider.resources.signing_profile import SigningProfile
from provider.verdict import ArtifactFacts, Reason, revocation_rule

#: A change to any of these means a new signing job and a new signed object.
_REPLACING = ("source_hash", "profile_name", "profile_owner", "destination", "signing_generation")
_DURATION = re.compile(r"^([1-9][0-9]{0,4})([dhw])$")
_UNITS = {"d": "days", "h": "hours", "w": "weeks"}


@dataclass
class SignedPackageArgs:
    """Inputs of :class:`SignedPackage`."""

    #: A directory (zipped deterministically) or a .zip file.
    source: pulumi.Input[str]
    #: The signing profile to sign with: a :class:`SigningProfile` (then previews know the
    #: signer before it exists) or a profile name.
    profile_name: SigningProfile | pulumi.Input[str]
    #: 12-digit account that owns the profile, for cross-account signing.
    profile_owner: pulumi.Input[str] | None = None
    #: Where the signed object is written: a directory (local backend; default
    #: ``HOME/artifacts``) or ``s3://BUCKET/PREFIX`` (aws backend, a versioned bucket;
    #: default ``s3://BUCKET/signed/`` with stack config ``codesign:bucket``).
    destination: pulumi.Input[str] | None = None
    #: Revoke this signature (irreversible): ``{"reason": "..."}``.
    signature_revocation: pulumi.Input[dict[str, str]] | None = None
    #: Sign again when the signature expires within this duration at the time of an up
    #: (``30d``, ``12h``, ``2w``); the functions deployed from the package are updated.
    renew_before: pulumi.Input[str] | None = None
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
    default = backend.default_signing_destination()
    if default is not None:
        return default
    raise ValidationError(
        "destination: the aws backend needs s3://BUCKET/PREFIX (or stack config codesign:bucket)"
    )


def _source_hash(source: str) -> str:
    # The source's content, not the zip's bytes: another compressor (ISA-L or zlib) or
    # machine must not make unchanged code a diff.
    return source_hash(Path(source))


def renew_window(value: Any) -> timedelta | None:
    """``renew_before`` (``30d``, ``12h``, ``2w``) as a duration; ``None`` when unset.

    Raises :class:`ValidationError` naming the input (``field``) for anything else."""
    if value is None or is_unknown(value):
        return None
    match = _DURATION.match(str(value))
    if match is None:
        raise ValidationError(
            f"renew_before: {value!r} is not a duration such as 30d, 12h or 2w (a number, "
            "then d for days, h for hours or w for weeks)",
            field="renew_before",
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _request_prefix(inputs: dict[str, Any]) -> str:
    """The signed objects' name prefix: one per package resource (from its URN and stack),
    ``signed_<seed>_``, so that ``check`` finds the package's current signature among
    them (on aws the names still start ``signed_``, as ``sam package`` names them)."""
    seed = str(inputs.get("name_seed") or "")
    return f"signed_{seed[:12]}_" if seed else "signed_"


def _current_signature(
    inputs: dict[str, Any], backend: Backend
) -> tuple[Code, ArtifactFacts] | None:
    """The newest signed object this package made, as functions deploy it, and its facts
    (the backend reads them: local, the signed objects' envelopes; aws, the job and the
    profile); ``None`` when none is found."""
    if not inputs.get("name_seed"):
        return None
    return backend.newest_signature(_signing_destination(inputs, backend), _request_prefix(inputs))


def _locations(code: Code) -> dict[str, str]:
    """The ``location`` and ``deploy_location`` outputs of a signed object: the path, or
    ``s3://bucket/key`` and its pinned version."""
    if isinstance(code, S3Object):
        return {"location": S3Object(code.bucket, code.key).uri, "deploy_location": code.uri}
    return {"location": str(code), "deploy_location": str(code)}


def _resign_reason(facts: ArtifactFacts, now: datetime, window: timedelta | None) -> str | None:
    """Why the current signature needs replacing, if it does."""
    revoked = revocation_rule(facts).failure
    if revoked is not None and revoked.reason is Reason.SIGNATURE_REVOKED:
        return f"its signature (job {facts.job_id}) was revoked: {facts.signature_revoked_reason}"
    if revoked is not None and facts.profile_revoked_from is not None:
        return (
            f"the revocation of profile version {facts.profile_version_arn} (signatures from "
            f"{format_instant(facts.profile_revoked_from)}) covers its signature"
        )
    # Expiry alone re-signs only with renew_before: otherwise the deployed code's standing
    # says so, and `pulumi up --replace` is the user's call.
    if window is not None and facts.expires_at is not None and facts.expires_at - now <= window:
        when = "expired" if now >= facts.expires_at else "expires"
        return (
            f"its signature {when} at {format_instant(facts.expires_at)}, within "
            f"renew_before {format_window(window)}"
        )
    return None


def _window_findings(
    profile: values.SigningProfile, window: timedelta, now: datetime
) -> list[dict[str, str]]:
    """A warning when ``renew_before`` is not shorter than the profile's validity: every
    signature would be due again at once, so every up would sign again."""
    validity = profile.validity
    if validity.expiry_from(now) - now > window:
        return []
    return [
        finding(
            "warning",
            f"code signing: renew_before {format_window(window)} is not shorter than profile "
            f"{profile.profile_name!r}'s signature validity "
            f"({validity.value} {validity.type.lower()}): every up would sign again; "
            "use a shorter renew_before",
        )
    ]


def format_window(window: timedelta) -> str:
    """A duration as ``renew_before`` spells it."""
    if window % timedelta(weeks=1) == timedelta(0):
        return f"{window // timedelta(weeks=1)}w"
    if window % timedelta(days=1) == timedelta(0):
        return f"{window.days}d"
    return f"{window // timedelta(hours=1)}h"


class SignedPackageProvider(CodesignProvider):
    """Lifecycle: the source is hashed in ``check``; an unchanged hash means no diff and
    no new job (unlike ``sam package``); a changed one replaces the package. So does a
    signature that must be made again (revoked, expired, or within ``renew_before``):
    ``check`` bumps ``signing_generation`` and says why in ``findings``."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, hash the source, look up the signer, and decide whether to sign again."""
        inputs = dict(news)
        failures = check_inputs(
            inputs, "resource-signed-package", "SignedPackage"
        ) + _destination_failures(inputs)
        try:
            window = renew_window(inputs.get("renew_before"))
        except ValidationError as exc:
            failures.append(CheckFailure("renew_before", f"SignedPackage input {exc.message}"))
        if failures:
            return CheckResult(inputs, failures)
        inputs["findings"] = []
        inputs["signing_generation"] = int(olds.get("signing_generation") or 0) if olds else 0
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
        name = inputs.get("profile_name")
        if is_unknown(name) or is_unknown(inputs.get("settings")):
            return CheckResult(inputs, failures)
        backend = backend_of(inputs)
        profile = checked(
            lambda: backend.signing_profile(str(name), profile_owner=inputs.get("profile_owner")),
            "profile_name",
        )
        known = profile if isinstance(profile, values.SigningProfile) else None
        active = known is not None and known.active
        if known is not None:
            inputs["profile_version_arn"] = known.profile_version_arn
        if known is not None and window is not None:
            inputs["findings"] += _window_findings(known, window, now_of(inputs))
        needs_job = not olds or any(olds.get(k) != inputs.get(k) for k in _REPLACING)
        # Judged with or without olds: the engine checks a replacement again without them
        # (for new auto-names), and that check's inputs are what the preview shows.
        current = (
            checked(lambda: _current_signature(inputs, backend), "destination")
            if not olds or not needs_job
            else None
        )
        if isinstance(current, tuple) and not inputs.get("signature_revocation"):
            reason = _resign_reason(current[1], now_of(inputs), window)
            if reason and active:
                if olds:
                    inputs["signing_generation"] += 1  # a new generation: a replacement
                needs_job = True
                inputs["findings"].append(
                    finding(
                        "info",
                        f"code signing: package {inputs['source']} is signed again in this "
                        f"update ({reason}); the functions and layers deployed from it are updated",
                    )
                )
            elif reason and olds:
                status = known.status if known is not None else "unknown"
                inputs["findings"].append(
                    finding(
                        "warning",
                        f"code signing: package {inputs['source']} needs a new signature "
                        f"({reason}), but profile {name!r} is {status} and can sign no more; "
                        "to fix: create a new SigningProfile (a new profile version), add it to "
                        "the CodeSigningConfig's allowed_publishers, and sign the package with it",
                    )
                )
        if isinstance(current, tuple) and olds and not needs_job:
            # Known to previews of an in-place update too (its outputs are these inputs):
            # functions deployed from it then see the object they run, not an unknown.
            inputs.update(_locations(current[0]))
        if needs_job and known is not None and not active:
            inputs["findings"].append(
                finding(
                    "error",
                    f"code signing: package {inputs.get('source')} cannot be signed: "
                    f"profile {name!r} is {known.status}, and canceled or revoked profiles "
                    "start no signing job; to fix: sign with an active SigningProfile that the "
                    "CodeSigningConfig lists",
                )
            )
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace when the source, the signer or the signing generation changes; a
        revocation updates in place."""
        replaces = [k for k in _REPLACING if olds.get(k) != news.get(k)]
        # New findings alone are no change: an update step would make the package's
        # outputs (its location) unknown to the preview of every function using it. The
        # functions' own standing says what their deployed code meets, and the fix.
        changes = bool(replaces) or olds.get("signature_revocation") != news.get(
            "signature_revocation"
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Start a new signing job and wait for it."""
        with reported():
            backend = backend_of(props)
            destination = _signing_destination(props, backend)
            unsigned = package_bytes(Path(props["source"]))
            content_hash = _source_hash(props["source"])
            # One job per create: a retry inside this call reuses it, while a replacement
            # (a new generation, or `pulumi up --replace`) always makes a new signature.
            token = hashlib.sha256(
                f"{content_hash}:{props['profile_name']}:{props.get('profile_owner')}:"
                f"{destination}:{uuid.uuid4()}".encode()
            ).hexdigest()
            with tempfile.TemporaryDirectory(prefix="codesign-") as scratch:
                source = Path(scratch) / "package.zip"
                source.write_bytes(unsigned)
                job = SigningJob.from_document(
                    backend.sign_package(
                        source,
                        destination,
                        props["profile_name"],
                        profile_owner=props.get("profile_owner"),
                        client_request_token=token,
                        now=now_of(props),
                        prefix=_request_prefix(props),
                    )
                )
            if not job.succeeded:
                raise SigningJobFailed(
                    f"signing job {job.job_id} for {props['source']} failed: {job.status_reason}",
                    job_id=job.job_id,
                )
            if props.get("signature_revocation"):
                backend.revoke_signature(
                    job.job_id, props["signature_revocation"]["reason"], now=now_of(props)
                )
                # Described anew for the revocation; the signed object (with the S3
                # version DescribeSigningJob lacks) is the one just written.
                described = backend.signing_job(job.job_id)
                job = replace(described, signed_object=job.signed_object)
        outs = {
            **props,
            "source_hash": content_hash,
            **_outputs(job, backend, props),
            "findings": [],
        }  # what check said led to this signature
        return CreateResult(job.job_id, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """RevokeSignature (the only in-place change)."""
        with reported():
            backend = backend_of(news)
            job = backend.signing_job(id_)
            if news.get("signature_revocation") and not job.revoked:
                backend.revoke_signature(
                    id_, news["signature_revocation"]["reason"], now=now_of(news)
                )
                job = backend.signing_job(id_)
        return UpdateResult({**olds, **news, **_outputs(job, backend, olds)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """DescribeSigningJob: refresh picks up revocations made outside Pulumi. A package
        whose job or signed object is gone (deleted out of band) is dropped from state:
        the next ``pulumi up`` signs it again, and updates what is deployed from it."""
        with reported():
            backend = backend_of(props)
            try:
                job = backend.signing_job(id_)
            except NotFoundError:
                return gone()
            outs = _outputs(job, backend, props)
            signed = str(outs["deploy_location"])
            if not backend.code_exists(
                S3Object.parse(signed) if signed.startswith("s3:/") else Path(signed)
            ):
                return gone()
        return ReadResult(id_, {**props, **outs})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: a signing job cannot be deleted, and its signed object stays
        (as on AWS, where it stays in S3)."""


class SignedPackageOutputs(TypedDict):
    """What a signing job gives a :class:`SignedPackage` (see :func:`_outputs`)."""

    job_id: str
    location: str
    deploy_location: str
    bucket: str | None
    key: str | None
    object_version: str | None
    profile_version_arn: str
    signed_at: str
    signature_expires_at: str | None
    digest: str | None
    revoked: bool


class SignedPackageComputed(SignedPackageOutputs):
    """Every property of a :class:`SignedPackage`'s state its provider computes: the job's
    outputs, and what its ``check`` and ``create`` add."""

    source_hash: str
    signing_generation: int | None
    findings: list[dict[str, str]]


#: The computed properties (unknown when a resource is declared).
_COMPUTED = tuple(SignedPackageComputed.__annotations__)


def _outputs(job: SigningJob, backend: Backend, previous: dict[str, Any]) -> SignedPackageOutputs:
    """The outputs a signing job gives. ``digest`` (SHA-384) is computed only for a local
    signed object; for an S3 one it is ``None`` (reading it back would mean downloading it:
    ``object_version`` identifies those bytes instead). DescribeSigningJob does not return
    the S3 version, so a refresh keeps the one recorded at create."""
    signed = job.signed_object
    if signed is None or (signed.path is None and signed.s3 is None):
        raise SigningJobFailed(f"signing job {job.job_id}: no signed object", job_id=job.job_id)
    bucket = key = version = digest = None
    if signed.path is not None:
        location = signed.path
        path = Path(location)
        digest = hashlib.sha384(path.read_bytes()).hexdigest() if path.is_file() else None
    elif signed.s3 is not None:
        bucket, key = signed.s3.bucket, signed.s3.key
        location = f"s3://{bucket}/{key}"
        same = (previous.get("bucket"), previous.get("key")) == (bucket, key)
        version = signed.s3.version or (previous.get("object_version") if same else None)
    where = backend.location
    signer = Location(where.region, job.job_owner or where.account, where.partition)
    return {
        "job_id": job.job_id,
        "location": location,
        # What functions and layers deploy: on aws the object's version, pinned.
        "deploy_location": S3Object(bucket, key, version).uri if bucket and key else location,
        "bucket": bucket,
        "key": key,
        "object_version": version,
        "profile_version_arn": signer.profile_version_arn(
            job.profile_name, job.profile_version or ""
        ),
        "signed_at": job.created_at,
        "signature_expires_at": job.signature_expires_at,
        "digest": digest,
        "revoked": job.revoked,
    }


class SignedPackage(Resource, module="codesign", name="SignedPackage"):
    """A code package signed by a signing job.

    Outputs: ``location`` (the signed file's path, or ``s3://bucket/key`` on aws),
    ``deploy_location`` (what a :class:`LambdaFunction` or ``LayerVersion`` given this
    package deploys: the path, or ``s3://bucket/key?versionId=V`` on aws),
    ``bucket``/``key``/``object_version`` (aws; ``None`` on local), ``job_id``,
    ``profile_version_arn``, ``signature_expires_at``, ``digest`` (SHA-384 of a local
    signed object; ``None`` on aws), ``source_hash``, ``signing_generation`` (how many times
    an unchanged source was signed again), ``findings`` (what a preview reports). Give
    the package itself to :class:`LambdaFunction` or ``LayerVersion`` (on both backends),
    or its S3 object to ``pulumi_aws.lambda_.Function(s3_bucket=..., s3_key=...,
    s3_object_version=..., code_signing_config_arn=...)``.
    """

    source_hash: pulumi.Output[str]
    job_id: pulumi.Output[str]
    location: pulumi.Output[str]
    deploy_location: pulumi.Output[str]
    bucket: pulumi.Output[str | None]
    key: pulumi.Output[str | None]
    object_version: pulumi.Output[str | None]
    profile_name: pulumi.Output[str]
    profile_version_arn: pulumi.Output[str]
    signed_at: pulumi.Output[str]
    signature_expires_at: pulumi.Output[str]
    digest: pulumi.Output[str | None]
    revoked: pulumi.Output[bool]
    signer_ref: pulumi.Output[str | None]
    findings: pulumi.Output[list[dict[str, str]]]

    def __init__(
        self, name: str, args: SignedPackageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        settings = settings_input(args.backend, args.home, args.region)
        bucket = pulumi.Config("codesign").get("bucket")
        profile = args.profile_name
        profile = traced(profile, SigningProfile, ("profile_name",)) or profile
        props = {
            "source": pulumi.Output.from_input(args.source).apply(_absolute),
            "profile_name": profile.profile_name
            if isinstance(profile, SigningProfile)
            else profile,
            "signer_ref": profile.urn if isinstance(profile, SigningProfile) else None,
            "profile_owner": args.profile_owner,
            "destination": pulumi.Output.from_input(args.destination).apply(
                lambda d: _destination_input(d, settings["backend"], bucket)
            ),
            "signature_revocation": args.signature_revocation,
            "renew_before": args.renew_before,
            "name_seed": name_seed("SignedPackage", name, opts),
            "settings": settings,
            **dict.fromkeys(_COMPUTED),
        }
        super().__init__(SignedPackageProvider(), name, props, opts)
        watch(self, self.findings)
        # Passed on as these outputs, the package is still known to previews as itself.
        mark(self, "location", "deploy_location")


def signed_package_of(code: Any) -> SignedPackage | None:
    """The :class:`SignedPackage` that ``code`` is: the package itself, or its own
    ``location`` or ``deploy_location`` output (not one derived from it)."""
    if isinstance(code, SignedPackage):
        return code
    return traced(code, SignedPackage, ("location", "deploy_location"))


def package_ref(package: SignedPackage) -> dict[str, Any]:
    """What a function or layer deployed from ``package`` tells its provider about it, so
    a preview can judge a signature that does not exist yet: who will sign it."""
    return {
        "signer_ref": package.signer_ref,
        "profile_name": package.profile_name,
        "profile_version_arn": package.profile_version_arn,
    }
