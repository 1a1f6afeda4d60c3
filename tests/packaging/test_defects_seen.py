"""Defects a new user met (issue 15, section 4), each through the CLI: artifact
directories own their signed objects, bad samconfig values and a damaged package cache are
said as bad input or rebuilt, and refusals suggest commands that exist."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provider.backends.local import LocalBackend


def _package(sam_ext, app: Path, publisher, *extra: str):
    return sam_ext(
        "package",
        "--template-file",
        app / "template.yaml",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides,
        "--output-template-file",
        app / "packaged.yaml",
        *extra,
    )


def test_each_artifact_directory_owns_its_signed_objects(
    sam_ext, app: Path, publisher, tools, tmp_path: Path
) -> None:
    """Two projects with the same code (a shared layer, identical functions) and the same
    profile: the second project's template points into its own artifact directory, at
    objects signed for it, never into the first one's."""
    other = tmp_path / "other-app"
    shutil.copytree(app, other)
    _package(sam_ext, app, publisher)
    _package(sam_ext, other, publisher)
    assert sam_ext.jobs() == 4  # two per project: nothing answered from the other's jobs
    for project in (app, other):
        packaged = tools.load(project / "packaged.yaml")["Resources"]
        artifacts = (project / ".sam-ext" / "artifacts").resolve()
        for logical_id, key in (("HelloFunction", "CodeUri"), ("SharedLayer", "ContentUri")):
            location = Path(packaged[logical_id]["Properties"][key])
            assert location.parent == artifacts, (project, logical_id, location)
            assert location.is_file()
    # Removing the first project's artifacts leaves the second deployable.
    shutil.rmtree(app / ".sam-ext")
    deployed = sam_ext("deploy", "--template-file", other / "packaged.yaml", *publisher.overrides)
    assert "HelloFunction" in deployed.err


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("signing_profiles = 3", "signing_profiles: 3 is not text, or a list of text"),
        ("signing_profiles = [1, 2]", "signing_profiles: [1, 2] is not text, or a list of text"),
        ("jobs = 'many'", "jobs: 'many' is not a whole number"),
        ("jobs = 1000", "jobs: 1000 is not in the range 1<=x<=64"),
        ("use_json = 'yes'", "use_json: 'yes' is not true or false"),
        ("template_file = ['a', 'b']", "template_file: ['a', 'b'] is not text"),
    ],
)
def test_a_samconfig_value_of_the_wrong_type_is_bad_input_naming_file_and_key(
    sam_ext, app: Path, publisher, line: str, says: str
) -> None:
    (app / "samconfig.toml").write_text(f"version = 0.1\n[default.package.parameters]\n{line}\n")
    refused = sam_ext("package", status=2)
    assert refused.err.startswith("error: ValidationException: ")
    assert f"samconfig.toml: [default.package.parameters] {says}" in refused.err
    assert refused.err.count("\n") == 1
    assert sam_ext.jobs() == 0


def test_a_wrong_type_in_the_global_section_is_named_there(sam_ext, app: Path) -> None:
    (app / "samconfig.toml").write_text(
        "version = 0.1\n[default.global.parameters]\nparameter_overrides = {a = 1}\n"
    )
    refused = sam_ext("package", status=2)
    assert "[default.global.parameters] parameter_overrides: {'a': 1} is not text" in refused.err


@pytest.mark.parametrize(
    "index",
    [
        "[]",
        "{not json",
        '{"version": 2, "sources": [], "signed": {}}',
        '{"version": 2, "sources": {"f": {"zip": "../../../etc/passwd", "content": "c"}}, '
        '"signed": {}}',
        '{"version": 2, "sources": {"f": "not a record"}, "signed": {}}',
        '{"version": 2, "sources": {}, "signed": {"k": {"path": "/x"}}}',
    ],
)
def test_a_damaged_cache_index_is_rebuilt_with_a_warning(
    sam_ext, app: Path, publisher, tools, backend: LocalBackend, index: str
) -> None:
    _package(sam_ext, app, publisher)
    index_path = app / ".sam-ext" / "artifacts" / ".cache" / "index.json"
    index_path.write_text(index)
    again = _package(sam_ext, app, publisher)
    assert f"warning: package cache index {index_path} is damaged" in again.err
    assert "rebuilding it" in again.err
    assert json.loads(index_path.read_text())["version"] == 2  # rewritten whole
    signed = tools.load(app / "packaged.yaml")["Resources"]["HelloFunction"]["Properties"]
    assert tools.verdict(backend, Path(signed["CodeUri"]), publisher.version_arn).decision is (
        tools.allow
    )
    # And the rebuilt index is used: nothing is signed on the next run, no warning.
    jobs = sam_ext.jobs()
    third = _package(sam_ext, app, publisher)
    assert "package cache index" not in third.err and sam_ext.jobs() == jobs
