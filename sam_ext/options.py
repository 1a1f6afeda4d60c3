"""Option kinds SAM CLI users type, shared by ``package`` and ``deploy``.

SAM CLI's list options (``--signing-profiles``, ``--parameter-overrides``,
``--capabilities``, ``--tags``, ``--notification-arns``) take their items quoted as one
value (``--capabilities "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"``) or as the arguments
that follow (``--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND``), and may be given
more than once. :class:`SpaceSeparated` marks such an option and :class:`SamCommand`
turns the following arguments into more occurrences of it before click parses them
(click itself takes one argument per option).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click


class SpaceSeparated(click.Option):
    """A repeatable option whose value is a space-separated list (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("multiple", True)
        super().__init__(*args, **kwargs)


def gather_values(params: Sequence[click.Parameter], args: list[str]) -> list[str]:
    """``args`` with each argument that follows a :class:`SpaceSeparated` option's value
    (up to the next option) made another occurrence of that option."""
    names = {name for param in params if isinstance(param, SpaceSeparated) for name in param.opts}
    gathered: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":
            gathered += args[index - 1 :]
            break
        name, equals, inline = token.partition("=")
        if name not in names or (not equals and index >= len(args)):
            gathered.append(token)
            continue
        values = [inline] if equals else [args[index]]
        index += 0 if equals else 1
        while index < len(args) and not args[index].startswith("-"):
            values.append(args[index])
            index += 1
        for value in values:  # one occurrence each: an argument's own spaces are kept
            gathered += [name, value]
    return gathered


class SamCommand(click.Command):
    """A command whose :class:`SpaceSeparated` options take SAM CLI's unquoted lists."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Gather the lists, then parse as click does."""
        return super().parse_args(ctx, gather_values(self.get_params(ctx), args))
