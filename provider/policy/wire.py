"""Resource properties as the engine sends them to a policy pack, made plain.

The engine marshals properties as JSON-like values; a value not known until deploy (during
a preview) is one of Pulumi's sentinel strings (one per type). pulumi-policy wraps the
values in proxies that raise on an unknown; :func:`plain` undoes that, so the pack's pure
functions see ordinary dicts and lists, with unknowns as the sentinel strings, exactly the
shape recorded in tests/policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Pulumi's wire sentinels for unknown values (pulumi-policy's ``proxy`` and
#: pulumi's ``runtime.rpc.UNKNOWN`` use the same strings).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (and dynamic providers' UNKNOWN)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
#: The string sentinel (``pulumi.runtime.rpc.UNKNOWN``): what a dynamic provider's inputs
#: hold for a value unknown until deploy, and what tests write for one. The one spelling of
#: it here (:mod:`provider.resources._base` uses this).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Unknown:
    """A value the preview cannot know yet (a computed output of a resource to be made)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


#: The one :class:`Unknown`.
UNKNOWN_VALUE = Unknown()


def is_unknown(value: Any) -> bool:
    """Whether ``value`` itself is unknown (a sentinel string or :data:`UNKNOWN_VALUE`)."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


def plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """pulumi-policy's proxied properties as plain data in the engine's wire shape
    (archives and assets as their signature dicts, unknowns as sentinel strings)."""
    from pulumi_policy.deserialize import serialize_properties

    return dict(serialize_properties(props))


def text(value: Any) -> str | Unknown | None:
    """A string property: the string, :data:`UNKNOWN_VALUE`, or ``None`` when absent/empty."""
    if is_unknown(value):
        return UNKNOWN_VALUE
    if isinstance(value, str) and value:
        return value
    return None


def field(props: Mapping[str, Any], *path: str) -> Any:
    """The value at ``path`` inside nested objects; ``None`` when a step is absent, and
    :data:`UNKNOWN_VALUE` when a step is unknown."""
    value: Any = props
    for key in path:
        if is_unknown(value):
            return UNKNOWN_VALUE
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return UNKNOWN_VALUE if is_unknown(value) else value


def normalized(value: Any) -> Any:
    """``value`` with every unknown (of any type) as the string sentinel, the one form the
    resources' own code (:func:`provider.resources._base.is_unknown`) recognises."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalized(item) for item in value]
    return value
