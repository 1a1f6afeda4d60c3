"""Defaults from ``samconfig.toml``, read as SAM CLI reads them.

``[ENV.COMMAND.parameters]`` (e.g. ``[default.package.parameters]``) over
``[ENV.global.parameters]``; keys are option names with ``_`` for ``-``
(``signing_profiles``, ``s3_bucket``, ``template_file``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provider.errors import ValidationError

DEFAULT_FILE = "samconfig.toml"


def read_parameters(path: Path, *, env: str, command: str, required: bool) -> dict[str, Any]:
    """The parameters for ``command`` in environment ``env`` (empty when there is no file)."""
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
        parameters = section.get(name, {}).get("parameters", {})
        if not isinstance(parameters, dict):
            raise ValidationError(
                f"--config-file: [{env}.{name}.parameters] in {str(path)!r} is not a table"
            )
        merged.update(parameters)
    return merged
