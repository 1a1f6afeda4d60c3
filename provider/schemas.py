"""Load the project's JSON Schemas (Draft 2020-12) and validate documents at the edge.

The schemas live in the repository's top-level ``schemas/`` directory and are shipped
inside the wheel as ``provider/schemas``; :func:`schema_dir` finds whichever is present.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.errors import ValidationError

# jsonschema is imported on first use: it is a fifth of the CLI's start-up time, and most
# commands validate nothing on their hot path.
if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaViolation
    from referencing import Registry

_BASE_URI = "https://lambda-codesign.invalid/schemas/"


def schema_dir() -> Path:
    """The directory holding ``*.schema.json`` (installed copy first, then the repo's)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / "common.schema.json").is_file():
            return candidate
    raise FileNotFoundError("schemas/ not found next to the provider package")


@cache
def _registry() -> Registry:  # type: ignore[type-arg,unused-ignore]
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((_BASE_URI + path.name, Resource.from_contents(contents, DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for ``schemas/{name}.schema.json``."""
    from jsonschema import Draft202012Validator

    uri = _BASE_URI + f"{name}.schema.json"
    schema = _registry().contents(uri)
    return Draft202012Validator(schema, registry=_registry())


def schema_names() -> list[str]:
    """Every schema's short name (``verdict`` for ``verdict.schema.json``)."""
    return sorted(p.name.removesuffix(".schema.json") for p in schema_dir().glob("*.schema.json"))


#: Size limits said as a count, never by echoing the value (jsonschema's "[...] is too
#: long" would print every one of 21 ARNs, or a whole long description).
_SIZES = {
    "maxItems": ("at most", "item"),
    "minItems": ("at least", "item"),
    "maxLength": ("at most", "character"),
    "minLength": ("at least", "character"),
}


def violation_message(error: SchemaViolation) -> str:
    """A violation said in words; a size limit as a count (never echoing the value)."""
    sized = _SIZES.get(str(error.validator))
    if sized is not None and isinstance(error.instance, list | str):
        bound, unit = sized
        plural = "" if error.validator_value == 1 else "s"
        return f"{bound} {error.validator_value} {unit}{plural} (got {len(error.instance)})"
    return str(error.message)


def _describe(error: SchemaViolation) -> str:
    path = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    ).lstrip(".")
    return f"{path or '(document)'}: {violation_message(error)}"


def validate(document: Any, name: str, *, what: str) -> None:
    """Validate ``document`` against schema ``name``.

    Raises :class:`ValidationError` whose message starts with ``what`` (the document's
    origin, e.g. a file name or ``resource 'fn' input``) and names the offending field.
    """
    from jsonschema.exceptions import best_match

    error = best_match(validator(name).iter_errors(document))
    if error is not None:
        raise ValidationError(f"{what}: {_describe(error)}")
