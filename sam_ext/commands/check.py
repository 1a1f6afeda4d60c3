"""``sam-ext check``: Lambda's verdict for every function and layer of a template or CDK
cloud assembly, before anything deploys (a thin edge over :mod:`sam_ext.check`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from provider.clock import format_instant
from sam_ext.check import CheckOptions, CheckReport, FailOn, Standing, check_template
from sam_ext.context import CliContext
from sam_ext.options import SamCommand, SpaceSeparated
from sam_ext.output import emit, visible, warn
from sam_ext.parameters import parse_overrides
from sam_ext.signing_profiles import parse_signing_profiles

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.measure import Measurement
    from rich.text import Text

pass_context = click.make_pass_decorator(CliContext)

#: The table's width when stdout is not a terminal (a CI log, a file).
LOG_WIDTH = 160

#: How each standing is shown on a terminal.
STYLES = {
    Standing.REJECT: "bold red",
    Standing.UNKNOWN: "bold magenta",
    Standing.WARN: "yellow",
    Standing.NO_CONFIG: "cyan",
    Standing.ALLOW: "green",
    Standing.NOT_APPLICABLE: "dim",
}


class _WrapAtSlash:
    """A resource cell (construct and nested stack paths, one per line) that wraps after a
    ``/`` when the column is narrower than a path; only a segment wider than the column
    is folded (rich wraps at spaces only, so it split ``Resource`` mid-word)."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        return Measurement.get(console, options, self.text)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        width = max(options.max_width, 1)
        lines: list[Text] = []
        for line in self.text.split("\n"):
            cuts: list[int] = []
            start = filled = 0
            for end in [i + 1 for i, c in enumerate(line.plain) if c == "/"] + [len(line)]:
                if filled and filled + end - start > width:
                    cuts.append(start)
                    filled = 0
                filled += end - start
                start = end
            lines.extend(line.divide(cuts))
        yield Text("\n").join(lines)


def render_table(report: CheckReport, *, width: int | None = None) -> str:
    """The report as a table, worst first (``rich`` markup when printed to a terminal)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"sam-ext check {report.source} at "
        f"{format_instant(report.checked_at) if report.checked_at else ''}",
        show_lines=True,
        expand=True,
    )
    table.add_column("Standing", no_wrap=True)
    # width: the least it gets (rich gives a ratio column no min_width), e.g. at 100 columns
    table.add_column("Resource", ratio=1, width=30, overflow="fold")
    table.add_column("Policy", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("What Lambda would do, and the remedy", ratio=3, overflow="fold")
    for finding in report.sorted():
        # a template's names and an account's words (revocation reasons): shown, not obeyed
        resource = Text(visible(finding.name))
        if finding.construct_path is not None:
            resource.append(f"\n{visible(finding.path)}", style="dim")
        resource.append(f"\n{visible(finding.resource_type)}", style="dim")
        said = Text(visible(finding.message))
        if finding.remedy:
            said.append("\nremedy: ", style="bold")
            said.append(visible(finding.remedy))
        table.add_row(
            Text(finding.standing.value, style=STYLES[finding.standing]),
            _WrapAtSlash(resource),
            finding.policy or "-",
            finding.check or "-",
            said,
        )
    import sys

    if width is None and not sys.stdout.isatty():
        width = LOG_WIDTH  # a log or a pipe: wide enough that a sentence stays on a line
    console = Console(width=width, soft_wrap=False)
    with console.capture() as captured:
        console.print(table)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
        console.print(f"{len(report.findings)} functions and layers: {counts or 'none'}")
    return captured.get()


@click.command(cls=SamCommand)
@click.argument("path", metavar="TEMPLATE|CDK_OUT_DIR", type=click.Path(path_type=Path))
@click.option(
    "--parameter-overrides",
    "parameter_overrides",
    cls=SpaceSeparated,
    metavar='"Key=Value ..."',
    help="Template parameter values (over their Default), as with sam deploy.",
)
@click.option(
    "--signing-profiles",
    "--signing-profile",
    "signing_profiles",
    cls=SpaceSeparated,
    metavar='"LogicalId=Profile[:Owner] ..."',
    help="Judge these functions and layers as sam-ext package would sign them: a fresh "
    "signature by that profile (ids: logical ids, ChildStack/FunctionId, or CDK construct "
    "paths).",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table (worst first), or the JSON document of schemas/check-report.schema.json.",
)
@click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.REJECT.value,
    show_default=True,
    help="reject: exit 1 only when some deploy would be rejected (REJECT). warn: exit 1 also "
    "for WARN, UNKNOWN and NO_CONFIG (ALLOW and NOT_APPLICABLE never fail).",
)
@pass_context
def check(
    ctx: CliContext,
    path: Path,
    parameter_overrides: tuple[str, ...],
    signing_profiles: tuple[str, ...],
    output: str,
    fail_on: str,
) -> None:
    """Lambda's verdict for every function and layer of TEMPLATE (SAM or CloudFormation,
    JSON or YAML, nested stacks included) or of a CDK cloud assembly (CDK_OUT_DIR, or one
    stack's cdk.out/STACK.template.json), before anything deploys.

    Each function's code (a local path or CDK asset, an S3 object, inline code) is judged
    under its code signing config (a literal ARN, a Ref/GetAtt to a config in the template,
    a parameter, or one on the backend), and each layer under the config of every function
    that uses it, as Lambda's deploy would: ALLOW, WARN, REJECT, UNKNOWN (a check that
    cannot be decided before deploy, said per check), NO_CONFIG (a function without a code
    signing config) or NOT_APPLICABLE (a container image). S3 objects are read on the
    backend (--backend aws, or sam-ext serve).

    Exit status: 0 when no deploy would be rejected; 1 when one would (with --fail-on warn,
    also for any WARN, UNKNOWN or NO_CONFIG); 2 for bad input (not a template, a cloud
    assembly without templates, an asset outside the assembly, a Ref to nothing, a bad
    --parameter-overrides or --signing-profiles).
    """
    options = CheckOptions(
        at=ctx.now,
        parameter_overrides=parse_overrides(parameter_overrides),
        signing_profiles=parse_signing_profiles(signing_profiles),
    )
    ctx.require_keystore("check")
    report = check_template(path, options, ctx.backend)
    for note in report.notes:
        warn(note)
    if output == "json":
        emit(report.to_document(), schema="check-report")
    else:
        click.echo(render_table(report), nl=False, color=None)
    status = report.exit_code(FailOn(fail_on))
    if status:
        raise click.exceptions.Exit(status)
