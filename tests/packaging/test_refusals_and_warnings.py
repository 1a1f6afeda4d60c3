"""What ``sam-ext package`` says, rather than doing silently, before it zips or signs:
warnings for what it leaves alone, exit 2 (naming the resource) for what cannot work."""

from __future__ import annotations

from pathlib import Path


def _no_work_done(sam_ext, app: Path) -> None:
    assert not (app / ".sam-ext").exists()
    assert sam_ext.jobs() == 0


def _progress_index(err: str) -> int:
    lines = err.splitlines()
    return next(i for i, line in enumerate(lines) if line.startswith("[1/"))


def _warning_index(err: str, naming: str) -> int:
    lines = err.splitlines()
    return next(i for i, line in enumerate(lines) if line.startswith("warning:") and naming in line)


NESTED_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Nested:
    Type: AWS::Serverless::Application
    Properties:
      Location: nested/template.yaml
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/hello/
      Handler: app.handler
      Runtime: python3.12
"""


def test_a_nested_application_with_a_local_location_is_packaged_not_warned_about(
    sam_ext, app, publisher, tools
) -> None:
    (app / "nested").mkdir()
    (app / "nested" / "template.yaml").write_text("Resources:\n  T:\n    Type: AWS::SNS::Topic\n")
    (app / "nesting.yaml").write_text(NESTED_TEMPLATE)
    result = sam_ext("package", "-t", "nesting.yaml", "--signing-profiles", "Fn=Publisher")
    assert not [line for line in result.err.splitlines() if line.startswith("warning:")]
    location = Path(tools.parse(result.out)["Resources"]["Nested"]["Properties"]["Location"])
    assert location.parent == (app / ".sam-ext" / "artifacts").resolve()
    assert tools.load(location) == tools.load(app / "nested" / "template.yaml")


def test_a_signing_profile_for_a_nested_application_is_refused(sam_ext, app, publisher):
    (app / "nesting.yaml").write_text(NESTED_TEMPLATE)
    result = sam_ext(
        "package", "-t", "nesting.yaml", "--signing-profiles", "Nested=Publisher", status=2
    )
    assert "Nested" in result.err and "AWS::Serverless::Application" in result.err
    _no_work_done(sam_ext, app)


IMAGE_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  ImageFn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1
  ZipFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/hello/
      Handler: app.handler
      Runtime: python3.12
"""


def test_an_image_function_given_a_profile_is_warned_about_and_not_signed(
    sam_ext, app, publisher, tools
) -> None:
    (app / "image.yaml").write_text(IMAGE_TEMPLATE)
    result = sam_ext("package", "-t", "image.yaml", "--signing-profiles", "ImageFn=Publisher")
    warning = _warning_index(result.err, "ImageFn")
    assert "container image" in result.err.splitlines()[warning]
    assert warning < _progress_index(result.err)
    assert sam_ext.jobs() == 0
    packaged = tools.parse(result.out)
    assert (
        packaged["Resources"]["ImageFn"] == tools.load(app / "image.yaml")["Resources"]["ImageFn"]
    )


def test_an_unknown_logical_id_is_refused_by_name(sam_ext, app, publisher) -> None:
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher HelloFuntion=Publisher",
        *publisher.overrides,
        status=2,
    )
    assert "HelloFuntion" in result.err
    assert result.out == ""
    _no_work_done(sam_ext, app)


def test_an_unsigned_function_under_an_enforce_config_is_refused_by_name(
    sam_ext, app, publisher
) -> None:
    result = sam_ext(
        "package", "--signing-profiles", "SharedLayer=Publisher", *publisher.overrides, status=2
    )
    assert "HelloFunction" in result.err
    assert "enforce" in result.err.lower()
    assert "GoodbyeFunction must" not in result.err  # Warn only warns
    _no_work_done(sam_ext, app)


def test_an_enforce_config_with_computed_publishers_still_refuses_unsigned_code(
    sam_ext, app, publisher
) -> None:
    # No parameter override: the publishers are unknown, but Enforce rejects unsigned code
    # whoever the publishers are.
    result = sam_ext("package", "--signing-profiles", "SharedLayer=Publisher", status=2)
    assert "HelloFunction" in result.err and "enforce" in result.err.lower()
    _no_work_done(sam_ext, app)


def test_an_unsigned_layer_of_a_function_under_an_enforce_config_is_refused_by_name(
    sam_ext, app, publisher
) -> None:
    """HelloFunction (Enforce) uses SharedLayer: an unsigned layer would be rejected at
    deploy just like unsigned function code, so package says so first."""
    result = sam_ext(
        "package", "--signing-profiles", "HelloFunction=Publisher", *publisher.overrides, status=2
    )
    assert "SharedLayer" in result.err
    assert "HelloFunction" in result.err
    _no_work_done(sam_ext, app)


def test_an_unsigned_function_under_a_warn_config_is_warned_about(sam_ext, app, publisher):
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides,
    )
    warning = _warning_index(result.err, "GoodbyeFunction")
    assert "no signing profile" in result.err.splitlines()[warning]
    assert warning < _progress_index(result.err)
    assert "HelloFunction" not in "".join(
        line for line in result.err.splitlines() if line.startswith("warning:")
    )


def test_a_canceled_profile_is_refused(sam_ext, app, publisher, backend, tools) -> None:
    backend.cancel_signing_profile(publisher.name, now=tools.now)
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides,
        status=2,
    )
    assert "Publisher" in result.err and "Canceled" in result.err
    _no_work_done(sam_ext, app)


def test_an_unknown_profile_is_refused(sam_ext, app, publisher) -> None:
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Nobody SharedLayer=Publisher",
        *publisher.overrides,
        status=2,
    )
    assert "Nobody" in result.err
    _no_work_done(sam_ext, app)


def test_a_missing_code_directory_is_refused_by_resource(sam_ext, app, publisher) -> None:
    for path in sorted((app / "src" / "goodbye").rglob("*"), reverse=True):
        path.unlink()
    (app / "src" / "goodbye").rmdir()
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides,
        status=2,
    )
    assert "GoodbyeFunction" in result.err
    assert "src/goodbye/" in result.err
    _no_work_done(sam_ext, app)


def test_a_code_directory_holding_the_artifact_directory_is_refused(
    sam_ext, tmp_path, monkeypatch, tools
) -> None:
    """A function without CodeUri is the template's directory (SAM's rule); with the
    default artifact directory inside it, every package would contain the earlier ones
    (and never be cached). sam-ext says so; an artifact directory elsewhere works."""
    root = tmp_path / "flat"
    root.mkdir()
    (root / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: app.handler, Runtime: python3.12}\n"
    )
    monkeypatch.chdir(root)
    result = sam_ext("package", status=2)
    assert "Fn" in result.err
    assert str(root / ".sam-ext" / "artifacts") in result.err
    assert "--artifact-dir" in result.err
    assert not (root / ".sam-ext").exists()

    outside = tmp_path / "artifacts"
    first = sam_ext("package", "--artifact-dir", outside)
    second = sam_ext("package", "--artifact-dir", outside)
    code = Path(tools.parse(first.out)["Resources"]["Fn"]["Properties"]["CodeUri"])
    assert tools.members(code) == tools.tree(root)
    assert tools.parse(second.out) == tools.parse(first.out)
    assert "(cached)" in second.row("Fn")[2]
