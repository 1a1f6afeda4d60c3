"""``sam-ext deploy``: deploy a packaged template (packaging and signing it first when
``--signing-profiles`` is given, as ``sam deploy`` does): into the local function
registry, or with ``--backend aws`` through a CloudFormation change set."""

from __future__ import annotations

from typing import Any

import click

from provider.verdict import Decision
from sam_ext.context import CliContext
from sam_ext.deploy_local import deploy_locally
from sam_ext.deploy_options import deploy_options, deploy_settings, local_options
from sam_ext.options import SamCommand, merged_options, template_options
from sam_ext.output import say, warn
from sam_ext.trust_options import BEFORE_KEYSTORE, load_trust_option, trust_file_options

pass_context = click.make_pass_decorator(CliContext)


@click.command(cls=SamCommand)
@template_options
@click.option(
    "--stack-name",
    help="Name of the stack (required with --backend aws; local default: the template's "
    "directory name).",
)
@deploy_options
@trust_file_options(BEFORE_KEYSTORE)
@pass_context
def deploy(ctx: CliContext, /, config_file: str | None, config_env: str, **given: Any) -> None:
    """Deploy every function and layer of a template, verified as Lambda verifies them.

    A rejection names the function and the failed checks, exits 1, and changes nothing.
    With --backend aws: a CloudFormation change set (CREATE or UPDATE), shown as sam
    deploy shows it, then executed and waited for; --s3-bucket (or --resolve-s3) packages
    the code first (signing it with --signing-profiles). The CloudFormation options mean
    what they mean to sam deploy, and are refused on the local backend.
    """
    options = merged_options("deploy", config_file, config_env, given)
    if not ctx.is_aws:
        options = local_options(given, options, warn)
    # --region/--profile of the command, over the global ones (before any backend opens).
    ctx.region = options.get("region") or ctx.region
    ctx.profile = options.get("profile") or ctx.profile
    trust = load_trust_option(
        ctx,
        options.get("trust_file"),
        options.get("trust_anchor", ()),
        options.get("trust_max_age"),
    )
    settings = deploy_settings(options, aws=ctx.is_aws, trust_file=trust)
    if ctx.is_aws:
        from sam_ext.deploy_aws import deploy_on_aws  # loads boto3: only on aws

        deploy_on_aws(ctx, settings)
        return
    for outcome in deploy_locally(ctx, settings):
        decisions = [v.get("decision", "?") for v in outcome.verdicts]
        summary = decisions[0] if decisions else "no code signing config"
        say(f"{outcome.operation} {outcome.function_name} ({outcome.logical_id}): {summary}")
        for verdict in outcome.verdicts:
            message = str(verdict.get("message"))
            if verdict.get("decision") == Decision.WARN:
                # The registry's verdict names the function already ("function NAME: ...").
                named = message.startswith(f"function {outcome.function_name}:")
                warn(message if named else f"{outcome.function_name}: {message}")
    say(f"stack {settings.stack_name} deployed to the local function registry")
