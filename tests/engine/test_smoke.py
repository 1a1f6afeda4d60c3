"""This package's smallest dynamic resource under the real engine: preview, up, a second
preview with no changes, an update, refresh, and destroy — and a ``check`` failure as the
engine renders it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.conftest import StackFactory

SMOKE_TYPE = "pulumi-python:dynamic/smoke:SmokeFile"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_lifecycle_under_the_real_engine(engine_stack: StackFactory, tmp_path: Path) -> None:
    files = tmp_path / "files"
    stack = engine_stack("smoke", config={"directory": str(files), "text": "first"})
    note = files / "note.txt"

    preview = stack.preview()
    assert preview.error is None, preview.error
    step = preview.step("note")
    assert (step.op, step.type) == ("create", SMOKE_TYPE)
    assert preview.summary.get("create") == 2  # the stack and the note
    assert "smoke program registered its resources" in preview.messages("info")
    assert "+ pulumi-python:dynamic/smoke:SmokeFile: (create)" in preview.stdout
    assert not files.exists(), "a preview must not call create"

    up = stack.up()
    assert up.error is None, up.error
    assert up.ops("note") == ["create"]
    assert note.read_text() == "first"
    assert up.outputs == {"path": str(note), "digest": _sha256("first")}
    assert up.step("note").outputs is not None
    assert up.step("note").outputs["digest"] == _sha256("first")

    again = stack.preview()
    assert again.error is None, again.error
    assert again.ops("note") == ["same"]
    assert set(again.summary) == {"same"}, again.summary

    stack.set_config("text", "second")
    changed = stack.preview()
    assert changed.ops("note") == ["update"]
    assert changed.step("note").changed_inputs == ["text"]
    assert note.read_text() == "first", "a preview must not call update"

    update = stack.up()
    assert update.error is None, update.error
    assert update.ops("note") == ["update"]
    assert note.read_text() == "second"
    assert update.outputs == {"path": str(note), "digest": _sha256("second")}
    assert update.summary == {"update": 1, "same": 1}

    refreshed = stack.refresh()
    assert refreshed.error is None, refreshed.error
    assert refreshed.summary.get("update", 0) == 0, refreshed.summary

    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error
    assert destroyed.ops("note") == ["delete"]
    assert destroyed.summary == {"delete": 2}
    assert not note.exists()
    assert stack.state().get("resources") in (None, [])


def test_check_failure_is_rendered_by_the_engine(engine_stack: StackFactory) -> None:
    stack = engine_stack("smoke", config={"directory": "relative/dir"})

    preview = stack.preview()

    assert preview.error is not None
    rendered = (
        "pulumi-python:dynamic/smoke:SmokeFile resource 'note': property directory value "
        "{relative/dir} has a problem: directory must be an absolute path, got 'relative/dir'"
    )
    assert rendered in preview.messages("error", "note"), preview.diagnostics
    assert f"error: {rendered}" in preview.stderr
    assert preview.ops("note") == [], "a resource that fails check has no step"
