"""Lambda's code signing configs through the aws backend, on Stubber (moto lacks them).
Functions and layers: test_functions.py."""

from __future__ import annotations

import pytest

from provider import schemas
from provider.errors import ConflictError, NotFoundError, ValidationError
from provider.verdict import CscPolicy

from .conftest import CSC_ARN, FUNCTION_ARN, NOW, OTHER_CSC, PUBLISHER, AwsWorld, csc_response


# --- code signing configs -------------------------------------------------------------
def test_a_code_signing_config_is_created_as_requested(world: AwsWorld) -> None:
    stub = world.stub_lambda("create_code_signing_config")
    stub.add_response(
        "create_code_signing_config",
        csc_response(),
        {
            "AllowedPublishers": {"SigningProfileVersionArns": [PUBLISHER]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            "Description": "web functions",
        },
    )
    created = world.backend.create_code_signing_config(
        [PUBLISHER], policy="Enforce", description="web functions", now=NOW
    )
    schemas.validate(created, "code-signing-config", what="CreateCodeSigningConfig")
    assert created["CodeSigningConfig"]["LastModified"] == "2026-06-01T12:00:00.000Z"


@pytest.mark.parametrize(
    ("allowed", "policy", "message"),
    [
        ([], None, "SigningProfileVersionArns"),
        ([PUBLISHER] * 2, None, "has duplicates"),
        ([PUBLISHER], "Audit", "UntrustedArtifactOnDeployment"),
    ],
)
def test_bad_configs_are_refused_before_a_call(
    world: AwsWorld, allowed: list[str], policy: str | None, message: str
) -> None:
    stub = world.stub_lambda("create_code_signing_config")
    with pytest.raises(ValidationError, match=message):
        world.backend.create_code_signing_config(allowed, policy=policy, now=NOW)
    assert stub.calls == []


def test_the_verdict_inputs_of_a_config_are_read_from_lambda(world: AwsWorld) -> None:
    stub = world.stub_lambda("get_code_signing_config")
    stub.add_response(
        "get_code_signing_config", csc_response("Warn"), {"CodeSigningConfigArn": CSC_ARN}
    )
    assert world.backend.csc_policy_of(CSC_ARN) == CscPolicy((PUBLISHER,), "Warn", CSC_ARN)
    stub.add_response(
        "get_code_signing_config", csc_response("Warn"), {"CodeSigningConfigArn": CSC_ARN}
    )
    config = world.backend.code_signing_config(CSC_ARN)
    assert config.arn == CSC_ARN and config.allowed == (PUBLISHER,)
    with pytest.raises(ValidationError, match="CodeSigningConfigArn: 'csc-1' is not"):
        world.backend.csc_policy_of("csc-1")


def test_an_update_sends_only_the_changed_fields(world: AwsWorld) -> None:
    stub = world.stub_lambda("get_code_signing_config", "update_code_signing_config")
    stub.add_response("get_code_signing_config", csc_response("Warn"))
    stub.add_response(
        "update_code_signing_config",
        csc_response("Enforce"),
        {
            "CodeSigningConfigArn": CSC_ARN,
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
        },
    )
    updated = world.backend.update_code_signing_config(CSC_ARN, policy="Enforce", now=NOW)
    assert updated["CodeSigningConfig"]["CodeSigningPolicies"] == {
        "UntrustedArtifactOnDeployment": "Enforce"
    }
    stub.assert_no_pending_responses()


def test_listing_reads_every_page(world: AwsWorld) -> None:
    stub = world.stub_lambda("list_code_signing_configs")
    first = csc_response()["CodeSigningConfig"]
    second = csc_response(arn=OTHER_CSC)["CodeSigningConfig"]
    stub.add_response(
        "list_code_signing_configs", {"CodeSigningConfigs": [first], "NextMarker": "m"}
    )
    stub.add_response(
        "list_code_signing_configs", {"CodeSigningConfigs": [second]}, {"Marker": "m"}
    )
    listed = world.backend.list_code_signing_configs()
    schemas.validate(listed, "list-code-signing-configs-response", what="ListCodeSigningConfigs")
    assert [c["CodeSigningConfigArn"] for c in listed["CodeSigningConfigs"]] == [CSC_ARN, OTHER_CSC]


def test_a_config_in_use_is_not_deleted_and_the_error_names_its_functions(
    world: AwsWorld,
) -> None:
    stub = world.stub_lambda("delete_code_signing_config", "list_functions_by_code_signing_config")
    stub.add_client_error(
        "delete_code_signing_config",
        "ResourceConflictException",
        "The code signing config is in use by a function",
        409,
        expected_params={"CodeSigningConfigArn": CSC_ARN},
    )
    stub.add_response(
        "list_functions_by_code_signing_config",
        {"FunctionArns": [FUNCTION_ARN]},
        {"CodeSigningConfigArn": CSC_ARN},
    )
    with pytest.raises(ConflictError) as caught:
        world.backend.delete_code_signing_config(CSC_ARN)
    assert caught.value.code == "ResourceConflictException"
    assert caught.value.message.startswith(
        f"code signing config {CSC_ARN} is in use by function(s) {FUNCTION_ARN}; detach it"
    )
    # The AWS CLI command that detaches it, with the function it names.
    assert (
        f"aws lambda delete-function-code-signing-config --function-name {FUNCTION_ARN};"
        in caught.value.message
    )
    assert "\n" not in str(caught.value)


def test_deleting_a_missing_config_is_not_found(world: AwsWorld) -> None:
    stub = world.stub_lambda("delete_code_signing_config")
    stub.add_client_error("delete_code_signing_config", "ResourceNotFoundException", "", 404)
    with pytest.raises(NotFoundError, match=f"code signing config {CSC_ARN} does not exist"):
        world.backend.delete_code_signing_config(CSC_ARN)


def test_a_missing_config_is_said_once(world: AwsWorld) -> None:
    """AWS's own message repeats "does not exist": the error says it once, on one line
    (what ``sam-ext --backend aws verify --code-signing-config-arn`` printed twice)."""
    stub = world.stub_lambda("get_code_signing_config")
    stub.add_client_error(
        "get_code_signing_config",
        "ResourceNotFoundException",
        f"The code signing config {CSC_ARN} does not exist.",
        404,
    )
    with pytest.raises(NotFoundError) as caught:
        world.backend.csc_policy_of(CSC_ARN)  # what verify --code-signing-config-arn asks
    message = caught.value.message
    assert message == (
        f"code signing config {CSC_ARN} does not exist "
        "(or is not visible to this account and region)"
    )
    assert str(caught.value) == f"ResourceNotFoundException: {message}"
