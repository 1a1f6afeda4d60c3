"""``sam-ext serve``: AWS Signer and Lambda code signing over the AWS wire protocol."""

from __future__ import annotations

from pathlib import Path

import click

from provider.errors import CodesignError


@click.command(
    epilog="State: keys, profiles, signing records, revocations, profile permissions, tags "
    "and code signing configs are kept in --home and survive a restart with the same "
    "home; S3 objects, Lambda functions, stacks and everything else moto serves live "
    "as long as the process. "
    "Jobs still InProgress at a stop are Failed at the next start; a job signed in an "
    "earlier run says its signed object is gone. Without --home, a fresh temporary home "
    "is used and removed at the end."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback (localhost, 127.0.0.0/8, ::1) warns: "
    "requests are not authenticated.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4566,
    show_default=True,
    help="TCP port; 0 picks a free one (see the 'listening on' line).",
)
@click.option(
    "--home",
    "home",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Directory for keys and records (default: a fresh temporary one).",
)
@click.option(
    "--job-delay",
    type=click.FloatRange(0, 3600),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="How long each signing job stays InProgress.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a read or write on a client's connection may wait (a request whose "
    "body stops arriving is answered with a timeout error).",
)
def serve(
    host: str, port: int, home: Path | None, job_delay: float, request_timeout: float
) -> None:
    """Serve AWS Signer and Lambda code signing (checks included) on top of moto, for
    the AWS CLI, boto3 and SAM CLI: AWS_ENDPOINT_URL=http://HOST:PORT.

    Prints 'listening on http://HOST:PORT' on stderr when ready; stops on SIGINT/SIGTERM.
    """
    try:
        from provider.endpoint.server import serve as run
    except ImportError as exc:
        raise CodesignError(
            f"sam-ext serve needs the serve extra ({exc.name} is missing): "
            "pip install 'lambda-codesign[serve]'",
            code="MissingDependency",
        ) from None
    run(host=host, port=port, home=home, job_delay=job_delay, request_timeout=request_timeout)
