"""Choose a backend by name: the one place that knows which backends exist."""

from __future__ import annotations

from provider.backends.local import LocalBackend
from provider.errors import ValidationError

BACKENDS = ("local",)


def open_backend(
    name: str = "local", *, home: str | None = None, region: str | None = None
) -> LocalBackend:
    """Open the named backend (``local`` is the offline default)."""
    if name == "local":
        return LocalBackend(home, region)
    raise ValidationError(f"backend: {name!r} is not one of {', '.join(BACKENDS)}")
