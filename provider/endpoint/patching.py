"""The endpoint's wraps on moto's classes, explicit and checked: each takes the original
with :func:`original` and installs its replacement with :func:`install` (moto's models
are untyped, so assigning to their methods directly would need one of mypy's ignore
comments per wrap). Every wrap is written for :data:`provider.endpoint.moto_hook.PINNED_MOTO`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def original(owner: object, name: str) -> Callable[..., Any]:
    """``owner.name`` as it is now, to be called by its replacement; a classmethod's or
    staticmethod's function itself (a classmethod's then takes the class first)."""
    found = inspect.getattr_static(owner, name)
    if isinstance(found, classmethod | staticmethod):
        function: Callable[..., Any] = found.__func__
        return function
    value: Callable[..., Any] = getattr(owner, name)
    if not callable(value):
        raise TypeError(f"{owner!r}.{name} is not callable; there is nothing to wrap")
    return value


def install(owner: object, name: str, replacement: object) -> None:
    """Make ``replacement`` ``owner.name`` (a method, a ``classmethod(...)``, a property,
    or a module's function)."""
    setattr(owner, name, replacement)


def wrap(owner: object, name: str, replacement: Callable[..., Any]) -> Callable[..., Any]:
    """Install ``replacement`` as the method ``owner.name``; returns the original."""
    before = original(owner, name)
    install(owner, name, replacement)
    return before
