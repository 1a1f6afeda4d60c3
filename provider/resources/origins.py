"""Which resource's attribute an Output is (program side), so that passing
``profile.profile_version_arn`` or ``package.location`` predicts as passing the resource.

A Pulumi Python resource exposes each output as one :class:`pulumi.Output` object, made
once when the resource is registered (``resource.__dict__[name]``). Each resource of this
package marks the outputs a program commonly passes on (:func:`mark`); :func:`traced`
answers, for a value a program passes, which resource and attribute it is. Only such an
Output itself is traced: one derived from it (``apply``, ``Output.all``, a string built
from it) is another object and stays what it is, unknown until deploy.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection
from typing import Any, TypeVar

import pulumi

R = TypeVar("R", bound=pulumi.Resource)

#: Output -> (its resource, the attribute). Weak: an Output no one holds is gone.
_ORIGINS: weakref.WeakKeyDictionary[pulumi.Output[Any], tuple[pulumi.Resource, str]] = (
    weakref.WeakKeyDictionary()
)


def mark(resource: pulumi.Resource, *attributes: str) -> None:
    """Record that ``resource``'s outputs named ``attributes`` are its own."""
    for attribute in attributes:
        output = vars(resource).get(attribute)
        if isinstance(output, pulumi.Output):
            _ORIGINS[output] = (resource, attribute)


def traced(value: Any, kind: type[R], attributes: Collection[str]) -> R | None:
    """The ``kind`` resource whose output ``value`` is (one of ``attributes``), or
    ``None`` for anything else (a plain value, or an Output derived from one)."""
    if not isinstance(value, pulumi.Output):
        return None
    origin = _ORIGINS.get(value)
    if origin is None:
        return None
    resource, attribute = origin
    return resource if isinstance(resource, kind) and attribute in attributes else None
