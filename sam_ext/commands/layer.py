"""``sam-ext layer adopt``: a third-party layer, signed unchanged by one of your profiles,
published as your own layer version (so functions under Enforce can use it)."""

from __future__ import annotations

import click

from provider.errors import ValidationError
from sam_ext.context import CliContext
from sam_ext.output import emit, say

pass_context = click.make_pass_decorator(CliContext)


@click.group()
def layer() -> None:
    """Lambda layers."""


@layer.command("adopt")
@click.option(
    "--layer-version-arn",
    metavar="ARN",
    help="The layer version to adopt (--backend aws), e.g. a vendor's public layer.",
)
@click.option(
    "--zip-file",
    metavar="PATH",
    help="The layer's .zip to adopt (local backend).",
)
@click.option("--profile-name", required=True, help="The signing profile that signs it.")
@click.option(
    "--layer-name", help="Name of the new layer (default: the source layer's or file's name)."
)
@click.option(
    "--s3-bucket",
    help="Versioned bucket the signing job reads and writes (--backend aws; required there).",
)
@click.option("--s3-prefix", default="", help="Key prefix in --s3-bucket (--backend aws).")
@pass_context
def adopt(
    ctx: CliContext,
    layer_version_arn: str | None,
    zip_file: str | None,
    profile_name: str,
    layer_name: str | None,
    s3_bucket: str | None,
    s3_prefix: str,
) -> None:
    """Sign a third-party layer unchanged and publish it as your own layer version.

    On AWS: GetLayerVersionByArn, download its content, check that it is a plain zip,
    sign it, PublishLayerVersion in your account. Locally: from the layer's .zip. Prints
    the new layer version ARN, and the SHA-256 of the layer's files before and after
    signing (the same: only the signature was added).
    """
    if ctx.is_aws:
        if zip_file is not None or layer_version_arn is None:
            raise ValidationError(
                "--layer-version-arn: required with --backend aws (--zip-file is for the "
                "local backend)"
            )
        source = layer_version_arn
        destination = f"s3://{s3_bucket}/{s3_prefix.strip('/')}" if s3_bucket else None
    else:
        if layer_version_arn is not None or zip_file is None:
            raise ValidationError(
                "--zip-file: required on the local backend (--layer-version-arn needs "
                "--backend aws: the layer is fetched from Lambda)"
            )
        if s3_bucket is not None:
            raise ValidationError("--s3-bucket: only with --backend aws")
        source, destination = zip_file, None
    adopted = ctx.backend.adopt_layer(
        source, profile_name, layer_name=layer_name, now=ctx.now, destination=destination
    )
    emit(adopted, schema="layer-adoption")
    added = ", ".join(adopted["AddedBySigning"]) or "nothing"
    say(f"adopted {source} as {adopted['LayerVersionArn']} (signed by {profile_name})")
    say(f"content SHA-256 before: {adopted['ContentSha256Before']}")
    files = adopted["Files"]
    say(
        f"content SHA-256 after:  {adopted['ContentSha256After']} (unchanged: "
        f"{files} file{'' if files == 1 else 's'}; added by signing: {added})"
    )
