"""What every dynamic provider of this package shares.

Runs in two processes: the program (``settings_input``) and the engine's dynamic provider
host (everything else). Only plain data crosses between them.
"""

from __future__ import annotations

import hashlib
import string
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pulumi
from jsonschema.exceptions import ValidationError as SchemaViolation
from pulumi.dynamic import CheckFailure, ConfigureRequest, ReadResult, ResourceProvider
from pulumi.output import Unknown

from provider import schemas
from provider.backends.base import Backend
from provider.backends.factory import open_backend
from provider.backends.local.store import resolve_home
from provider.clock import parse_instant, utcnow
from provider.errors import CodesignError, NotFoundError
from provider.policy.wire import UNKNOWN

# UNKNOWN (Pulumi's ``rpc.UNKNOWN``) is the wire form of an input that is not known yet
# (during a preview). Dynamic providers receive it deserialised as a
# :class:`pulumi.output.Unknown` instance.

T = TypeVar("T")


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is, or contains, a value unknown until deploy."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN):
        return True
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return False


def _path(error: SchemaViolation) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(
        "."
    )


def check_inputs(props: dict[str, Any], schema: str, kind: str) -> list[CheckFailure]:
    """Validate known inputs against ``schemas/{schema}``; unknown values are left for later.

    Each failure names the field and the rule; the engine adds the resource's name.
    """
    known = {k: v for k, v in props.items() if not k.startswith("__") and not is_unknown(v)}
    failures: list[CheckFailure] = []
    for error in schemas.validator(schema).iter_errors(known):
        if error.validator == "required" and any(
            f"'{key}'" in error.message for key in props if is_unknown(props[key])
        ):
            continue
        field = _path(error) or "(inputs)"
        failures.append(
            CheckFailure(
                field.split(".")[0].split("[")[0],
                f"{kind} input {field}: {schemas.violation_message(error)}",
            )
        )
    return failures


def settings_input(backend: str | None, home: str | None, region: str | None) -> dict[str, Any]:
    """The ``settings`` input (program side): per-resource values, else stack config
    ``codesign:backend|home|region|now``; ``home`` made absolute so the provider host's
    working directory does not matter."""
    config = pulumi.Config("codesign")
    chosen_home = home or config.get("home")
    return {
        "backend": backend or config.get("backend") or "local",
        "home": str(Path(chosen_home).expanduser().resolve()) if chosen_home else None,
        "region": region or config.get("region"),
        "now": config.get("now"),
    }


def on_aws(props: dict[str, Any]) -> bool:
    """Whether a resource's ``settings`` choose the aws backend."""
    return (props.get("settings") or {}).get("backend") == "aws"


def keystore_home(settings: Mapping[str, Any]) -> Path:
    """The local keystore directory a resource's ``settings`` name: ``home``, else
    ``$CODESIGN_HOME``, else the user data directory. What :func:`backend_of` opens, and
    where the policy pack reads the same keystore's trust records."""
    return resolve_home(settings.get("home") or None)


def backend_of(props: dict[str, Any]) -> Backend:
    """Open the backend named by a resource's ``settings`` input."""
    settings = props.get("settings") or {}
    name = settings.get("backend") or "local"
    home = str(keystore_home(settings)) if name == "local" else None
    return open_backend(name, home=home, region=settings.get("region"))


def now_of(props: dict[str, Any]) -> datetime:
    """The instant to act at: ``codesign:now`` when set (reproducible runs), else the clock."""
    fixed = (props.get("settings") or {}).get("now")
    return parse_instant(fixed, field="codesign:now") if fixed else utcnow()


def name_seed(kind: str, name: str, opts: pulumi.ResourceOptions | None = None) -> str:
    """The ``name_seed`` input (program side): a digest of the project, the stack, the
    resource's type, its parent's name and its own, i.e. of what its URN is made of, so
    that ``preview`` and ``up`` derive the same auto-name (:func:`auto_name`)."""
    parent = opts.parent if opts else None
    parent_name = str(getattr(parent, "_name", "")) if parent is not None else ""
    identity = "/".join([pulumi.get_project(), pulumi.get_stack(), kind, parent_name, name])
    return hashlib.sha256(identity.encode()).hexdigest()


