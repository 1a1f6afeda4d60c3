"""SAM CLI's list options: the arguments after ``--capabilities`` (say) are more of its
values, up to the next option, as SAM CLI takes them."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from sam_ext.options import SamCommand, SpaceSeparated, gather_values


@click.command(cls=SamCommand)
@click.option("--tags", cls=SpaceSeparated)
@click.option("--name")
def command(tags: tuple[str, ...], name: str | None) -> None:
    click.echo(f"{list(tags)} {name}")


@pytest.mark.parametrize(
    ("args", "tags", "name"),
    [
        (["--tags", "a=1", "b=2", "--name", "n"], ["a=1", "b=2"], "n"),
        (["--tags=a=1", "b=2"], ["a=1", "b=2"], None),
        (["--tags", "a=1 b=2"], ["a=1 b=2"], None),  # one quoted value keeps its spaces
        (["--tags", "a=1", "--tags", "b=2", "c=3"], ["a=1", "b=2", "c=3"], None),
        (["--name", "a=1", "--tags", "x"], ["x"], "a=1"),  # other options take one argument
    ],
)
def test_following_arguments_are_more_values(args, tags, name) -> None:
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    assert result.output == f"{tags} {name}\n"


def test_a_missing_value_and_the_end_of_options_are_left_to_click() -> None:
    params = command.params
    assert gather_values(params, ["--tags"]) == ["--tags"]
    assert gather_values(params, ["--", "--tags", "a", "b"]) == ["--", "--tags", "a", "b"]
    assert CliRunner().invoke(command, ["--tags"]).exit_code == 2
