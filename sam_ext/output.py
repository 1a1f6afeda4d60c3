"""How the CLI speaks: JSON documents on stdout, messages on stderr (the exit status and
one line an error becomes are :mod:`sam_ext.entry`'s).

Everything is written as ``click.echo`` writes it; click itself is imported only when that
is more than a plain write (see :func:`echo`), so the start-up fast path of ``sam-ext
verify`` (:mod:`sam_ext.fast`) prints without it.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import sys
from typing import Any, TextIO

from provider import schemas


def _plain(stream: TextIO | None, text: str) -> bool:
    """Whether ``click.echo(text)`` on ``stream`` is exactly ``stream.write(text + "\\n")``
    and a flush: a text stream click keeps as it is (POSIX, an encoding other than ASCII,
    see click._compat._force_correct_text_writer) and no ANSI escape to strip."""
    if sys.platform == "win32" or "\x1b" in text or not isinstance(stream, io.TextIOWrapper):
        return False
    encoding = stream.encoding
    if not encoding or stream.errors is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True  # click too keeps a stream whose encoding it cannot look up


def echo(text: str, *, err: bool = False) -> None:
    """``click.echo(text, err=err)``."""
    stream = sys.stderr if err else sys.stdout
    if _plain(stream, text):
        stream.write(text + "\n")
        stream.flush()
        return
    import click  # only when click.echo does more than write: start-up time

    click.echo(text, err=err)


def emit(document: Any, *, schema: str | None = None) -> None:
    """Print a response document as the AWS CLI does (4-space JSON), checked against
    its schema first so the CLI never prints a document its schema rejects."""
    if schema is not None:
        schemas.validate(document, schema, what=f"output document ({schema})")
    echo(json.dumps(document, indent=4, ensure_ascii=False))


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    echo(message, err=True)


def warn(message: str) -> None:
    """A warning on stderr, marked so it stands out."""
    if sys.stderr.isatty():
        import click  # colour only for a terminal

        echo(f"{click.style('warning:', fg='yellow', bold=True)} {message}", err=True)
    else:
        echo(f"warning: {message}", err=True)


#: Control characters (ESC and the rest, but the newline) a terminal would obey.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with its control characters shown (``\\x1b``), never obeyed: what a
    template or an account says (names, revocation reasons) on a terminal."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)
