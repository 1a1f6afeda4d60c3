"""What every command shares: the backend to talk to and the instant to act at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from provider.clock import parse_instant, utcnow
from provider.errors import ValidationError

if TYPE_CHECKING:
    from provider.backends.aws import AwsBackend
    from provider.backends.base import Backend
    from provider.backends.local import LocalBackend


@dataclass
class CliContext:
    """Global options, resolved lazily so ``--help`` never touches the keystore."""

    home: str | None = None
    region: str | None = None
    backend_name: str = "local"
    now_text: str | None = None
    #: The AWS profile (``--profile`` of ``deploy``); ``None``: boto3's own choice.
    profile: str | None = None
    #: How this front end's user chooses the aws backend, as the local backend's messages
    #: say it (the cfn-lint pack's user sets ``SAM_EXT_BACKEND=aws``).
    aws_backend_hint: str = "--backend aws"
    _backend: Backend | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Checked here, before any command runs: a bad --now is bad input (exit 2) even
        # for commands that never read the clock.
        if self.now_text is not None:
            self._now = parse_instant(self.now_text, field="--now")

    @property
    def backend(self) -> Backend:
        """The backend, opened on first use: the operations both backends share."""
        if self._backend is None:
            from provider.backends.factory import open_backend  # on first use: start-up time

            backend = open_backend(
                self.backend_name, home=self.home, region=self.region, profile=self.profile
            )
            if hasattr(backend, "aws_backend_hint"):
                backend.aws_backend_hint = self.aws_backend_hint
            self._backend = backend
        return self._backend

    def require_keystore(self, doing: str, *, option: str = "--home") -> None:
        """For commands that only read (``doing``: "check", "audit"): on the local backend,
        a keystore directory that does not exist (or holds no index) is bad input, and
        nothing is created; one other users can reach is refused as every command refuses
        it, before anything is read. The aws backend has no keystore. ``option``: how the
        user named the keystore (the cfn-lint pack's user sets ``CODESIGN_HOME``)."""
        if self.is_aws:
            return
        from provider.backends.local.store import refuse_exposed, resolve_home

        home = resolve_home(self.home)
        if not (home / "index.sqlite3").is_file():
            names = "--home or CODESIGN_HOME" if option == "--home" else option
            raise ValidationError(
                f"{option}: no keystore at {str(home)!r} (nothing was ever deployed there); "
                f"give the keystore to {doing} with {names}, or make one with "
                "`sam-ext profile put`",
                field=option,
            )
        refuse_exposed(home)

    @property
    def is_aws(self) -> bool:
        """Whether ``--backend aws`` was chosen."""
        return self.backend_name == "aws"

    @property
    def local_backend(self) -> LocalBackend:
        """The local backend itself (its keystore, artifact directory, function registry)."""
        from provider.backends.local import LocalBackend

        backend = self.backend
        assert isinstance(backend, LocalBackend), "local_backend used with --backend aws"
        return backend

    @property
    def aws_backend(self) -> AwsBackend:
        """The aws backend itself (its S3 object store, CloudFormation)."""
        from provider.backends.aws import AwsBackend

        backend = self.backend
        assert isinstance(backend, AwsBackend), "aws_backend used without --backend aws"
        return backend

    @property
    def now(self) -> datetime:
        """``--now`` if given, else the system clock (read once per command)."""
        if self._now is not None:
            return self._now
        return utcnow()
