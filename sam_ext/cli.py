"""``sam-ext``: the click CLI. Options are parsed here and in :mod:`sam_ext.commands`;
every error the project raises is turned once, by :func:`sam_ext.entry.run` (the ladder the
start-up fast path shares), into an exit status and one line."""

from __future__ import annotations

import sys
from importlib import import_module

import click

from sam_ext.context import CliContext
from sam_ext.entry import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    GLOBAL_OPTIONS,
    HOME_ENV,
    REGION_ENV,
    aborted,
    run,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "cli", "main"]


#: Every command, and where it lives: imported only when it runs (start-up time matters
#: for a CLI called once per package in scripts).
COMMANDS = {
    "profile": "sam_ext.commands.profile:profile",
    "sign": "sam_ext.commands.signing:sign",
    "signature": "sam_ext.commands.signing:signature",
    "csc": "sam_ext.commands.csc:csc",
    "verify": "sam_ext.commands.verify:verify",
    "check": "sam_ext.commands.check:check",
    "package": "sam_ext.commands.package:package",
    "deploy": "sam_ext.commands.deploy:deploy",
    "layer": "sam_ext.commands.layer:layer",
    "function": "sam_ext.commands.registry:function",
    "metric": "sam_ext.commands.registry:metric",
    "policy-pack": "sam_ext.commands.policy_pack:policy_pack",
    "serve": "sam_ext.commands.serve:serve",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--home",
    envvar=GLOBAL_OPTIONS["--home"],
    metavar="DIR",
    help=f"Local keystore directory (default: ${HOME_ENV}, else the user data directory).",
)
@click.option(
    "--region",
    envvar=GLOBAL_OPTIONS["--region"],
    help="Region used in ARNs (local, default us-east-1); with --backend aws, the AWS region "
    "(default: AWS_REGION, AWS_DEFAULT_REGION, else the AWS profile's). Also set by "
    f"${REGION_ENV}, on both backends.",
)
@click.option(
    "--backend",
    envvar=GLOBAL_OPTIONS["--backend"],
    type=click.Choice(["local", "aws"]),
    default="local",
    show_default=True,
    help="Where signing and verification happen: the local keystore, or AWS (boto3's "
    "credentials, AWS_PROFILE, AWS_ENDPOINT_URL).",
)
@click.option(
    "--now",
    "now_text",
    envvar=GLOBAL_OPTIONS["--now"],
    metavar="ISO-8601",
    help="Act as if this were the current instant (reproducible runs and tests).",
)
@click.version_option(package_name="lambda-codesign", prog_name="sam-ext")
@click.pass_context
def cli(
    ctx: click.Context, home: str | None, region: str | None, backend: str, now_text: str | None
) -> None:
    """Sign AWS Lambda code and check it as Lambda's code signing does.

    JSON responses go to stdout in the AWS API's shapes; messages go to stderr.
    Exit status: 0 success, 1 refused (or a REJECT verdict), 2 bad input.
    """
    ctx.obj = CliContext(home=home, region=region, backend_name=backend, now_text=now_text)


def _click_status(exc: Exception) -> int | None:
    """The status of one of click's own exceptions (``None`` for any other)."""
    if isinstance(exc, click.exceptions.Abort):
        return aborted()  # click has closed the ^C line already
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    return None


def _invoke(argv: list[str] | None) -> int:
    # In non-standalone mode click returns (not raises) the status of an Exit.
    status = cli.main(args=argv, prog_name="sam-ext", standalone_mode=False)
    return status if isinstance(status, int) else 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit status."""
    return run(lambda: _invoke(argv), own=_click_status)


if __name__ == "__main__":
    sys.exit(main())
