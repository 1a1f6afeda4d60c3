"""``layer adopt`` on the local backend: a third-party layer's .zip, signed unchanged and
published in the local function registry."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.backends.values import SigningJob
from provider.errors import SigningJobFailed, ValidationError
from provider.inspect_package import mapped
from provider.layers import (
    adoption_document,
    check_layer_name,
    check_plain_zip,
    code_sha256,
    compare_contents,
)

if TYPE_CHECKING:
    from provider.backends.local import LocalBackend

#: Where adopted layers' signed copies are kept, under the keystore.
ADOPTED_DIR = "adopted"


def _default_name(source: Path) -> str:
    name = re.sub(r"[^a-zA-Z0-9-_]", "-", source.stem)[:64]
    if not name.strip("-"):
        raise ValidationError(
            f"--layer-name: required (no layer name follows from {source.name!r})"
        )
    return name


def adopt_layer(
    backend: LocalBackend,
    source: str,
    profile_name: str,
    *,
    layer_name: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Check that ``source`` is a plain zip, sign it with ``profile_name``, check that the
    signed copy holds the same files, and publish it as layer ``layer_name`` (default:
    the file's name)."""
    path = Path(source)
    if source.startswith("arn:"):
        raise ValidationError(
            f"--zip-file: {source!r} is an ARN; the local backend adopts a layer from its "
            ".zip file (use --backend aws for a layer version ARN)"
        )
    if not path.is_file():
        raise ValidationError(f"--zip-file: {source!r} does not exist or is not a file")
    name = check_layer_name(layer_name) if layer_name is not None else _default_name(path)
    with mapped(path) as data:
        check_plain_zip(data, f"--zip-file {source}")
        original = bytes(data)
    job = SigningJob.from_document(
        backend.sign_package(path, str(backend.store.home / ADOPTED_DIR), profile_name, now=now)
    )
    if not job.succeeded or job.signed_object is None or job.signed_object.path is None:
        raise SigningJobFailed(
            f"signing job {job.job_id} for {source} ended {job.status}: {job.status_reason}",
            job_id=job.job_id,
        )
    signed_path = Path(job.signed_object.path)
    signed = signed_path.read_bytes()
    check = compare_contents(original, signed, f"layer {source}")
    published = backend.publish_layer_version(name, signed_path, now=now)
    return adoption_document(
        layer_version_arn=published["LayerVersionArn"],
        source=str(path.resolve()),
        profile_name=profile_name,
        job=job.to_document(),
        check=check,
        source_code_sha256=code_sha256(original),
        signed_code_sha256=code_sha256(signed),
    )
