"""``--trust-file``, ``--trust-anchor`` and ``--trust-max-age``: the options ``verify`` and
``deploy`` share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from provider.errors import ValidationError
from sam_ext.entry import TRUST_ANCHOR_ENV, TRUST_MAX_AGE_ENV
from sam_ext.output import say

if TYPE_CHECKING:
    from provider.trust import TrustFile
    from sam_ext.context import CliContext

F = TypeVar("F", bound=Callable[..., Any])


#: What ``--trust-file`` does for ``verify``: the trust file alone vouches for publishers.
INSTEAD_OF_KEYSTORE = (
    "Judge publishers by this trust file (sam-ext profile export-trust) instead of the "
    "keystore: no keystore or AWS account needed."
)
#: What it does for ``deploy``: the local function registry asks it first, then the keystore.
BEFORE_KEYSTORE = (
    "Judge publishers by this trust file (sam-ext profile export-trust) first, then by the "
    "keystore's own profiles: no keystore or AWS account needed."
)


def trust_file_options(help_text: str = INSTEAD_OF_KEYSTORE) -> Callable[[F], F]:
    """Add ``--trust-file FILE`` (``help_text`` says how it is used), ``--trust-anchor
    SHA256:...`` (repeatable; default ``$CODESIGN_TRUST_ANCHOR``) and ``--trust-max-age
    DURATION`` (default ``$CODESIGN_TRUST_MAX_AGE``) to a command."""

    def decorate(function: F) -> F:
        function = click.option(
            "--trust-max-age",
            "trust_max_age",
            metavar="DURATION",
            help="Refuse a --trust-file exported longer ago than this (e.g. 7d, 12h, 30m), "
            f"counted to --at or --now (exit status 1; default: ${TRUST_MAX_AGE_ENV}, "
            "else no bound).",
        )(function)
        function = click.option(
            "--trust-anchor",
            "trust_anchor",
            multiple=True,
            metavar="SHA256:HEX",
            help="Fingerprint of the trust key that must have signed --trust-file (as "
            f"export-trust printed it; default: ${TRUST_ANCHOR_ENV}).",
        )(function)
        return click.option(
            "--trust-file", "trust_file", type=click.Path(path_type=Path), help=help_text
        )(function)

    return decorate


def load_trust_option(
    ctx: CliContext,
    trust_file: Path | str | None,
    anchors: str | tuple[str, ...] | list[str],
    max_age: str | None = None,
    *,
    at: datetime | None = None,
) -> TrustFile | None:
    """The verified trust file, or ``None`` without ``--trust-file``; refused on aws, and
    when it was exported longer than ``--trust-max-age`` before ``at`` (default: ``--now``).
    An accepted file's age is said on stderr: verdicts judged on it do not know the
    revocations made after its export."""
    if trust_file is None:
        if anchors:
            raise click.UsageError("--trust-anchor: only means something with --trust-file")
        if max_age is not None:
            raise click.UsageError("--trust-max-age: only means something with --trust-file")
        return None
    if ctx.is_aws:
        raise ValidationError(
            "--trust-file: verifies local packages without a keystore; with --backend aws, "
            "verdicts come from AWS Signer's records (and Lambda verifies the code itself)"
        )
    from provider.trust import anchors_from, load_trust_file, max_age_from  # start-up time

    bound = max_age_from(None if max_age is None else str(max_age))  # bad input said first
    given = [anchors] if isinstance(anchors, str) else list(anchors)  # samconfig: one string
    trust = load_trust_file(Path(trust_file), anchors_from(given))
    instant = ctx.now if at is None else at
    trust.check_age(bound, instant)
    say(trust.staleness(instant))
    return trust
