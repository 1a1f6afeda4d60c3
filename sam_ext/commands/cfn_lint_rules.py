"""``sam-ext cfn-lint-rules path``: where the cfn-lint rule pack is, for
``cfn-lint --append-rules "$(sam-ext cfn-lint-rules path)" TEMPLATE``."""

from __future__ import annotations

from importlib.util import find_spec

import click

from sam_ext.cfn_lint import rules_path
from sam_ext.output import warn


@click.group("cfn-lint-rules")
def cfn_lint_rules() -> None:
    """The Lambda code signing rules for cfn-lint (sam-ext check's verdicts, E9300-I9305)."""


@cfn_lint_rules.command("path")
def path() -> None:
    """Print the rules' directory, for `cfn-lint --append-rules DIR TEMPLATE`."""
    click.echo(str(rules_path()))
    # Found without importing it: printing a path never loads cfn-lint.
    if find_spec("cfnlint") is None:
        warn(
            "cfn-lint is not installed in this Python; the rules run inside cfn-lint and "
            "need sam-ext beside them: pip install 'lambda-codesign[cfn-lint]'"
        )
