"""Smaller edges seen (issue 20, section 4), on the local backend through the CLI: the
registry's functions and its SignatureValidationErrors metric shown, a function and a
layer sharing one source directory, an output template in a directory that does not
exist, and a missing input file that is bad input everywhere and records nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from provider import schemas

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")
HELLO, GOODBYE = "app-HelloFunction", "app-GoodbyeFunction"
SHARED_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: src/
"""


def _valid(document: Any, schema: str) -> Any:
    errors = [e.message for e in schemas.validator(schema).iter_errors(document)]
    assert errors == [], errors
    return document


def _deploy_app(sam_ext, publisher) -> None:
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "packaged.yaml")
    sam_ext("deploy", "-t", "packaged.yaml", *publisher.overrides)


def test_function_list_shows_the_registry_as_list_functions_does(
    sam_ext, app, publisher, backend
) -> None:
    assert json.loads(sam_ext("function", "list").out) == {"Functions": []}
    _deploy_app(sam_ext, publisher)

    listed = _valid(json.loads(sam_ext("function", "list").out), "list-functions-response")
    by_name = {f["FunctionName"]: f for f in listed["Functions"]}
    assert sorted(by_name) == [GOODBYE, HELLO]
    assert by_name[HELLO]["LastVerdict"]["decision"] == "ALLOW"
    assert by_name[HELLO]["Warnings"] == []
    assert by_name[GOODBYE]["LastVerdict"]["decision"] == "WARN"
    [warning] = by_name[GOODBYE]["Warnings"]
    assert "mismatch: the package is not signed" in warning
    assert by_name[HELLO]["CodeSigningConfigArn"] != by_name[GOODBYE]["CodeSigningConfigArn"]

    got = _valid(json.loads(sam_ext("function", "get", "--function-name", HELLO).out), "function")
    assert got == by_name[HELLO]
    missing = sam_ext("function", "get", "--function-name", "nope", status=2)
    assert "function 'nope' does not exist" in missing.err


def test_metric_get_statistics_counts_signature_validation_errors(
    sam_ext, app, publisher, backend
) -> None:
    empty = json.loads(sam_ext("metric", "get-statistics").out)
    assert empty == {"Label": "SignatureValidationErrors", "Datapoints": []}
    _deploy_app(sam_ext, publisher)
    _deploy_app(sam_ext, publisher)  # GoodbyeFunction deploys with a warning each time

    def stats(*options: str) -> list[dict[str, Any]]:
        document = json.loads(sam_ext("metric", "get-statistics", *options).out)
        return list(_valid(document, "metric-statistics")["Datapoints"])

    everything = stats()
    assert [(p["Sum"], p["SampleCount"], p["Unit"]) for p in everything] == [(2, 2, "Count")]
    assert [p["Sum"] for p in stats("--function-name", GOODBYE)] == [2]
    assert stats("--function-name", HELLO) == []
    assert stats("--start-time", "2026-01-15T12:00:01Z") == []  # both deploys at --now
    [hour] = stats("--start-time", "2026-01-15T11:30:00Z", "--period", "3600")
    assert hour["Timestamp"] == "2026-01-15T11:30:00.000Z" and hour["Sum"] == 2
    assert stats("--end-time", "2026-01-15T12:00:00Z") == []  # the end is exclusive
    assert stats("--metric-name", "Errors") == []

    bad = sam_ext("metric", "get-statistics", "--start-time", "yesterday", status=2)
    assert "--start-time: 'yesterday' is not an ISO-8601 instant" in bad.err
    refused = sam_ext("--backend", "aws", "function", "list", status=2)
    assert "aws lambda list-functions" in refused.err


def test_a_function_and_a_layer_sharing_a_directory_share_one_signed_object(
    sam_ext, publisher, backend, tmp_path, tools
) -> None:
    project = tmp_path / "shared"
    (project / "src").mkdir(parents=True)
    shutil.copy(tools.example_app / "src" / "hello" / "app.py", project / "src" / "app.py")
    (project / "template.yaml").write_text(SHARED_TEMPLATE)
    profiles = ("--signing-profiles", "Fn=Publisher Layer=Publisher")
    template = ("-t", project / "template.yaml")

    first = sam_ext("package", *template, *profiles, "--output-template-file", project / "p.yaml")
    assert "UNIQUE constraint" not in first.err
    resources = tools.load(project / "p.yaml")["Resources"]
    code = resources["Fn"]["Properties"]["CodeUri"]
    assert resources["Layer"]["Properties"]["ContentUri"] == code
    assert Path(code).name.startswith("signed_") and sam_ext.jobs() == 1
    assert tools.verdict(backend, Path(code), publisher.version_arn).decision is tools.allow

    # The next run finds both in the cache: no new job.
    sam_ext("package", *template, *profiles, "--output-template-file", project / "p.yaml")
    assert sam_ext.jobs() == 1


def test_an_output_template_in_a_missing_directory_is_refused_before_any_work(
    sam_ext, app, publisher
) -> None:
    result = sam_ext(
        "package", *SIGN_ALL, *publisher.overrides,
        "--output-template-file", "no/such/dir/packaged.yaml", status=2,
    )  # fmt: skip
    assert result.err.strip() == (
        "error: ValidationException: --output-template-file: the directory 'no/such/dir' "
        "does not exist (create it first, or write 'packaged.yaml' elsewhere)"
    )
    assert sam_ext.jobs() == 0 and not (app / ".sam-ext").exists()
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", ".", status=2)


def test_a_missing_input_file_is_bad_input_and_records_nothing(
    sam_ext, app, publisher, backend, tools, tmp_path: Path
) -> None:
    csc = backend.create_code_signing_config(
        [publisher.version_arn], policy="Enforce", now=tools.now
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    (tmp_path / "folder.zip").mkdir()
    for source in ("missing.zip", "folder.zip"):
        signed = sam_ext(
            "sign", "--profile-name", "Publisher", "--source", source,
            "--destination", tmp_path / "out", status=2,
        )  # fmt: skip
        assert signed.err.strip() == (
            f"error: ValidationException: source: '{source}' does not exist or is not a file"
        )
        assert signed.out == ""
    assert sam_ext.jobs() == 0
    assert json.loads(sam_ext("signature", "list").out)["jobs"] == []
    verified = sam_ext("verify", "missing.zip", "--code-signing-config-arn", csc, status=2)
    assert "package 'missing.zip' does not exist" in verified.err
    adopted = sam_ext(
        "layer", "adopt", "--zip-file", "missing.zip", "--profile-name", "Publisher", status=2
    )
    assert "--zip-file: 'missing.zip' does not exist" in adopted.err
    assert sam_ext.jobs() == 0
    assert not (tmp_path / "out").exists()
