"""``layer adopt`` on AWS: GetLayerVersionByArn, download the layer's zip from its
presigned ``Content.Location``, check it, sign it unchanged, and PublishLayerVersion into
the caller's account."""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.backends.aws import documents
from provider.backends.aws.errors import aws_call
from provider.backends.values import SigningJob
from provider.errors import CodesignError, SigningJobFailed, ValidationError
from provider.layers import (
    adopted_description,
    adoption_document,
    check_layer_name,
    check_layer_version_arn,
    check_plain_zip,
    code_sha256,
    compare_contents,
)

if TYPE_CHECKING:
    from provider.backends.aws import AwsBackend

#: Lambda's largest layer (250 MB unzipped) cannot zip to more than this.
MAX_LAYER_BYTES = 250 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0
#: What is copied from the source layer version to the adopted one.
_COPIED = ("CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo")


def download(url: str, what: str, *, limit: int = MAX_LAYER_BYTES) -> bytes:
    """GET ``url`` (an HTTPS presigned URL; plain HTTP for local emulators), at most
    ``limit`` bytes. Other schemes (``file:``, ...) are refused."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("https", "http"):
        raise CodesignError(f"{what}: Content.Location {url[:80]!r} is not an HTTP(S) URL")
    try:
        with urllib.request.urlopen(
            url, timeout=DOWNLOAD_TIMEOUT
        ) as response:  # scheme checked above
            data: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise CodesignError(
            f"{what}: downloading its content failed with HTTP {exc.code} {exc.reason} (the "
            "presigned Content.Location is valid for about 10 minutes; run the command again)"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CodesignError(f"{what}: downloading its content failed: {reason}") from None
    if len(data) > limit:
        raise ValidationError(f"{what}: its content is larger than {limit} bytes")
    return data


def adopt_layer(
    backend: AwsBackend,
    arn: str,
    profile_name: str,
    *,
    layer_name: str | None,
    destination: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Adopt the layer version ``arn``: its content, signed by ``profile_name`` through
    ``destination`` (``s3://bucket[/prefix]``, a versioned bucket), published as
    ``layer_name`` (default: the source layer's name) in the caller's account."""
    parts = check_layer_version_arn(arn)
    name = check_layer_name(layer_name if layer_name is not None else parts["name"][:64])
    if destination is None:
        raise ValidationError(
            "--s3-bucket: required with --backend aws (a versioned bucket: signing jobs "
            "read and write S3 objects)"
        )
    what = f"layer version {arn}"
    with aws_call("lambda:GetLayerVersion", what):
        layer: dict[str, Any] = dict(backend.clients.lambda_.get_layer_version_by_arn(Arn=arn))
    content = layer.get("Content") or {}
    data = download(str(content.get("Location", "")), what)
    expected = content.get("CodeSha256")
    if expected and code_sha256(data) != expected:
        raise CodesignError(
            f"{what}: the downloaded content's SHA-256 ({code_sha256(data)}) is not the "
            f"layer's CodeSha256 ({expected}); nothing was signed"
        )
    check_plain_zip(data, what)
    with tempfile.TemporaryDirectory(prefix="sam-ext-adopt-") as scratch:
        source = Path(scratch) / f"{name}.zip"
        source.write_bytes(data)
        job = SigningJob.from_document(
            backend.sign_package(source, destination, profile_name, now=now)
        )
    if not job.succeeded or job.signed_object is None or job.signed_object.s3 is None:
        raise SigningJobFailed(
            f"signing job {job.job_id} for {what} ended {job.status}: {job.status_reason}",
            job_id=job.job_id,
        )
    signed = job.signed_object.s3
    params: dict[str, Any] = {"Bucket": signed.bucket, "Key": signed.key}
    if signed.version:
        params["VersionId"] = signed.version
    with aws_call("s3:GetObject", signed.uri):
        signed_data = backend.clients.s3.get_object(**params)["Body"].read()
    check = compare_contents(data, signed_data, what)
    request: dict[str, Any] = {
        "LayerName": name,
        "Content": signed.lambda_code(),
        "Description": adopted_description(arn, layer.get("Description")),
    }
    request.update({key: layer[key] for key in _COPIED if layer.get(key)})
    with aws_call("lambda:PublishLayerVersion", f"layer {name!r} (code {signed.uri})"):
        published = documents.document(backend.clients.lambda_.publish_layer_version(**request))
    return adoption_document(
        layer_version_arn=published["LayerVersionArn"],
        source=arn,
        profile_name=profile_name,
        job=job.to_document(),
        check=check,
        source_code_sha256=expected or code_sha256(data),
        signed_code_sha256=(published.get("Content") or {}).get("CodeSha256")
        or code_sha256(signed_data),
    )
