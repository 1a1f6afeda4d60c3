"""What both entry points of ``sam-ext`` share: the click CLI (:mod:`sam_ext.cli`) and its
click-free start-up fast path (:mod:`sam_ext.fast`).

- The environment variables the CLI reads (``CODESIGN_*``, ``SAM_EXT_*``).
- The global options (given before the command) and the variable each defaults from.
- :func:`run`, the one run-and-exit ladder: what a command raises becomes an exit status and
  at most one line on stderr, never a traceback (2 for bad input, 1 for a refusal).

Cheap to import (the standard library and :mod:`provider.errors`): the fast path imports it
before it knows whether click is needed.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from provider.errors import CodesignError, NotFoundError, ValidationError
from sam_ext.output import echo

#: The keystore directory (also read by the local backend, provider.backends.local.store).
HOME_ENV = "CODESIGN_HOME"
#: The region of local ARNs, or the AWS region (also read by the local backend).
REGION_ENV = "CODESIGN_REGION"
#: Pinned trust-key fingerprints of ``--trust-file`` (read by provider.trust).
TRUST_ANCHOR_ENV = "CODESIGN_TRUST_ANCHOR"
#: The oldest a ``--trust-file`` may be (read by provider.trust).
TRUST_MAX_AGE_ENV = "CODESIGN_TRUST_MAX_AGE"
#: The backend, ``local`` or ``aws`` (``--backend``; also read by the cfn-lint rule pack).
BACKEND_ENV = "SAM_EXT_BACKEND"
#: The instant to act at (``--now``; also read by the cfn-lint rule pack).
NOW_ENV = "SAM_EXT_NOW"
#: Set (to anything) to print the traceback of an unexpected error.
DEBUG_ENV = "SAM_EXT_DEBUG"
#: click's shell completion switch for ``prog_name="sam-ext"``.
COMPLETION_ENV = "_SAM_EXT_COMPLETE"

#: Exit status for bad input, as click uses for usage errors.
EXIT_BAD_INPUT = 2
#: Exit status for a refused operation or a REJECT verdict.
EXIT_FAILED = 1
#: Exit status after Ctrl-C (click's Abort).
EXIT_ABORTED = 130

#: The global options, each with the environment variable it defaults from (click's
#: ``envvar``; ``None``: none). sam_ext.cli declares them to click with these names and
#: variables, and the fast path reads exactly these.
GLOBAL_OPTIONS: dict[str, str | None] = {
    "--home": HOME_ENV,
    "--region": REGION_ENV,
    "--backend": BACKEND_ENV,
    "--now": NOW_ENV,
}


class _QuietFlush:
    """A stream whose ``flush`` ignores a closed pipe, as click wraps stdout and stderr
    after a broken pipe (``sam-ext verify ... | head``), so the interpreter's last flush
    does not complain."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def refused(error: CodesignError) -> int:
    """Say a refusal in its one line; returns its exit status (2 for bad input)."""
    echo(f"error: {error}", err=True)
    return EXIT_BAD_INPUT if isinstance(error, ValidationError | NotFoundError) else EXIT_FAILED


def unexpected(error: Exception) -> int:
    """Say an error nothing expected, in one line (the traceback with SAM_EXT_DEBUG=1)."""
    if os.environ.get(DEBUG_ENV):
        import traceback  # only for the unexpected: start-up time

        traceback.print_exc()
    echo(
        f"internal error: {type(error).__name__}: {error} (set {DEBUG_ENV}=1 for details)",
        err=True,
    )
    return EXIT_FAILED


def aborted() -> int:
    """Say that the run was interrupted (Ctrl-C, end of input); returns its exit status."""
    echo("aborted", err=True)
    return EXIT_ABORTED


def run(body: Callable[[], int], *, own: Callable[[Exception], int | None] | None = None) -> int:
    """Run ``body`` (a command line's work, returning its exit status) and turn what it
    raises into an exit status, saying it on stderr in one line. ``own`` turns a front
    end's own exceptions (click's usage errors, its Abort and Exit) into a status first
    (``None``: not one of them)."""
    try:
        return body()
    except CodesignError as exc:
        return refused(exc)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except (EOFError, KeyboardInterrupt):
        echo("", err=True)  # the blank line closes the terminal's ^C echo, as click's
        return aborted()
    except Exception as exc:
        status = None if own is None else own(exc)
        if status is not None:
            return status
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            # Output into a pipe nobody reads: exit 1, saying nothing (as click does).
            sys.stdout = _QuietFlush(sys.stdout)
            sys.stderr = _QuietFlush(sys.stderr)
            return EXIT_FAILED
        return unexpected(exc)
