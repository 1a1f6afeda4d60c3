"""``sam-ext function`` and ``sam-ext metric``: the local function registry, as the AWS CLI
shows Lambda's functions (``aws lambda list-functions``, ``get-function``) and their
CloudWatch metrics (``aws cloudwatch get-metric-statistics``): what was deployed, under
which config, with which verdict and warnings, and how many deployments Lambda's Warn
policy let through (``SignatureValidationErrors``)."""

from __future__ import annotations

import click

from provider.clock import parse_instant
from provider.errors import ValidationError
from sam_ext.context import CliContext
from sam_ext.output import emit

pass_context = click.make_pass_decorator(CliContext)

#: The metric the registry records: one data point per Warn-policy finding of a deploy.
SIGNATURE_METRIC = "SignatureValidationErrors"


def _local_only(ctx: CliContext, command: str, on_aws: str) -> None:
    if ctx.is_aws:
        raise ValidationError(
            f"sam-ext {command}: reads the local function registry; with --backend aws, "
            f"ask AWS itself: {on_aws}"
        )


@click.group()
def function() -> None:
    """Functions in the local function registry (Lambda's ListFunctions, GetFunction)."""


@function.command("list")
@pass_context
def list_(ctx: CliContext) -> None:
    """List the registry's functions, as `aws lambda list-functions` does: {"Functions": [...]}.

    Each has its code's digests, its code signing config, the verdict of its last
    deployment (LastVerdict) and that deployment's Warn-policy findings (Warnings).
    """
    _local_only(ctx, "function list", "aws lambda list-functions")
    emit(ctx.local_backend.list_functions(), schema="list-functions-response")


@function.command("get")
@click.option("--function-name", required=True)
@pass_context
def get(ctx: CliContext, function_name: str) -> None:
    """Describe one function of the registry (GetFunction-like)."""
    _local_only(ctx, "function get", "aws lambda get-function")
    emit(ctx.local_backend.get_function(function_name), schema="function")


@click.group()
def metric() -> None:
    """Metrics the local function registry records (CloudWatch's GetMetricStatistics)."""


@metric.command("get-statistics")
@click.option(
    "--metric-name",
    default=SIGNATURE_METRIC,
    show_default=True,
    help="The metric (namespace AWS/Lambda); the registry records SignatureValidationErrors.",
)
@click.option("--function-name", help="Only this function's data points (else every function's).")
@click.option("--start-time", metavar="ISO-8601", help="From this instant (inclusive).")
@click.option("--end-time", metavar="ISO-8601", help="Until this instant (exclusive).")
@click.option(
    "--period",
    type=click.IntRange(min=1),
    metavar="SECONDS",
    help="Sum per period from --start-time (default: one sum over the whole range).",
)
@pass_context
def get_statistics(
    ctx: CliContext,
    metric_name: str,
    function_name: str | None,
    start_time: str | None,
    end_time: str | None,
    period: int | None,
) -> None:
    """Count a metric's data points, as `aws cloudwatch get-metric-statistics --namespace
    AWS/Lambda --statistics Sum SampleCount` does: {"Label": ..., "Datapoints":
    [{"Timestamp", "SampleCount", "Sum", "Unit": "Count"}]}.

    SignatureValidationErrors gets one data point for each finding (the code or a layer)
    of a deployment that Lambda's Warn policy let through: signed by a profile the config
    does not list, unsigned, expired or revoked.
    """
    _local_only(
        ctx,
        "metric get-statistics",
        "aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name "
        f"{metric_name} --dimensions Name=FunctionName,Value=NAME ...",
    )
    document = ctx.local_backend.get_metric_statistics(
        metric_name,
        function_name=function_name,
        start=parse_instant(start_time, field="--start-time") if start_time else None,
        end=parse_instant(end_time, field="--end-time") if end_time else None,
        period=period,
    )
    emit(document, schema="metric-statistics")
