"""``sam-ext deploy --backend aws``: package (and sign) when asked, refuse code Lambda
would reject, then deploy the template through one CloudFormation change set, as
``sam deploy`` does: shown as SAM CLI shows it, confirmed when asked, executed unless
``--no-execute-changeset``; an empty one fails unless ``--no-fail-on-empty-changeset``."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from provider.errors import CodesignError, DeploymentRejected, ValidationError
from provider.verdict import Decision, Verdict
from sam_ext.cdk.assembly import stack_of_template
from sam_ext.output import say, warn
from sam_ext.packaging.nested import has_local_template
from sam_ext.packaging.resources import has_local_code
from sam_ext.packaging.run import package_template
from sam_ext.parameters import parameter_values
from sam_ext.settings import ChangeSetSettings, DeploySettings, PackageSettings
from sam_ext.template import Template, dump_template, load_template

if TYPE_CHECKING:
    from provider.backends.aws.cloudformation import DeployOutcome
    from sam_ext.context import CliContext


def _refuse_rejected(stack: str, verdicts: list[Verdict]) -> None:
    """Stop before CloudFormation when a function's code (or a layer of it) would be
    rejected by Lambda (its stack would only roll back); say the Warn-policy findings and
    what is not known before deploy (UNKNOWN: Lambda may still refuse it)."""
    rejected = [v for v in verdicts if v.decision is Decision.REJECT]
    for verdict in verdicts:
        if verdict.decision in (Decision.WARN, Decision.UNKNOWN):
            warn(verdict.message)
    if rejected:
        remedies = " ".join(dict.fromkeys(f.remedy for v in rejected for f in v.failed))
        raise DeploymentRejected(
            f"stack {stack}: not deployed, Lambda would reject the code: "
            + "; ".join(v.message for v in rejected)
            + f". Remedy: {remedies}",
            code=rejected[0].exception or "CodeVerificationFailedException",
            verdict=rejected[0],
        )


def _judge_packaged(
    ctx: CliContext, template: Template, settings: PackageSettings
) -> list[Verdict]:
    """The verdicts of a packaged template's code in S3 (every level), as packaging
    would have predicted them; what cannot be known before deploy is said."""
    from sam_ext.packaged_verdicts import TemplateJudge

    backend = ctx.aws_backend
    parameters = parameter_values(template, settings.parameter_overrides)
    judged = TemplateJudge(backend, ctx.now, backend.objects.read_template).judge(
        template, parameters
    )
    for note in judged.unknown:
        say(note)
    return judged.verdicts


def _template(ctx: CliContext, settings: PackageSettings, stack: str) -> Template:
    """The template to deploy: packaged now (``--signing-profiles`` or ``--s3-bucket``),
    or as given when its code is already in S3; either way, refused before CloudFormation
    when Lambda would reject any function's code or layer."""
    if settings.signing_profiles or settings.s3_bucket:
        packaged = package_template(ctx, settings)
        _refuse_rejected(stack, [p.verdict for p in packaged.results if p.verdict is not None])
        return packaged.template
    template = load_template(settings.template_file)
    cdk = stack_of_template(settings.template_file)
    local = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if has_local_code(template, resource)
        or has_local_template(resource)
        or (cdk is not None and cdk.asset_of(logical_id, resource) is not None)
    ]
    if local:
        raise ValidationError(
            f"--s3-bucket: required with --backend aws to upload the local code or templates of "
            f"{', '.join(local)} (or deploy a template made by sam-ext package --backend aws)"
        )
    _refuse_rejected(stack, _judge_packaged(ctx, template, settings))
    return template


class EmptyChangeSet(CodesignError):
    """The change set found nothing to change (a failure unless
    ``--no-fail-on-empty-changeset``, as with ``sam deploy``)."""

    code = "ChangeEmptyError"


#: SAM CLI's words for each change set action, in its order.
_OPERATIONS = {"Add": "+ Add", "Modify": "* Modify", "Remove": "- Delete"}


