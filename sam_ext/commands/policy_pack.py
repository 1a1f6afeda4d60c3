"""``sam-ext policy-pack path``: where the CrossGuard policy pack is, for
``pulumi preview --policy-pack "$(sam-ext policy-pack path)"``."""

from __future__ import annotations

from importlib.util import find_spec

import click

from provider.policy import pack_path
from sam_ext.output import warn


@click.group("policy-pack")
def policy_pack() -> None:
    """The Lambda code signing policy pack (CrossGuard) for `pulumi preview`."""


@policy_pack.command("path")
def path() -> None:
    """Print the pack's directory, for `pulumi preview --policy-pack DIR`."""
    click.echo(str(pack_path()))
    # Found without importing it: the CLI never loads the Pulumi SDK.
    if find_spec("pulumi_policy") is None:
        warn(
            "pulumi-policy is not installed in this Python; Pulumi runs the pack with the "
            "Python of your programs (PULUMI_PYTHON_CMD or python3), which needs it"
        )
