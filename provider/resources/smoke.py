"""``SmokeFile``: the smallest dynamic resource of this package, for engine smoke tests.

It writes one text file, so a test can see from outside the engine what each lifecycle
step did: ``create`` writes the file, ``update`` rewrites it in place, changing the
directory replaces it, ``read`` (refresh) reports what is on disk, and ``delete`` removes
it. Nothing else in the package depends on it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

#: Longest ``text`` accepted by ``check``.
MAX_TEXT = 1024


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _outputs(directory: str, name: str, text: str) -> dict[str, Any]:
    path = Path(directory) / f"{name}.txt"
    return {
        "directory": directory,
        "name": name,
        "text": text,
        "path": str(path),
        "digest": _digest(text),
    }


class SmokeFileProvider(ResourceProvider):
    """Lifecycle of :class:`SmokeFile`; holds no data (it is pickled into state)."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """``directory`` must be an absolute path, ``name`` a plain file name, ``text`` short."""
        failures: list[CheckFailure] = []
        directory, name, text = news.get("directory"), news.get("name"), news.get("text")
        if not isinstance(directory, str) or not os.path.isabs(directory):
            failures.append(
                CheckFailure("directory", f"directory must be an absolute path, got {directory!r}")
            )
        if not isinstance(name, str) or not name or name != Path(name).name or name.startswith("."):
            failures.append(CheckFailure("name", f"name must be a plain file name, got {name!r}"))
        if not isinstance(text, str):
            failures.append(
                CheckFailure("text", f"text must be a string, got {type(text).__name__}")
            )
        elif len(text) > MAX_TEXT:
            failures.append(
                CheckFailure("text", f"text is {len(text)} characters; at most {MAX_TEXT}")
            )
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """``text`` changes in place; a new ``directory`` or ``name`` is a new file (replace)."""
        replaces = [k for k in ("directory", "name") if olds.get(k) != news.get(k)]
        changes = bool(replaces) or olds.get("text") != news.get("text")
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Write the file; its path is the resource's id."""
        outs = _outputs(props["directory"], props["name"], props["text"])
        Path(props["directory"]).mkdir(parents=True, exist_ok=True)
        _write(Path(outs["path"]), props["text"])
        return CreateResult(outs["path"], outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Rewrite the file with the new text."""
        outs = _outputs(news["directory"], news["name"], news["text"])
        _write(Path(outs["path"]), news["text"])
        return UpdateResult(outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What is on disk now; a missing file means the resource is gone."""
        path = Path(id_)
        if not path.is_file():
            return ReadResult(None, {})
        text = path.read_text(encoding="utf-8")
        outs = _outputs(str(path.parent), path.name.removesuffix(".txt"), text)
        inputs = {k: outs[k] for k in ("directory", "name", "text")}
        return ReadResult(id_, outs, inputs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Remove the file (already gone is fine)."""
        Path(id_).unlink(missing_ok=True)


class SmokeFile(Resource, module="smoke", name="SmokeFile"):
    """A text file ``{directory}/{name}.txt`` holding ``text``."""

    #: Absolute path of the file.
    path: pulumi.Output[str]
    #: SHA-256 (hex) of the text written.
    digest: pulumi.Output[str]
    text: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        directory: pulumi.Input[str],
        text: pulumi.Input[str],
        name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``name`` defaults to ``resource_name``."""
        props = {
            "directory": directory,
            "name": resource_name if name is None else name,
            "text": text,
            "path": None,
            "digest": None,
        }
        super().__init__(SmokeFileProvider(), resource_name, props, opts)
