"""``sam-ext verify``: the verdict Lambda would give a package, without deploying it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from provider.backends.base import csc_policy
from provider.clock import parse_instant
from provider.errors import ValidationError
from provider.verdict import CscPolicy, Decision, decide
from sam_ext.context import CliContext
from sam_ext.output import emit, say, warn
from sam_ext.trust_options import load_trust_option, trust_file_options

pass_context = click.make_pass_decorator(CliContext)


def _load_csc_file(path: Path) -> CscPolicy:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"--csc-file: {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--csc-file: cannot read {str(path)!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--csc-file: {str(path)!r} is not JSON ({exc.msg})") from None
    return csc_policy(document)


@click.command()
@click.argument("package", metavar="PACKAGE")
@click.option("--code-signing-config-arn", help="A code signing config known to the backend.")
@click.option(
    "--csc-file",
    type=click.Path(path_type=Path),
    help="A CreateCodeSigningConfig request or GetCodeSigningConfig response (JSON).",
)
@click.option("--at", "at_text", metavar="ISO-8601", help="Evaluate at this instant (default now).")
@trust_file_options
@pass_context
def verify(
    ctx: CliContext,
    package: str,
    code_signing_config_arn: str | None,
    csc_file: Path | None,
    at_text: str | None,
    trust_file: Path | None,
    trust_anchor: tuple[str, ...],
) -> None:
    """Print the verdict Lambda would give PACKAGE under a code signing config.

    PACKAGE is a .zip file (local backend) or a signed S3 object,
    s3://BUCKET/KEY[?versionId=V] (aws backend).

    With --trust-file (and its pinned --trust-anchor), the publishers' keys and
    revocations come from that trust file instead of the keystore: no keystore and no AWS
    account needed; the verdict names the trust file's date.

    Exit status 0 for ALLOW and WARN (the warning goes to stderr), 1 for REJECT.
    """
    if (code_signing_config_arn is None) == (csc_file is None):
        raise click.UsageError("give exactly one of --code-signing-config-arn and --csc-file")
    at = parse_instant(at_text, field="--at") if at_text else ctx.now
    trust = load_trust_option(ctx, trust_file, trust_anchor)
    policy = (
        _load_csc_file(csc_file)
        if csc_file is not None
        else ctx.backend.csc_policy_of(code_signing_config_arn or "")
    )
    if trust is not None:
        # The keystore is not opened: the trust file alone vouches for publishers.
        verdict = decide(trust.facts_of(Path(package), name=package), policy, at)
    else:
        verdict = ctx.backend.evaluate_package(package, policy, at=at, name=package)
    # Not schema-checked here: the verdict is built by decide() from typed data, and its
    # schema is checked by the tests of every verdict kind (tests/provider/test_verdict.py,
    # each CLI verify test); jsonschema's import would be most of a verify's CPU time.
    emit(verdict.to_document())
    if verdict.decision is Decision.WARN:
        warn(verdict.message)
    elif verdict.decision is Decision.REJECT:
        say(f"rejected: {verdict.message}")
        raise click.exceptions.Exit(1)
