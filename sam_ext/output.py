"""How the CLI speaks: JSON documents on stdout, messages on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from provider import schemas


def emit(document: Any, *, schema: str | None = None) -> None:
    """Print a response document as the AWS CLI does (4-space JSON), checked against
    its schema first so the CLI never prints a document its schema rejects."""
    if schema is not None:
        schemas.validate(document, schema, what=f"output document ({schema})")
    click.echo(json.dumps(document, indent=4, ensure_ascii=False))


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    click.echo(message, err=True)


def warn(message: str) -> None:
    """A warning on stderr, marked so it stands out."""
    prefix = click.style("warning:", fg="yellow", bold=True) if sys.stderr.isatty() else "warning:"
    click.echo(f"{prefix} {message}", err=True)
