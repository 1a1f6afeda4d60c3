"""``sam-ext csc``: code signing configurations (Lambda)."""

from __future__ import annotations

import click

from sam_ext.context import CliContext
from sam_ext.output import emit, say
from sam_ext.shorthand import parse_structure

pass_context = click.make_pass_decorator(CliContext)

_PUBLISHERS = {"SigningProfileVersionArns": True}
_POLICIES = {"UntrustedArtifactOnDeployment": False}


def _allowed(text: str | None) -> list[str] | None:
    if text is None:
        return None
    parsed = parse_structure(text, option="--allowed-publishers", keys=_PUBLISHERS)
    return list(parsed.get("SigningProfileVersionArns", []))


def _policy(text: str | None) -> str | None:
    if text is None:
        return None
    parsed = parse_structure(text, option="--code-signing-policies", keys=_POLICIES)
    value = parsed.get("UntrustedArtifactOnDeployment")
    return value if isinstance(value, str) else None


@click.group()
def csc() -> None:
    """Code signing configurations: allowed publishers and the Warn/Enforce policy."""


publishers_option = click.option(
    "--allowed-publishers",
    metavar="SigningProfileVersionArns=ARN1,ARN2",
    help="1 to 20 signing profile version ARNs.",
)
policies_option = click.option(
    "--code-signing-policies",
    metavar="UntrustedArtifactOnDeployment=Warn|Enforce",
    help="What to do with untrusted code (default Warn).",
)


@csc.command("create")
@publishers_option
@policies_option
@click.option("--description", help="Up to 256 characters.")
@pass_context
def create(
    ctx: CliContext,
    allowed_publishers: str | None,
    code_signing_policies: str | None,
    description: str | None,
) -> None:
    """Create a code signing config."""
    if allowed_publishers is None:
        raise click.UsageError("Missing option '--allowed-publishers'.")
    response = ctx.backend.create_code_signing_config(
        _allowed(allowed_publishers) or [],
        policy=_policy(code_signing_policies),
        description=description,
        now=ctx.now,
    )
    emit(response, schema="code-signing-config")


@csc.command("update")
@click.option("--code-signing-config-arn", required=True)
@publishers_option
@policies_option
@click.option("--description", help="Up to 256 characters.")
@pass_context
def update(
    ctx: CliContext,
    code_signing_config_arn: str,
    allowed_publishers: str | None,
    code_signing_policies: str | None,
    description: str | None,
) -> None:
    """Update a code signing config; deployed code is checked again only on its next deploy."""
    response = ctx.backend.update_code_signing_config(
        code_signing_config_arn,
        allowed=_allowed(allowed_publishers),
        policy=_policy(code_signing_policies),
        description=description,
        now=ctx.now,
    )
    emit(response, schema="code-signing-config")


@csc.command("get")
@click.option("--code-signing-config-arn", required=True)
@pass_context
def get(ctx: CliContext, code_signing_config_arn: str) -> None:
    """Describe a code signing config."""
    emit(ctx.backend.get_code_signing_config(code_signing_config_arn), schema="code-signing-config")


@csc.command("delete")
@click.option("--code-signing-config-arn", required=True)
@pass_context
def delete(ctx: CliContext, code_signing_config_arn: str) -> None:
    """Delete a code signing config (refused while a function uses it)."""
    ctx.backend.delete_code_signing_config(code_signing_config_arn)
    say(f"code signing config {code_signing_config_arn} deleted")


@csc.command("list")
@pass_context
def list_(ctx: CliContext) -> None:
    """List code signing configs."""
    emit(ctx.backend.list_code_signing_configs(), schema="list-code-signing-configs-response")
