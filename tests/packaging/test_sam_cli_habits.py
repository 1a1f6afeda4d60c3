"""What a SAM user types (issue 15, section 1), on the local backend: ``--signing-profile``
as another spelling, unquoted lists as SAM CLI takes them, and ``sam deploy``'s
CloudFormation options refused by name (or, from samconfig.toml, ignored with a warning)."""

from __future__ import annotations

import pytest

HELLO = "app-HelloFunction"


@pytest.mark.parametrize("spelling", ["--signing-profiles", "--signing-profile"])
def test_signing_profile_is_another_spelling_on_package(sam_ext, app, publisher, spelling):
    result = sam_ext(
        "package", spelling, "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides, "--output-template-file", "packaged.yaml",
    )  # fmt: skip
    assert result.row("HelloFunction")[1] == "Publisher"
    assert result.row("SharedLayer")[1] == "Publisher"
    assert result.row("HelloFunction")[-1] == "ALLOW"
    assert sam_ext.jobs() == 2


def test_signing_profile_is_another_spelling_on_deploy(sam_ext, app, publisher, backend):
    sam_ext(
        "deploy", "--signing-profile", "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides,
    )  # fmt: skip
    assert backend.get_function(HELLO)["LastVerdict"]["decision"] == "ALLOW"


def test_unquoted_lists_are_taken_as_sam_cli_takes_them(sam_ext, app, publisher):
    # sam package --signing-profiles A=P B=P --parameter-overrides K=V (no quotes)
    result = sam_ext(
        "package", "--signing-profiles", "HelloFunction=Publisher", "SharedLayer=Publisher",
        "--parameter-overrides", f"TrustedProfileVersionArn={publisher.version_arn}",
        "--output-template-file", "packaged.yaml",
    )  # fmt: skip
    assert result.row("SharedLayer")[1] == "Publisher"
    assert result.row("HelloFunction")[-1] == "ALLOW"
    # Spellings mixed, repeated, and with '=': one list.
    again = sam_ext(
        "package", "--signing-profile=HelloFunction=Publisher", "--signing-profiles",
        "SharedLayer=Publisher", *publisher.overrides, "--output-template-file", "again.yaml",
    )  # fmt: skip
    assert again.row("SharedLayer")[1] == "Publisher"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--capabilities", "CAPABILITY_IAM"), "--capabilities"),
        (("--no-execute-changeset",), "--no-execute-changeset"),
        (("--no-fail-on-empty-changeset",), "--fail-on-empty-changeset/--no-fail-on-empty"),
        (("--confirm-changeset",), "--confirm-changeset/--no-confirm-changeset"),
        (("--role-arn", "arn:aws:iam::123456789012:role/r"), "--role-arn"),
        (("--tags", "team=core"), "--tags"),
        (("--notification-arns", "arn:aws:sns:us-east-1:123456789012:t"), "--notification-arns"),
        (("--resolve-s3",), "--resolve-s3"),
        (("--disable-rollback",), "--disable-rollback/--no-disable-rollback"),
        (("--profile", "ci"), "--profile"),
        (("--tags", "a=b", "--role-arn", "arn:aws:iam::123456789012:role/r"), "--role-arn, --tags"),
    ],
)
def test_cloudformation_options_are_refused_by_name_on_the_local_backend(
    sam_ext, app, publisher, backend, options, named
):
    refused = sam_ext(
        "deploy", "--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides, *options, status=2,
    )  # fmt: skip
    assert refused.err.startswith(f"error: ValidationException: {named}")
    assert "mean nothing on the local backend" in refused.err
    assert "--backend aws" in refused.err
    assert sam_ext.jobs() == 0 and backend.list_functions()["Functions"] == []


def test_cloudformation_keys_of_a_shared_samconfig_are_ignored_locally_with_a_warning(
    sam_ext, app, publisher, backend
):
    (app / "samconfig.toml").write_text(
        f"""version = 0.1
[default.deploy.parameters]
stack_name = "app"
region = "eu-west-1"
capabilities = "CAPABILITY_IAM"
confirm_changeset = true
resolve_s3 = true
signing_profiles = "HelloFunction=Publisher SharedLayer=Publisher"
parameter_overrides = "TrustedProfileVersionArn={publisher.version_arn}"
"""
    )
    result = sam_ext("deploy")
    assert (
        "warning: samconfig capabilities, confirm_changeset, resolve_s3, region: used by "
        "--backend aws only; ignored by the local backend"
    ) in result.err
    function = backend.get_function(HELLO)
    assert function["LastVerdict"]["decision"] == "ALLOW"
    assert ":us-east-1:" in function["CodeSigningConfigArn"]  # samconfig's region not used


def test_deploy_region_sets_the_region_of_local_arns_as_the_global_one(
    sam_ext, app, publisher, backend
):
    # The local backend's region is that of its ARNs (the global --region's meaning).
    arn = publisher.version_arn.replace(":us-east-1:", ":eu-west-1:")
    result = sam_ext(
        "deploy", "--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher",
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}", "--region", "eu-west-1",
    )  # fmt: skip
    assert "stack app deployed" in result.err
    [function] = [f for f in backend.list_functions()["Functions"] if f["FunctionName"] == HELLO]
    assert ":eu-west-1:" in function["CodeSigningConfigArn"]
