"""``sam-ext package``: like ``sam package``, but every function and layer given a signing
profile is signed before it is placed, unchanged code is served from a cache, and the
verdict of each function's code signing config is shown at the end.

Packages go to a local artifact directory (local backend) or, with ``--backend aws``, to
``--s3-bucket``/``--s3-prefix`` as ``sam package`` puts them there."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from provider.clock import format_instant
from provider.errors import ValidationError
from sam_ext.context import CliContext
from sam_ext.options import SamCommand, SpaceSeparated
from sam_ext.output import say, warn
from sam_ext.packaging.destination import ArtifactDestination, LocalDirectory, S3Prefix
from sam_ext.packaging.nested import package_nested
from sam_ext.packaging.packager import Packaged, Packager
from sam_ext.parameters import parameter_values, parse_overrides
from sam_ext.samconfig import DEFAULT_FILE, read_parameters
from sam_ext.signing_profiles import parse_signing_profiles
from sam_ext.template import Template, dump_template, load_template

pass_context = click.make_pass_decorator(CliContext)
DEFAULT_TEMPLATES = ("template.yaml", "template.yml", "template.json")


def _default_template() -> Path:
    built = Path(".aws-sam/build/template.yaml")
    if built.is_file():
        return built
    for name in DEFAULT_TEMPLATES:
        if Path(name).is_file():
            return Path(name)
    return Path(DEFAULT_TEMPLATES[0])


def _default_artifact_dir(template_path: Path) -> Path:
    """``.sam-ext/artifacts`` in the project: beside the template, or beside ``.aws-sam``
    for ``sam build`` output, so a clean rebuild does not wipe the cache."""
    directory = template_path.resolve().parent
    if directory.name == "build" and directory.parent.name == ".aws-sam":
        directory = directory.parent.parent
    return directory / ".sam-ext" / "artifacts"


@dataclass
class PackagedTemplate:
    """A packaged template, what each artifact became, and where they went."""

    template: Template
    results: list[Packaged]
    destination: ArtifactDestination


def _summary(packaged_template: PackagedTemplate) -> str:
    rows = [("Resource", "Profile", "Signed object", "Signature expires", "Verdict")]
    label = packaged_template.destination.label
    for packaged in packaged_template.results:
        profile = packaged.artifact.profile
        verdict = packaged.verdict
        if verdict is not None:
            checks = ",".join(f.check.value for f in verdict.failed)
            verdict_text = verdict.decision.value + (f" ({checks})" if checks else "")
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


def default_jobs(ctx: CliContext) -> int:
    """Packages handled at once without ``--jobs``: on AWS, where each waits for its
    signing job, :data:`provider.backends.batch.DEFAULT_JOBS` (chosen from Signer's rate
    quotas); locally, where zipping and signing use this machine's cores, two per core up
    to 8."""
    if ctx.is_aws:
        from provider.backends.batch import DEFAULT_JOBS

        return DEFAULT_JOBS
    return min(8, (os.cpu_count() or 2) * 2)


def artifact_destination(
    ctx: CliContext, options: dict[str, Any], artifact_dir: Path
) -> ArtifactDestination:
    """``--s3-bucket``/``--s3-prefix`` on the aws backend (required there), else the
    local artifact directory."""
    bucket = options.get("s3_bucket")
    if not ctx.is_aws:
        if bucket or options.get("s3_prefix"):
            warn(
                "--s3-bucket/--s3-prefix are used with --backend aws only; the local backend "
                f"writes packages to {artifact_dir}"
            )
        return LocalDirectory(artifact_dir)
    if not bucket:
        raise ValidationError(
            "--s3-bucket: required with --backend aws (the versioned S3 bucket packages are "
            "uploaded to and signed in; add --s3-prefix to put them under a prefix)"
        )
    return S3Prefix(ctx.aws_backend.objects, bucket, options.get("s3_prefix") or "")


def package_template(ctx: CliContext, options: dict[str, Any]) -> PackagedTemplate:
    """Package a template; shared by ``package`` and ``deploy``."""
    template_path = Path(options["template_file"])
    artifact_dir = Path(
        options.get("artifact_dir") or _default_artifact_dir(template_path)
    ).resolve()
    destination = artifact_destination(ctx, options, artifact_dir)
    template = load_template(template_path)
    profiles = parse_signing_profiles(options.get("signing_profiles"))
    packager = Packager(
        ctx.backend,
        artifact_dir,
        now=ctx.now,
        progress=say,
        jobs=options.get("jobs") or default_jobs(ctx),
        destination=destination,
    )
    parameters = parameter_values(template, parse_overrides(options.get("parameter_overrides")))
    packaged, results = package_nested(
        packager, template, template_path, profiles, parameters, notify=warn
    )
    return PackagedTemplate(packaged, results, destination)


def merged_options(
    command: str, config_file: str | None, config_env: str, given: dict[str, Any]
) -> dict[str, Any]:
    """Command-line options over samconfig.toml parameters over defaults."""
    config_path = Path(config_file or DEFAULT_FILE)
    defaults = read_parameters(
        config_path,
        env=config_env,
        command=command,
        required=config_file is not None,
        options=click.get_current_context().command.params,
    )
    options = {**defaults, **{k: v for k, v in given.items() if v not in (None, ())}}
    options.setdefault("template_file", str(_default_template()))
    return options


def common_options(function: Any) -> Any:
    """Options shared by package and deploy."""
    for option in reversed(
        [
            click.option(
                "--template-file",
                "-t",
                "template_file",
                help="SAM template (default: .aws-sam/build/template.yaml or template.yaml).",
            ),
            click.option(
                "--signing-profiles",
                "--signing-profile",
                "signing_profiles",
                cls=SpaceSeparated,
                metavar='"LogicalId=Profile[:Owner] ..."',
                help="Sign these functions and layers, as with sam package (also spelt "
                "--signing-profile).",
            ),
            click.option(
                "--parameter-overrides",
                "parameter_overrides",
                cls=SpaceSeparated,
                metavar='"Key=Value ..."',
                help="Template parameter values.",
            ),
            click.option(
                "--s3-bucket",
                help="Versioned S3 bucket packages are uploaded to and signed in (aws "
                "backend; required whenever code is packaged there).",
            ),
            click.option(
                "--s3-prefix", help="Prefix of the S3 keys (aws backend), as with sam package."
            ),
            click.option(
                "--artifact-dir",
                type=click.Path(path_type=Path),
                help="Where packages go (local backend) and the package cache lives (both "
                "backends); default .sam-ext/artifacts next to the template.",
            ),
            click.option(
                "--jobs",
                type=click.IntRange(1, 64),
                help="Packages signed in parallel (default: 50 with --backend aws, whose "
                "jobs wait on Signer; else two per core, at most 8).",
            ),
            click.option("--config-file", help="samconfig file (default samconfig.toml)."),
            click.option(
                "--config-env",
                default="default",
                show_default=True,
                help="Environment in the samconfig file.",
            ),
        ]
    ):
        function = option(function)
    return function


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
@common_options
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
    packaged = package_template(ctx, options)
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
