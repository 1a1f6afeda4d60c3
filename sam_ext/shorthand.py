"""The AWS CLI's shorthand syntax for structure options (``Key=v1,v2``), or JSON."""

from __future__ import annotations

import json
from typing import Any

from provider.errors import ValidationError


def parse_structure(text: str, *, option: str, keys: dict[str, bool]) -> dict[str, Any]:
    """Parse ``Key=value`` / ``Key=v1,v2`` shorthand or a JSON object.

    ``keys`` maps each accepted key to whether its value is a list. The message of any
    error names ``option``.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{option}: not valid JSON ({exc.msg})") from None
        if not isinstance(document, dict) or not set(document) <= set(keys):
            raise ValidationError(f"{option}: expected a JSON object with keys {', '.join(keys)}")
        return document
    key, sep, value = stripped.partition("=")
    key = key.strip()
    if not sep or key not in keys:
        expected = " or ".join(f"{k}=..." for k in keys)
        raise ValidationError(f"{option}: {text!r} is not of the form {expected}")
    if keys[key]:
        items = [item.strip() for item in value.split(",") if item.strip()]
        return {key: items}
    return {key: value.strip()}
