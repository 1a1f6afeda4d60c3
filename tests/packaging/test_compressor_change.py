"""What decides "the code changed" is the source's content, never the compressed bytes:
packaging the same sources with another deflate (ISA-L, zlib) re-zips them but never signs
them again, in the same artifact directory or a fresh one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from provider import deflate

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")


@pytest.fixture
def use_deflate(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``use_deflate("zlib")`` / ``use_deflate("")``: choose the compressor from now on."""

    def choose(name: str) -> str:
        monkeypatch.setenv(deflate.ENV, name)
        deflate.implementation.cache_clear()
        return deflate.implementation().name

    yield choose
    monkeypatch.delenv(deflate.ENV, raising=False)
    deflate.implementation.cache_clear()


def _unsigned(artifacts: Path) -> set[bytes]:
    return {p.read_bytes() for p in (artifacts / ".cache" / "unsigned").glob("*.zip")}


def _touch_sources(app: Path) -> None:
    """New modification times: the cheap fingerprint changes, so everything is re-zipped."""
    for path in app.rglob("*"):
        if path.is_file() and ".sam-ext" not in path.parts:
            os.utime(path, (1_800_000_000, 1_800_000_000))


def test_another_compressor_re_zips_but_never_re_signs(
    sam_ext, app, publisher, use_deflate
) -> None:
    pytest.importorskip("isal", reason="isal is a dependency where PyPI has its wheels")
    assert use_deflate("zlib") == "zlib-1"
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "one.yaml")
    artifacts = app / ".sam-ext" / "artifacts"
    zlib_zips = _unsigned(artifacts)
    assert sam_ext.jobs() == 2

    assert use_deflate("") == "isal-2"
    _touch_sources(app)
    second = sam_ext(
        "package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "two.yaml"
    )
    assert _unsigned(artifacts) - zlib_zips, "the sources were zipped again, differently"
    assert sam_ext.jobs() == 2, "unchanged content is not signed again"
    assert "(cached)" in second.row("HelloFunction")[2]
    assert (app / "one.yaml").read_text() == (app / "two.yaml").read_text()

    # A fresh artifact directory owns its objects (issue 15): it signs its own, never
    # pointing into another directory's.
    sam_ext(
        "package", *SIGN_ALL, *publisher.overrides, "--artifact-dir", "elsewhere",
        "--output-template-file", "three.yaml",
    )  # fmt: skip
    assert sam_ext.jobs() == 4
    assert "elsewhere" in (app / "three.yaml").read_text()


def test_a_changed_source_is_signed_again_whatever_the_compressor(
    sam_ext, app, publisher, use_deflate
) -> None:
    use_deflate("zlib")
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "one.yaml")
    use_deflate("")
    with (app / "src/hello/app.py").open("a") as handle:
        handle.write("\n# changed\n")
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "two.yaml")
    assert sam_ext.jobs() == 3
