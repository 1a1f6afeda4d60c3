"""Defaults from ``samconfig.toml``, read as SAM CLI reads them.

``[ENV.COMMAND.parameters]`` (e.g. ``[default.package.parameters]``) over
``[ENV.global.parameters]``; keys are option names with ``_`` for ``-``
(``signing_profiles``, ``s3_bucket``, ``template_file``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from provider.errors import ValidationError

DEFAULT_FILE = "samconfig.toml"


def _expected(option: click.Parameter) -> str:
    """What a samconfig value for ``option`` must be, in words."""
    if isinstance(option, click.Option) and option.is_flag:
        return "true or false"
    if option.multiple:
        return "text, or a list of text"
    if isinstance(option.type, click.types.IntParamType):
        return "a whole number"
    return "text"


def _fits(value: Any, option: click.Parameter) -> bool:
    if isinstance(option, click.Option) and option.is_flag:
        return isinstance(value, bool)
    if option.multiple:
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        )
    if isinstance(option.type, click.types.IntParamType):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _check(parameters: dict[str, Any], options: Sequence[click.Parameter], where: str) -> None:
    """Refuse a value of the wrong type for a known option, naming the file and key (so
    nothing deep inside meets, say, a number where a list of text belongs)."""
    by_name = {option.name: option for option in options if option.name}
    for key, value in parameters.items():
        option = by_name.get(key)
        if option is None:
            continue  # a key of another command, or of SAM CLI only: not ours to judge
        if not _fits(value, option):
            raise ValidationError(f"{where} {key}: {value!r} is not {_expected(option)}")
        if isinstance(option.type, click.types.IntParamType | click.Choice):
            try:
                option.type.convert(value, option, None)
            except click.BadParameter as exc:
                raise ValidationError(f"{where} {key}: {exc.message}") from None


def read_parameters(
    path: Path,
    *,
    env: str,
    command: str,
    required: bool,
    options: Sequence[click.Parameter] = (),
) -> dict[str, Any]:
    """The parameters for ``command`` in environment ``env`` (empty when there is no file),
    each value of one of ``options`` checked against that option's type."""
    if not path.is_file():
        if required:
            raise ValidationError(f"--config-file: {str(path)!r} does not exist")
        return {}
    import tomllib  # only when there is a file to read: start-up time

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--config-file: {str(path)!r} is not valid TOML: {exc}") from None
    section = document.get(env, {})
    if not isinstance(section, dict):
        raise ValidationError(f"--config-file: [{env}] in {str(path)!r} is not a table")
    merged: dict[str, Any] = {}
    for name in ("global", command):
        table = section.get(name, {})
        parameters = table.get("parameters", {}) if isinstance(table, dict) else None
        if not isinstance(parameters, dict):
            raise ValidationError(
                f"--config-file: [{env}.{name}.parameters] in {str(path)!r} is not a table"
            )
        _check(parameters, options, f"{path}: [{env}.{name}.parameters]")
        merged.update(parameters)
    return merged
