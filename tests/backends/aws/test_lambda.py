"""Lambda through the aws backend: code signing configs on Stubber (moto lacks them);
functions and layers on moto, deployed from signed S3 objects; Lambda's refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provider import schemas
from provider.backends.aws import S3Object
from provider.backends.aws.errors import AccessDeniedError
from provider.errors import ConflictError, DeploymentRejected, NotFoundError, ValidationError
from provider.verdict import CscPolicy

from .conftest import ACCOUNT, BUCKET, NOW, AwsWorld, package_bytes

CSC_ID = "csc-0a1b2c3d4e5f6a7b8"
CSC_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:{CSC_ID}"
OTHER_CSC = CSC_ARN[:-1] + "9"
PUBLISHER = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/publisher/a1b2c3d4e5"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:web"


def csc_response(
    policy: str = "Enforce", allowed: tuple[str, ...] = (PUBLISHER,), arn: str = CSC_ARN
) -> dict[str, Any]:
    """A Get/Create/UpdateCodeSigningConfig response as Lambda sends it."""
    return {
        "CodeSigningConfig": {
            "CodeSigningConfigId": arn.rsplit(":", 1)[1],
            "CodeSigningConfigArn": arn,
            "Description": "web functions",
            "AllowedPublishers": {"SigningProfileVersionArns": list(allowed)},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
            "LastModified": "2026-06-01T12:00:00.000+0000",
        }
    }


def upload(world: AwsWorld, key: str = "app/code.zip", body: bytes | None = None) -> S3Object:
    """An object in the versioned bucket (as a signing job would have written it)."""
    response = world.s3.put_object(Bucket=BUCKET, Key=key, Body=body or package_bytes())
    return S3Object(BUCKET, key, response["VersionId"])


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


# --- functions ------------------------------------------------------------------------
def test_a_function_is_created_from_a_signed_object_with_its_config(
    world: AwsWorld, role: str
) -> None:
    code = upload(world)
    created = world.backend.create_function(
        "web", code, csc_arn=CSC_ARN, role=role, handler="app.handler", now=NOW
    )
    assert created["CodeSigningConfigArn"] == CSC_ARN
    assert created["LastModified"].endswith("Z")
    function = world.backend.get_function("web")
    assert function["FunctionArn"] == FUNCTION_ARN
    assert function["CodeSigningConfigArn"] == CSC_ARN
    assert world.backend.get_function_code_signing_config("web") == {
        "CodeSigningConfigArn": CSC_ARN,
        "FunctionName": "web",
    }


def test_function_code_is_updated_from_a_new_signed_version(world: AwsWorld, role: str) -> None:
    world.backend.create_function("web", upload(world), role=role, now=NOW)
    newer = upload(world, body=package_bytes({"app.py": b"VERSION = 2\n"}))
    updated = world.backend.update_function_code("web", newer.uri, now=NOW)
    assert updated["FunctionName"] == "web"
    world.backend.delete_function("web")
    with pytest.raises(NotFoundError, match="function 'web' does not exist"):
        world.backend.get_function("web")


def test_layers_are_published_from_signed_objects_and_attached(world: AwsWorld, role: str) -> None:
    world.backend.create_function("web", upload(world), role=role, now=NOW)
    layer = world.backend.publish_layer_version("deps", upload(world, "layers/deps.zip"), now=NOW)
    assert layer["LayerVersionArn"].endswith(":layer:deps:1")
    assert layer["CreatedDate"].endswith("Z")
    updated = world.backend.update_function_configuration(
        "web", layers=[layer["LayerVersionArn"]], now=NOW
    )
    assert [entry["Arn"] for entry in updated["Layers"]] == [layer["LayerVersionArn"]]


def test_a_function_needs_a_role_and_an_s3_object(world: AwsWorld, role: str) -> None:
    with pytest.raises(ValidationError, match="role: None is not an IAM role ARN"):
        world.backend.create_function("web", upload(world), now=NOW)
    with pytest.raises(ValidationError, match=r"code: 'build/app\.zip' is a local file"):
        world.backend.create_function("web", Path("build/app.zip"), role=role, now=NOW)
    with pytest.raises(ValidationError, match="FunctionName: 'web app' must be"):
        world.backend.create_function("web app", upload(world), role=role, now=NOW)


def test_attaching_and_detaching_a_config(world: AwsWorld, role: str) -> None:
    world.backend.create_function("web", upload(world), role=role, now=NOW)
    stub = world.stub_lambda(
        "put_function_code_signing_config", "delete_function_code_signing_config"
    )
    stub.add_response(
        "put_function_code_signing_config",
        {"CodeSigningConfigArn": CSC_ARN, "FunctionName": "web"},
        {"FunctionName": "web", "CodeSigningConfigArn": CSC_ARN},
    )
    stub.add_response("delete_function_code_signing_config", {}, {"FunctionName": "web"})
    assert world.backend.put_function_code_signing_config("web", CSC_ARN) == {
        "CodeSigningConfigArn": CSC_ARN,
        "FunctionName": "web",
    }
    world.backend.delete_function_code_signing_config("web")
    stub.assert_no_pending_responses()


def test_lambdas_refusal_is_explained_by_the_predicted_verdict(
    world: AwsWorld, role: str, package: Callable[..., Path]
) -> None:
    world.put_profile("publisher")
    world.fake_signer()
    job = world.backend.sign_package(package(), f"s3://{BUCKET}/app", "publisher", now=NOW)
    signed = S3Object.from_location(job["signedObject"])
    stub = world.stub_lambda("create_function", "get_code_signing_config")
    stub.add_client_error(
        "create_function",
        "CodeVerificationFailedException",
        "The code signature failed one or more of the validation checks",
        400,
    )
    other = PUBLISHER.replace("/publisher/", "/someone_else/")
    stub.add_response("get_code_signing_config", csc_response("Enforce", (other,)))
    with pytest.raises(DeploymentRejected) as caught:
        world.backend.create_function("web", signed, csc_arn=CSC_ARN, role=role, now=NOW)
    message = caught.value.message
    assert caught.value.code == "CodeVerificationFailedException"
    assert message.startswith(
        "deployment of function 'web' rejected by Lambda's code signing check "
        "(CodeVerificationFailedException): lambda:CreateFunction on function 'web'"
    )
    assert "predicted: function web: rejected with CodeVerificationFailedException" in message
    assert "not among the code signing config's allowed publishers" in message
    assert "Remedy: Sign with an allowed profile version" in message
    with pytest.raises(NotFoundError):
        world.backend.get_function("web")


def test_a_refused_deploy_puts_the_previous_config_back(world: AwsWorld, role: str) -> None:
    world.backend.create_function("web", upload(world), csc_arn=CSC_ARN, role=role, now=NOW)
    stub = world.stub_lambda(
        "put_function_code_signing_config", "update_function_code", "get_code_signing_config"
    )
    stub.add_response(
        "put_function_code_signing_config",
        {"CodeSigningConfigArn": OTHER_CSC, "FunctionName": "web"},
        {"FunctionName": "web", "CodeSigningConfigArn": OTHER_CSC},
    )
    stub.add_client_error("update_function_code", "InvalidCodeSignatureException", "bad", 400)
    stub.add_response("get_code_signing_config", csc_response())
    stub.add_response(
        "put_function_code_signing_config",
        {"CodeSigningConfigArn": CSC_ARN, "FunctionName": "web"},
        {"FunctionName": "web", "CodeSigningConfigArn": CSC_ARN},
    )
    with pytest.raises(DeploymentRejected) as caught:
        world.backend.deploy_function_code("web", upload(world), csc_arn=OTHER_CSC, now=NOW)
    assert caught.value.code == "InvalidCodeSignatureException"
    stub.assert_no_pending_responses()
    assert [name for name, _ in stub.calls] == [
        "PutFunctionCodeSigningConfig",
        "UpdateFunctionCode",
        "GetCodeSigningConfig",
        "PutFunctionCodeSigningConfig",
    ]


def test_a_config_that_cannot_be_put_back_is_reported(world: AwsWorld, role: str) -> None:
    world.backend.create_function("web", upload(world), csc_arn=CSC_ARN, role=role, now=NOW)
    stub = world.stub_lambda(
        "put_function_code_signing_config", "update_function_code", "get_code_signing_config"
    )
    stub.add_response(
        "put_function_code_signing_config",
        {"CodeSigningConfigArn": OTHER_CSC, "FunctionName": "web"},
    )
    stub.add_client_error("update_function_code", "CodeVerificationFailedException", "no", 400)
    stub.add_client_error("get_code_signing_config", "AccessDeniedException", "no", 403)
    stub.add_client_error("put_function_code_signing_config", "AccessDeniedException", "no", 403)
    with pytest.raises(DeploymentRejected) as caught:
        world.backend.deploy_function_code("web", upload(world), csc_arn=OTHER_CSC, now=NOW)
    message = caught.value.message
    assert f"restoring function 'web''s previous code signing config ({CSC_ARN}) failed" in message
    assert f"it now has {OTHER_CSC}" in message
    assert caught.value.code == "CodeVerificationFailedException"
    assert not isinstance(caught.value, AccessDeniedError)