def auto_name(
    logical_name: str,
    separator: str,
    alphabet: str,
    limit: int,
    seed: str | None,
    generation: int = 0,
) -> str:
    """A Pulumi-style auto-name: the logical name (sanitised) + a 7-character suffix derived
    from ``seed`` (see :func:`name_seed`) and ``generation`` (bumped for a replacement that
    needs a new name), so the same resource gets the same name in every preview and up."""
    allowed = set(alphabet)
    base = "".join(c if c in allowed else separator for c in logical_name)[: limit - 8]
    digest = int.from_bytes(
        hashlib.sha256(f"{seed or logical_name}:{generation}".encode()).digest()[:8], "big"
    )
    symbols = string.ascii_lowercase + string.digits
    suffix = ""
    for _ in range(7):
        digest, index = divmod(digest, len(symbols))
        suffix += symbols[index]
    return f"{base}{separator}{suffix}"


@contextmanager
def reported() -> Iterator[None]:
    """Let a :class:`CodesignError` reach the engine as its one-line message."""
    try:
        yield
    except CodesignError as exc:
        raise CodesignStepError(str(exc), code=exc.code, field=exc.field) from None


def gone() -> ReadResult:
    """What ``read`` returns for a resource that no longer exists (deleted out of band):
    no id, so ``pulumi refresh`` drops it from state and the next ``pulumi up`` creates it
    again, Pulumi's convention for every provider."""
    return ReadResult(None, {})


def missing_is_deleted() -> AbstractContextManager[None]:
    """Around a ``delete``: a resource already gone is deleted (Pulumi's convention), so
    ``pulumi destroy`` of something removed out of band succeeds."""
    return suppress(NotFoundError)


class CodesignStepError(CodesignError):
    """How a failed lifecycle step reaches the engine: the :class:`CodesignError` it
    stands for, as one line (``code: message``), which is also its ``str()``; the
    original's ``code`` and ``field`` stay on it."""

    def __str__(self) -> str:
        return self.message


def _plain_format_exc(limit: int | None = None, chain: bool = True) -> str:
    """What the dynamic provider host shows for the exception being handled (see
    :class:`_HostTraceback`): a :class:`CodesignStepError` as its message, any other
    :class:`CodesignError` (one raised outside :func:`reported`, e.g. by a keystore opened
    in ``check``) as its one line without the class's module path, and anything else, a
    defect, as :func:`traceback.format_exc` renders it, traceback and all."""
    error = sys.exc_info()[1]
    if isinstance(error, CodesignError):
        return str(error)
    return traceback.format_exc(limit=limit, chain=chain)


#: The module the engine's dynamic provider host runs as (``python -m pulumi.dynamic``).
HOST_MODULE = "pulumi.dynamic.__main__"


class _HostTraceback:
    """The ``traceback`` the dynamic provider host's module sees once one of this
    package's providers is configured in it. The host reports a failed step as
    ``traceback.format_exc()`` (``_abort_with_traceback`` in pulumi/dynamic/__main__.py)
    and the engine shows that text as the step's error; through this, a
    :class:`CodesignError` is its one line (:func:`_plain_format_exc`). Only that module's
    name is rebound: the :mod:`traceback` module, ``sys.tracebacklimit`` and every other
    module of the process (another dynamic provider of the program, grpc) are untouched."""

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    @staticmethod
    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        return _plain_format_exc(limit, chain)


def report_one_line_in_host() -> bool:
    """In the dynamic provider host (and only there), show this package's errors as their
    one line (:class:`_HostTraceback`); whether the process is that host."""
    host = sys.modules.get("__main__")
    spec = getattr(host, "__spec__", None)
    if host is None or spec is None or spec.name != HOST_MODULE:
        return False
    if vars(host).get("traceback") is traceback:
        vars(host)["traceback"] = _HostTraceback()
    return True


def checked(call: Callable[[], T], field: str) -> T | CheckFailure:
    """Run a backend look-up during ``check``; a :class:`CodesignError` becomes a failure."""
    try:
        return call()
    except CodesignError as exc:
        return CheckFailure(field, str(exc))


class CodesignProvider(ResourceProvider):
    """Base of this package's dynamic providers."""

    # The serialized provider holds no secret: it need not be a secret in state.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Runs once per provider host process, after unpickling."""
        report_one_line_in_host()