def format_change_set(changes: list[dict[str, Any]]) -> str:
    """The change set as ``sam deploy`` shows it: operation, logical id, type and, for a
    modification, whether the resource is replaced (``True``/``False``/``Conditional``)."""
    order = {action: rank for rank, action in enumerate(_OPERATIONS)}
    rows = [("Operation", "LogicalResourceId", "ResourceType", "Replacement")]
    for change in sorted(changes, key=lambda c: order.get(str(c.get("Action")), len(order))):
        action = str(change.get("Action", "?"))
        replacement = change.get("Replacement") if action == "Modify" else None
        rows.append(
            (
                _OPERATIONS.get(action, action),
                str(change.get("LogicalResourceId", "-")),
                str(change.get("ResourceType", "-")),
                str(replacement) if replacement else "N/A",
            )
        )
    if len(rows) == 1:
        rows.append(("-", "-", "-", "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    rule = "-" * (sum(widths) + 2 * 3)
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(["CloudFormation stack changeset", rule, lines[0], rule, *lines[1:], rule])


def _has_terminal() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()


def _check_can_ask(settings: ChangeSetSettings) -> None:
    if settings.confirm and settings.execute and not _has_terminal():
        raise ValidationError(
            "--confirm-changeset: there is no terminal to ask on (stdin is not a terminal); "
            "pass --no-confirm-changeset to deploy without asking, or --no-execute-changeset "
            "to create the change set only"
        )


def _bucket(
    ctx: CliContext, settings: PackageSettings, change_set: ChangeSetSettings
) -> PackageSettings:
    """``--resolve-s3``: the managed bucket as ``s3_bucket`` (never with --s3-bucket)."""
    if not change_set.resolve_s3:
        return settings
    if settings.s3_bucket:
        raise ValidationError(
            "--resolve-s3: cannot be used with --s3-bucket (one says which bucket, the other "
            "asks sam-ext to choose); give one of them"
        )
    backend = ctx.aws_backend
    location = backend.location
    bucket = backend.stacks().managed_bucket(
        backend.objects, account=location.account, region=location.region, progress=say
    )
    return replace(settings, s3_bucket=bucket)


def deploy_on_aws(ctx: CliContext, deploy: DeploySettings) -> DeployOutcome | None:
    """Deploy one stack as ``sam deploy`` does; progress and the outcome go to stderr.
    Returns what was deployed, or ``None`` when the change set was not executed."""

    stack, settings = deploy.stack_name, deploy.change_set
    _check_can_ask(settings)  # before any work: nothing is packaged or uploaded in vain
    package = _bucket(ctx, deploy.package, settings)
    template = _template(ctx, package, stack)
    overrides = package.parameter_overrides
    parameter_values(template, overrides)  # every override names a declared parameter
    bucket = package.s3_bucket
    prefix = package.s3_prefix.strip("/")
    deployer = ctx.aws_backend.stacks()
    change_set = deployer.create_change_set(
        stack,
        dump_template(template),
        parameters=overrides,
        declared_parameters=list(template.get("Parameters") or {}),
        **({"capabilities": settings.capabilities} if settings.capabilities else {}),
        role_arn=settings.role_arn,
        notification_arns=settings.notification_arns,
        tags=settings.tags,
        upload_to=(bucket, f"{prefix}/" if prefix else "") if bucket else None,
        progress=say,
    )
    if change_set.empty:
        if settings.fail_on_empty:
            raise EmptyChangeSet(
                f"no changes to deploy: stack {stack} is up to date "
                "(--no-fail-on-empty-changeset makes this exit 0)"
            )
        say(f"no changes to deploy: stack {stack} is up to date")
        return None
    say(format_change_set(change_set.changes))
    if not settings.execute:
        say(
            f"change set created, not executed (--no-execute-changeset): {change_set.id}\n"
            f"execute it with: aws cloudformation execute-change-set --change-set-name "
            f"{change_set.id}"
        )
        return None
    if settings.confirm and not click.confirm("Deploy this changeset?", default=False, err=True):
        say(f"change set {change_set.id} not executed: stack {stack} is unchanged")
        return None
    outcome = deployer.execute_change_set(
        change_set, disable_rollback=settings.disable_rollback, progress=say
    )
    for key, value in outcome.outputs.items():
        say(f"output {key} = {value}")
    say(f"stack {stack} deployed ({outcome.status})")
    return outcome
