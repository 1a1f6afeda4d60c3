"""``sam-ext verify``: the verdict Lambda would give a package, without deploying it."""

from __future__ import annotations

from pathlib import Path

import click

from sam_ext.context import CliContext
from sam_ext.trust_options import load_trust_option, trust_file_options
from sam_ext.verifying import verify_package

pass_context = click.make_pass_decorator(CliContext)


@click.command()
@click.argument("package", metavar="PACKAGE")
@click.option("--code-signing-config-arn", help="A code signing config known to the backend.")
@click.option(
    "--csc-file",
    type=click.Path(path_type=Path),
    help="A CreateCodeSigningConfig request or GetCodeSigningConfig response (JSON).",
)
@click.option("--at", "at_text", metavar="ISO-8601", help="Evaluate at this instant (default now).")
@trust_file_options()
@pass_context
def verify(
    ctx: CliContext,
    package: str,
    code_signing_config_arn: str | None,
    csc_file: Path | None,
    at_text: str | None,
    trust_file: Path | None,
    trust_anchor: tuple[str, ...],
    trust_max_age: str | None,
) -> None:
    """Print the verdict Lambda would give PACKAGE under a code signing config.

    PACKAGE is a .zip file (local backend) or a signed S3 object,
    s3://BUCKET/KEY[?versionId=V] (aws backend).

    With --trust-file (and its pinned --trust-anchor), the publishers' keys and
    revocations come from that trust file instead of the keystore: no keystore and no AWS
    account needed; the verdict names the trust file's date, and stderr its age.
    --trust-max-age refuses a trust file older than that at --at (exit status 1).

    On the aws backend the object is judged by its bytes: a signature in this project's
    format (as sam-ext serve signs) is verified, other bytes are matched to a signing job's
    signed object; bytes neither decides are UNKNOWN (never "not signed").

    Exit status 0 for ALLOW and WARN (the warning goes to stderr), 1 for REJECT and for
    UNKNOWN (Lambda may refuse it).
    """
    if (code_signing_config_arn is None) == (csc_file is None):
        raise click.UsageError("give exactly one of --code-signing-config-arn and --csc-file")
    status = verify_package(
        ctx,
        package,
        code_signing_config_arn=code_signing_config_arn,
        csc_file=csc_file,
        at_text=at_text,
        load_trust=lambda at: load_trust_option(
            ctx, trust_file, trust_anchor, trust_max_age, at=at
        ),
    )
    if status:
        raise click.exceptions.Exit(status)
