"""Deterministic zips written in one pass, and the content digest that decides whether
code changed (independent of the compressor)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from provider import deflate
from provider.archive import build_package, source_hash
from provider.errors import ValidationError
from provider.package import prepare_unsigned

FILES = {
    "app.py": b"def handler(event, context):\n    return 1\n" * 40,
    "lib/util.py": b"VALUE = 42\n" * 500,
    "lib/empty.txt": b"",
    "data/blob.bin": os.urandom(4096),  # incompressible: stored
    "ünïcode/naïve.py": "X = 'é'\n".encode(),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for name, content in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (root / "app.py").chmod(0o755)
    return root


@pytest.fixture(params=["zlib", "isal"])
def compressor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "isal":
        pytest.importorskip("isal", reason="isal is a dependency where PyPI has its wheels")
    monkeypatch.setenv(deflate.ENV, request.param)
    deflate.implementation.cache_clear()
    yield deflate.implementation().name
    monkeypatch.delenv(deflate.ENV)
    deflate.implementation.cache_clear()


def test_the_zip_is_standard_and_what_was_computed_while_writing_is_right(
    tree: Path, compressor: str, tmp_path: Path
) -> None:
    built = build_package(tree)
    assert built.sha384 == hashlib.sha384(built.data).hexdigest()
    assert built.content_digest == source_hash(tree)
    assert built.members == len(FILES)
    with zipfile.ZipFile(io.BytesIO(built.data)) as archive:
        assert archive.testzip() is None
        assert {i.filename: archive.read(i) for i in archive.infolist()} == FILES
        assert [i.filename for i in archive.infolist()] == sorted(FILES)
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        assert modes["app.py"] == 0o100755 and modes["lib/util.py"] == 0o100644
        methods = {i.filename: i.compress_type for i in archive.infolist()}
        assert methods["lib/util.py"] == zipfile.ZIP_DEFLATED
        assert methods["data/blob.bin"] == zipfile.ZIP_STORED
    # The signer's full member check agrees with the writer.
    assert prepare_unsigned(built.data).digest == built.sha384
    if shutil.which("unzip"):
        (tmp_path / "p.zip").write_bytes(built.data)
        subprocess.run(["unzip", "-tq", str(tmp_path / "p.zip")], check=True)


def test_same_tree_same_bytes_and_the_digest_ignores_the_compressor(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("isal", reason="isal is a dependency where PyPI has its wheels")
    built = {}
    for name in ("zlib", "isal"):
        monkeypatch.setenv(deflate.ENV, name)
        deflate.implementation.cache_clear()
        built[name] = build_package(tree)
        assert build_package(tree).data == built[name].data  # deterministic
    deflate.implementation.cache_clear()
    assert built["zlib"].data != built["isal"].data
    assert built["zlib"].content_digest == built["isal"].content_digest == source_hash(tree)


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "lib/util.py").write_bytes(b"VALUE = 43\n" * 500),
        lambda root: (root / "lib/util.py").rename(root / "lib/util2.py"),
        lambda root: (root / "lib/util.py").chmod(0o755),
        lambda root: (root / "new.py").write_bytes(b""),
        lambda root: (root / "lib/empty.txt").unlink(),
    ],
    ids=["content", "name", "mode", "added", "removed"],
)
def test_the_content_digest_changes_with_names_modes_and_contents(tree: Path, change) -> None:
    before = source_hash(tree)
    change(tree)
    assert source_hash(tree) != before


def test_a_zip_source_is_hashed_as_its_bytes_and_an_empty_tree_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert source_hash(archive) == hashlib.sha384(archive.read_bytes()).hexdigest()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no files"):
        source_hash(tmp_path / "empty")
    with pytest.raises(ValidationError, match="no files"):
        build_package(tmp_path / "empty")
