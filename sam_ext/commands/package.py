"""``sam-ext package``: like ``sam package``, but every function and layer given a signing
profile is signed before it is placed, unchanged code is served from a cache, and the
verdict of each function's code signing config is shown at the end.

Packages go to a local artifact directory (local backend) or, with ``--backend aws``, to
``--s3-bucket``/``--s3-prefix`` as ``sam package`` puts them there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from provider.clock import format_instant
from provider.errors import ValidationError
from provider.verdict import SEVERITY, Decision, Verdict
from sam_ext.context import CliContext
from sam_ext.options import SamCommand, merged_options, package_settings, template_options
from sam_ext.output import say
from sam_ext.packaging.packager import LayerUse
from sam_ext.packaging.run import PackagedTemplate, package_template
from sam_ext.template import dump_template

pass_context = click.make_pass_decorator(CliContext)


def _verdict_text(verdict: Verdict) -> str:
    checks = ",".join(f.check.value for f in verdict.failed)
    return verdict.decision.value + (f" ({checks})" if checks else "")


def _layer_text(uses: tuple[LayerUse, ...]) -> str:
    """A layer's verdict under each config of the functions using it: one text per
    outcome, naming the functions (``ALLOW as a layer of A; REJECT (...) as a layer of B``),
    the worst first."""
    by_text: dict[str, list[str]] = {}
    rank: dict[str, int] = {}
    for use in uses:
        if use.verdict is not None:
            text, severity = _verdict_text(use.verdict), SEVERITY.index(use.verdict.decision)
        else:
            text, severity = f"unknown: {use.unknown}", SEVERITY.index(Decision.UNKNOWN)
        by_text.setdefault(text, []).append(use.function)
        rank[text] = severity
    ordered = sorted(by_text, key=lambda text: -rank[text])
    return "; ".join(f"{text} as a layer of {', '.join(by_text[text])}" for text in ordered)


def _summary(packaged_template: PackagedTemplate) -> str:
    rows = [("Resource", "Profile", "Signed object", "Signature expires", "Verdict")]
    label = packaged_template.destination.label
    for packaged in packaged_template.results:
        profile = packaged.artifact.profile
        verdict = packaged.verdict
        if packaged.uses:
            verdict_text = _layer_text(packaged.uses)
        elif verdict is not None:
            verdict_text = _verdict_text(verdict)
        elif packaged.verdict_unknown is not None:
            verdict_text = f"unknown: {packaged.verdict_unknown}"
        elif packaged.artifact.csc.declared:
            verdict_text = f"unknown: {packaged.artifact.csc.unknown_reason}"
        else:
            verdict_text = "no code signing config"
        rows.append(
            (
                packaged.artifact.path,
                profile.profile_name
                + (f":{profile.profile_owner}" if profile.profile_owner else "")
                if profile
                else "-",
                label(packaged.location) + (" (cached)" if packaged.cached else ""),
                packaged.expires_at or "-",
                verdict_text,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _output_target(target: Path) -> Path:
    """``--output-template-file``, checked before anything is packaged: its directory
    must exist (a mistyped path is not created)."""
    if target.is_dir():
        raise ValidationError(f"--output-template-file: {str(target)!r} is a directory")
    if not target.parent.is_dir():
        raise ValidationError(
            f"--output-template-file: the directory {str(target.parent)!r} does not exist "
            f"(create it first, or write {target.name!r} elsewhere)"
        )
    return target


@click.command(cls=SamCommand)
@template_options
@click.option(
    "--output-template-file", help="Where to write the packaged template (default stdout)."
)
@click.option("--use-json", is_flag=True, help="Write the packaged template as JSON.")
@pass_context
def package(
    ctx: CliContext, /, config_file: str | None, config_env: str, use_json: bool, **given: Any
) -> None:
    """Package (and sign) the code of a SAM template's functions and layers."""
    options = merged_options("package", config_file, config_env, given)
    output = options.get("output_template_file")
    target = None if not output else _output_target(Path(output))  # before any work
    packaged = package_template(ctx, package_settings(options))
    text = dump_template(packaged.template, as_json=use_json)
    if target is not None:
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise ValidationError(
                f"--output-template-file: cannot write {str(target)!r}: {exc.strerror}"
            ) from None
        say(f"packaged template written to {target}")
    else:
        click.echo(text, nl=False)
    say(_summary(packaged))
    say(f"done at {format_instant(ctx.now)}")
