"""Template parameters: ``--parameter-overrides`` (SAM CLI syntax) over ``Default`` values,
and substitution of ``{"Ref": Parameter}`` where a literal value is needed."""

from __future__ import annotations

import re
from typing import Any

from provider.errors import ValidationError
from sam_ext.template import Template

_PAIR = re.compile(
    r"(?:(?: )([A-Za-z0-9\"']+)=(\"(?:\\.|[^\"\\]+)*\"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ \"\\]+)+))"
)
_LONG_FORM = re.compile(r"ParameterKey=([^,]+),ParameterValue=(\S*)")


def _unquote(value: str) -> str:
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def parse_overrides(values: str | list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """``"Key=Value Key2='a b'"`` or ``ParameterKey=K,ParameterValue=V`` pairs."""
    if not values:
        return {}
    items = [values] if isinstance(values, str) else list(values)
    result: dict[str, str] = {}
    for item in items:
        long_form = _LONG_FORM.findall(item)
        pairs = long_form or _PAIR.findall(" " + item.strip())
        if not pairs:
            raise ValidationError(
                f"--parameter-overrides: {item!r} is not valid; use 'Key=Value Key2=Value2'"
            )
        for key, value in pairs:
            result[_unquote(key)] = _unquote(value)
    return result


def parameter_values(template: Template, overrides: dict[str, str]) -> dict[str, Any]:
    """Each declared parameter's value: the override, else its ``Default``."""
    declared = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ValidationError(
            f"--parameter-overrides: the template declares no parameter {', '.join(unknown)}"
        )
    values = {
        name: spec.get("Default")
        for name, spec in declared.items()
        if isinstance(spec, dict) and "Default" in spec
    }
    values.update(overrides)
    return values


def require_values(template: Template, values: dict[str, Any]) -> None:
    """Refuse, as CloudFormation does, a declared parameter with no ``Default`` that
    ``--parameter-overrides`` does not give a value."""
    missing = [name for name in template.get("Parameters") or {} if name not in values]
    if missing:
        example = " ".join(f"{name}=VALUE" for name in missing)
        raise ValidationError(
            f"--parameter-overrides: parameters {', '.join(missing)} must have values (the "
            f"template gives them no Default); pass --parameter-overrides {example}"
            if len(missing) > 1
            else f"--parameter-overrides: parameter {missing[0]} must have a value (the "
            f"template gives it no Default); pass --parameter-overrides {example}"
        )


def substitute(value: Any, parameters: dict[str, Any]) -> Any:
    """Replace ``{"Ref": P}`` by parameter P's value, recursively."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("Ref"), str) and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {key: substitute(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, parameters) for item in value]
    return value
