"""What every command shares: the backend to talk to and the instant to act at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast

from provider.clock import parse_instant, utcnow

if TYPE_CHECKING:
    from provider.backends.local import LocalBackend


@dataclass
class CliContext:
    """Global options, resolved lazily so ``--help`` never touches the keystore."""

    home: str | None = None
    region: str | None = None
    backend_name: str = "local"
    now_text: str | None = None
    _backend: LocalBackend | None = field(default=None, repr=False)

    @property
    def backend(self) -> LocalBackend:
        """The backend, opened on first use.

        Typed as the local backend: the aws backend has the same operations with the same
        documents for every command that runs on it; the commands that need the local
        keystore itself (package, deploy) refuse ``--backend aws`` in :mod:`sam_ext.cli`.
        """
        if self._backend is None:
            from provider.backends.factory import open_backend  # on first use: start-up time

            opened = open_backend(self.backend_name, home=self.home, region=self.region)
            self._backend = cast("LocalBackend", opened)
        return self._backend

    @property
    def now(self) -> datetime:
        """``--now`` if given, else the system clock (read once per command)."""
        if self.now_text is not None:
            return parse_instant(self.now_text, field="--now")
        return utcnow()
