"""The options ``package`` and ``deploy`` share, declared once, and how they become typed
settings: command line over ``samconfig.toml`` over defaults (:func:`merged_options`),
then :class:`~sam_ext.settings.PackageSettings` (:func:`package_settings`).

SAM CLI's list options (``--signing-profiles``, ``--parameter-overrides``,
``--capabilities``, ``--tags``, ``--notification-arns``) take their items quoted as one
value (``--capabilities "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"``) or as the arguments
that follow (``--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND``), and may be given
more than once. :class:`SpaceSeparated` marks such an option and :class:`SamCommand`
turns the following arguments into more occurrences of it before click parses them
(click itself takes one argument per option).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from sam_ext.parameters import parse_overrides
from sam_ext.samconfig import DEFAULT_FILE, read_parameters
from sam_ext.settings import PackageSettings
from sam_ext.signing_profiles import parse_signing_profiles

#: The names SAM CLI looks for in the working directory (after ``sam build``'s output).
DEFAULT_TEMPLATES = ("template.yaml", "template.yml", "template.json")


class SpaceSeparated(click.Option):
    """A repeatable option whose value is a space-separated list (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("multiple", True)
        super().__init__(*args, **kwargs)


def gather_values(params: Sequence[click.Parameter], args: list[str]) -> list[str]:
    """``args`` with each argument that follows a :class:`SpaceSeparated` option's value
    (up to the next option) made another occurrence of that option."""
    names = {name for param in params if isinstance(param, SpaceSeparated) for name in param.opts}
    gathered: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":
            gathered += args[index - 1 :]
            break
        name, equals, inline = token.partition("=")
        if name not in names or (not equals and index >= len(args)):
            gathered.append(token)
            continue
        values = [inline] if equals else [args[index]]
        index += 0 if equals else 1
        while index < len(args) and not args[index].startswith("-"):
            values.append(args[index])
            index += 1
        for value in values:  # one occurrence each: an argument's own spaces are kept
            gathered += [name, value]
    return gathered


class SamCommand(click.Command):
    """A command whose :class:`SpaceSeparated` options take SAM CLI's unquoted lists."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Gather the lists, then parse as click does."""
        return super().parse_args(ctx, gather_values(self.get_params(ctx), args))


def default_template() -> Path:
    """The template ``--template-file`` defaults to: ``sam build``'s output, else the first
    of :data:`DEFAULT_TEMPLATES` in the working directory (else the first's name)."""
    built = Path(".aws-sam/build/template.yaml")
    if built.is_file():
        return built
    for name in DEFAULT_TEMPLATES:
        if Path(name).is_file():
            return Path(name)
    return Path(DEFAULT_TEMPLATES[0])


def template_options(function: Any) -> Any:
    """The options ``package`` and ``deploy`` share: the template, its signing profiles and
    parameters, where packages go, and the samconfig file."""
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


def merged_options(
    command: str, config_file: str | None, config_env: str, given: dict[str, Any]
) -> dict[str, Any]:
    """Command-line options over samconfig.toml parameters over defaults (each samconfig
    value checked against the current command's option of its name)."""
    config_path = Path(config_file or DEFAULT_FILE)
    defaults = read_parameters(
        config_path,
        env=config_env,
        command=command,
        required=config_file is not None,
        options=click.get_current_context().command.params,
    )
    options = {**defaults, **{k: v for k, v in given.items() if v not in (None, ())}}
    options.setdefault("template_file", str(default_template()))
    return options


def package_settings(options: Mapping[str, Any]) -> PackageSettings:
    """The :func:`template_options` of merged options, parsed (a bad ``--signing-profiles``
    or ``--parameter-overrides`` is said here, before any work)."""
    artifact_dir = options.get("artifact_dir")
    return PackageSettings(
        template_file=Path(options["template_file"]),
        signing_profiles=parse_signing_profiles(options.get("signing_profiles")),
        parameter_overrides=parse_overrides(options.get("parameter_overrides")),
        s3_bucket=options.get("s3_bucket") or None,
        s3_prefix=options.get("s3_prefix") or "",
        artifact_dir=Path(artifact_dir) if artifact_dir else None,
        jobs=options.get("jobs") or None,
    )
