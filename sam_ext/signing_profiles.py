"""``--signing-profiles``, parsed exactly as SAM CLI parses it.

``"LogicalId=ProfileName[:ProfileOwner] ..."``: pairs separated by spaces; a value may be
double-quoted (with backslash escapes); a logical id is letters, digits (or quotes), or a
path of them through nested stacks (``ChildStack/FunctionId``, as SAM CLI names nested
resources); a value with more than one ``:`` is an error, as is an empty profile name. Text
that is not a pair is ignored, as by SAM CLI, unless no pair at all is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provider.errors import ValidationError

_PAIR = re.compile(r"(?:(?: )([A-Za-z0-9\"/]+)=(\"(?:\\.|[^\"\\]+)*\"|(?:\\.|[^ \"\\]+)+))")


@dataclass(frozen=True)
class SigningProfileRef:
    """The profile (and owner account, for cross-account signing) for one resource."""

    profile_name: str
    profile_owner: str | None = None


def _unquote(value: str) -> str:
    if value and value[0] == value[-1] and value[0] in "\"'" and len(value) > 1:
        value = value[1:-1]
    return value.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def parse_signing_profiles(
    values: str | list[str] | tuple[str, ...] | None,
) -> dict[str, SigningProfileRef]:
    """Map logical ids to profiles. ``values`` may be one string, or several (samconfig lists)."""
    if not values:
        return {}
    items = [values] if isinstance(values, str) else list(values)
    result: dict[str, SigningProfileRef] = {}
    for item in items:
        pairs = _PAIR.findall(" " + item.strip())
        if not pairs:
            raise ValidationError(
                f"--signing-profiles: {item!r} is not valid; it should look like "
                "'MyFunction=MySigningProfile' or 'MyFunction=MySigningProfile:123456789012'"
            )
        for logical_id, raw in pairs:
            value = _unquote(raw)
            if value.count(":") > 1:
                raise ValidationError(
                    f"--signing-profiles: {logical_id}={value!r} has more than one ':'; use "
                    "MyFunction=MySigningProfile or MyFunction=MySigningProfile:ProfileOwner"
                )
            name, _, owner = value.partition(":")
            if not name:
                raise ValidationError(
                    f"--signing-profiles: {logical_id} has no profile name; use "
                    "MyFunction=MySigningProfile or MyFunction=MySigningProfile:ProfileOwner"
                )
            result[_unquote(logical_id)] = SigningProfileRef(name, owner or None)
    return result
