"""The same source gives byte-identical unsigned packages, whatever the files' times and
the order they were created in; a change of content gives different bytes."""

from __future__ import annotations

import os
import zipfile
from io import BytesIO
from pathlib import Path

from provider.archive import package_bytes

FILES = {
    "app.py": b"def handler(event, context):\n    return 1\n",
    "lib/util.py": b"VALUE = 42\n" * 50,
    "lib/deep/data.json": b'{"a": 1}\n',
    "README.txt": b"readme\n",
}


def _write(root: Path, names: list[str], seconds: int) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(FILES[name])
        os.utime(path, (seconds, seconds))
        seconds += 7919


def test_times_and_creation_order_do_not_change_the_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _write(first, list(FILES), 1_600_000_000)
    _write(second, list(reversed(FILES)), 1_700_000_000)
    data = package_bytes(first)
    assert package_bytes(second) == data
    assert package_bytes(first) == data  # and again, from the same tree

    with zipfile.ZipFile(BytesIO(data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(FILES)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {name: archive.read(name) for name in archive.namelist()} == FILES


def test_a_change_of_content_changes_the_bytes(tmp_path: Path) -> None:
    _write(tmp_path, list(FILES), 1_600_000_000)
    before = package_bytes(tmp_path)
    (tmp_path / "lib/util.py").write_bytes(b"VALUE = 43\n" * 50)
    assert package_bytes(tmp_path) != before


PLAIN_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared/}
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/hello/, Handler: app.handler, Runtime: python3.12}
  GoodbyeFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/goodbye/, Handler: app.handler, Runtime: python3.12}
"""


def _unsigned_packages(artifacts: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in artifacts.glob("*.zip")}


def test_sam_ext_package_writes_identical_unsigned_packages_across_runs(
    sam_ext, app, tools
) -> None:
    """Packaged twice into fresh artifact directories, with every source file touched and
    the code directories recreated in between, the unsigned packages are identical."""
    (app / "plain.yaml").write_text(PLAIN_TEMPLATE)
    sam_ext(
        "package", "-t", "plain.yaml", "--artifact-dir", "one", "--output-template-file", "one.yaml"
    )
    # Recreate the code directories, files in reverse order, with new times.
    for source in ("src/hello", "src/goodbye", "layers/shared"):
        files = tools.tree(app / source)
        for path in sorted((app / source).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        for offset, (name, content) in enumerate(sorted(files.items(), reverse=True)):
            path = app / source / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            os.utime(path, (1_234_567_890 + offset, 1_234_567_890 + offset))
    sam_ext(
        "package", "-t", "plain.yaml", "--artifact-dir", "two", "--output-template-file", "two.yaml"
    )

    one, two = _unsigned_packages(app / "one"), _unsigned_packages(app / "two")
    assert len(one) == 3
    assert one == two
    first, second = tools.load(app / "one.yaml"), tools.load(app / "two.yaml")
    for logical_id, prop in (
        ("HelloFunction", "CodeUri"),
        ("GoodbyeFunction", "CodeUri"),
        ("SharedLayer", "ContentUri"),
    ):
        assert (
            Path(first["Resources"][logical_id]["Properties"][prop]).name
            == Path(second["Resources"][logical_id]["Properties"][prop]).name
        )
