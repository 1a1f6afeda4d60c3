"""``sam-ext deploy --backend aws``: package (and sign) when asked, refuse code Lambda
would reject, then deploy the template through one CloudFormation change set, as
``sam deploy`` does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.errors import DeploymentRejected, ValidationError
from provider.verdict import Decision
from sam_ext.output import say, warn
from sam_ext.packaging.nested import has_local_template
from sam_ext.packaging.packager import Packaged
from sam_ext.packaging.resources import has_local_code
from sam_ext.parameters import parameter_values, parse_overrides
from sam_ext.template import Template, dump_template, load_template

if TYPE_CHECKING:
    from provider.backends.aws.cloudformation import DeployOutcome
    from sam_ext.context import CliContext


def _refuse_rejected(stack: str, results: list[Packaged]) -> None:
    """Stop before CloudFormation when a function's code would be rejected by Lambda
    (its stack would only roll back); say the Warn-policy findings."""
    rejected = [p.verdict for p in results if p.verdict and p.verdict.decision is Decision.REJECT]
    for packaged in results:
        if packaged.verdict is not None and packaged.verdict.decision is Decision.WARN:
            warn(f"{packaged.artifact.path}: {packaged.verdict.message}")
    if rejected:
        remedies = " ".join(dict.fromkeys(f.remedy for v in rejected for f in v.failed))
        raise DeploymentRejected(
            f"stack {stack}: not deployed, Lambda would reject the code: "
            + "; ".join(v.message for v in rejected)
            + f". Remedy: {remedies}",
            code=rejected[0].exception or "CodeVerificationFailedException",
            verdict=rejected[0],
        )


def _template(ctx: CliContext, options: dict[str, Any], stack: str) -> Template:
    """The template to deploy: packaged now (``--signing-profiles`` or ``--s3-bucket``),
    or as given when its code is already in S3."""
    from sam_ext.commands.package import package_template

    if options.get("signing_profiles") or options.get("s3_bucket"):
        packaged = package_template(ctx, options)
        _refuse_rejected(stack, packaged.results)
        return packaged.template
    template = load_template(Path(options["template_file"]))
    local = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if has_local_code(template, resource) or has_local_template(resource)
    ]
    if local:
        raise ValidationError(
            f"--s3-bucket: required with --backend aws to upload the local code or templates of "
            f"{', '.join(local)} (or deploy a template made by sam-ext package --backend aws)"
        )
    return template


def deploy_on_aws(ctx: CliContext, options: dict[str, Any]) -> DeployOutcome:
    """Deploy one stack; progress and the outcome go to stderr."""
    from provider.backends.aws.cloudformation import check_stack_name

    stack = options.get("stack_name")
    if not stack:
        raise ValidationError("--stack-name: required with --backend aws (as with sam deploy)")
    check_stack_name(stack)
    template = _template(ctx, options, stack)
    overrides = parse_overrides(options.get("parameter_overrides"))
    parameter_values(template, overrides)  # every override names a declared parameter
    bucket = options.get("s3_bucket")
    prefix = (options.get("s3_prefix") or "").strip("/")
    outcome = ctx.aws_backend.stacks().deploy(
        stack,
        dump_template(template),
        parameters=overrides,
        declared_parameters=list(template.get("Parameters") or {}),
        upload_to=(bucket, f"{prefix}/" if prefix else "") if bucket else None,
        progress=say,
    )
    if not outcome.changed:
        say(f"no changes to deploy: stack {stack} is up to date")
        return outcome
    for key, value in outcome.outputs.items():
        say(f"output {key} = {value}")
    say(f"stack {stack} deployed ({outcome.status})")
    return outcome
