"""One packaging run of a template tree, as ``sam-ext package`` and ``sam-ext deploy`` ask for
it (:class:`~sam_ext.settings.PackageSettings`): where the packages go, how many at once,
and the packaged template with what each artifact became."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from provider.errors import ValidationError
from sam_ext.cdk.assembly import is_cloud_assembly, logical_ids_by_name, stack_of_template
from sam_ext.context import CliContext
from sam_ext.output import say, warn
from sam_ext.packaging.destination import ArtifactDestination, LocalDirectory, S3Prefix
from sam_ext.packaging.nested import package_nested
from sam_ext.packaging.packager import Packaged, Packager
from sam_ext.parameters import parameter_values
from sam_ext.settings import PackageSettings
from sam_ext.template import Template, load_template


def default_artifact_dir(template_path: Path) -> Path:
    """``.sam-ext/artifacts`` in the project: beside the template, or beside ``.aws-sam``
    for ``sam build`` output, or beside a CDK cloud assembly (``cdk.out``) for one of its
    stack templates, so a clean rebuild or synth does not wipe the cache."""
    directory = template_path.resolve().parent
    if directory.name == "build" and directory.parent.name == ".aws-sam":
        directory = directory.parent.parent
    elif is_cloud_assembly(directory):
        directory = directory.parent
    return directory / ".sam-ext" / "artifacts"


@dataclass
class PackagedTemplate:
    """A packaged template, what each artifact became, and where they went."""

    template: Template
    results: list[Packaged]
    destination: ArtifactDestination


def default_jobs(ctx: CliContext) -> int:
    """Packages handled at once without ``--jobs``: on AWS, where each waits for its
    signing job, :data:`provider.backends.batch.DEFAULT_JOBS` (chosen from Signer's rate
    quotas); locally, where zipping and signing use this machine's cores, two per core up
    to 8."""
    if ctx.is_aws:
        from provider.backends.batch import DEFAULT_JOBS

        return DEFAULT_JOBS
    return min(8, (os.cpu_count() or 2) * 2)


def artifact_destination(
    ctx: CliContext, settings: PackageSettings, artifact_dir: Path
) -> ArtifactDestination:
    """``--s3-bucket``/``--s3-prefix`` on the aws backend (required there), else the
    local artifact directory."""
    bucket = settings.s3_bucket
    if not ctx.is_aws:
        if bucket or settings.s3_prefix:
            warn(
                "--s3-bucket/--s3-prefix are used with --backend aws only; the local backend "
                f"writes packages to {artifact_dir}"
            )
        return LocalDirectory(artifact_dir)
    if not bucket:
        raise ValidationError(
            "--s3-bucket: required with --backend aws (the versioned S3 bucket packages are "
            "uploaded to and signed in; add --s3-prefix to put them under a prefix)"
        )
    return S3Prefix(ctx.aws_backend.objects, bucket, settings.s3_prefix)


def package_template(ctx: CliContext, settings: PackageSettings) -> PackagedTemplate:
    """Package a template tree; shared by ``package`` and ``deploy``."""
    template_path = settings.template_file
    artifact_dir = (settings.artifact_dir or default_artifact_dir(template_path)).resolve()
    destination = artifact_destination(ctx, settings, artifact_dir)
    template = load_template(template_path)
    profiles = settings.signing_profiles
    # A stack template of a CDK cloud assembly: its functions' and layers' code is CDK
    # assets, and --signing-profiles may name them by construct path.
    cdk = stack_of_template(template_path)
    if cdk is not None:
        names = logical_ids_by_name(cdk, profiles, option="--signing-profiles")
        profiles = {names[name]: ref for name, ref in profiles.items()}
    packager = Packager(
        ctx.backend,
        artifact_dir,
        now=ctx.now,
        progress=say,
        jobs=settings.jobs or default_jobs(ctx),
        destination=destination,
    )
    parameters = parameter_values(template, settings.parameter_overrides)
    packaged, results = package_nested(
        packager, template, template_path, profiles, parameters, notify=warn, cdk=cdk
    )
    return PackagedTemplate(packaged, results, destination)
