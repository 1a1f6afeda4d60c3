"""Functions and layers through the aws backend.

moto serves functions, layers, the IAM role and S3; botocore's Stubber (which checks
every request and response against Lambda's model) stands in where moto cannot: the
Pending and InProgress states, conflicts, Put/DeleteFunctionCodeSigningConfig (moto
lacks them), and Lambda's code signing refusals. The fake Signer makes signed objects.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws import S3Object
from provider.backends.aws.errors import AccessDeniedError, FunctionStateError
from provider.backends.function_settings import FunctionSettings, LayerSettings
from provider.errors import ConflictError, DeploymentRejected, NotFoundError, ValidationError

from .conftest import (
    BUCKET,
    CSC_ARN,
    FUNCTION_ARN,
    NOW,
    OTHER_CSC,
    PUBLISHER,
    AwsWorld,
    PartialStubber,
    csc_response,
    package_bytes,
    upload,
)


def get_function_response(world: AwsWorld, role: str, **configuration: Any) -> dict[str, Any]:
    """A GetFunction response as moto gives it for a function 'web', changed as asked (for
    the states moto never shows). Made on a throwaway function, so 'web' stays free."""
    world.lambda_.create_function(
        FunctionName="shape",
        Role=role,
        Runtime="python3.12",
        Handler="app.handler",
        Code=upload(world, "shape.zip").lambda_code(),
    )
    response = copy.deepcopy(world.lambda_.get_function(FunctionName="shape"))
    world.lambda_.delete_function(FunctionName="shape")
    response.pop("ResponseMetadata", None)
    response["Configuration"].update(FunctionName="web", FunctionArn=FUNCTION_ARN)
    response["Configuration"].update(configuration)
    return response


# --- create ---------------------------------------------------------------------------
def test_a_function_is_created_with_every_input_its_layer_and_its_config(
    world: AwsWorld, role: str, every_setting: Callable[[str], FunctionSettings]
) -> None:
    layer = world.backend.publish_layer_version("deps", upload(world, "layers/deps.zip"), now=NOW)
    created = world.backend.create_function(
        "web",
        upload(world),
        csc_arn=CSC_ARN,
        layers=[layer["LayerVersionArn"]],
        now=NOW,
        settings=every_setting(role),
    )
    assert FunctionSettings.from_function(created) == every_setting(role)
    assert created["CodeSigningConfigArn"] == CSC_ARN
    assert [entry["Arn"] for entry in created["Layers"]] == [layer["LayerVersionArn"]]
    assert (created["State"], created["PackageType"]) == ("Active", "Zip")
    assert created["LastModified"].endswith("Z")
    # moto keeps the config CreateFunction carried: it was attached in the same call.
    assert world.lambda_.get_function_code_signing_config(FunctionName="web")[
        "CodeSigningConfigArn"
    ] == (CSC_ARN)
    assert world.backend.get_function("web") == created


def test_lambdas_defaults_fill_what_the_program_does_not_say(world: AwsWorld, role: str) -> None:
    created = world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    assert (created["Runtime"], created["Handler"]) == ("python3.12", "app.handler")
    assert (created["MemorySize"], created["Timeout"], created["Architectures"]) == (
        128,
        3,
        ["x86_64"],
    )
    assert created["Tags"] == {} and "CodeSigningConfigArn" not in created


def test_publishing_versions_with_create_and_update(world: AwsWorld, role: str) -> None:
    settings = FunctionSettings(role=role, publish=True)
    assert world.backend.create_function("web", upload(world), now=NOW, settings=settings)[
        "Version"
    ] == ("1")
    newer = upload(world, body=package_bytes({"app.py": b"VERSION = 2\n"}))
    assert world.backend.update_function_code("web", newer, now=NOW, publish=True)["Version"] == "2"
    assert world.backend.get_function("web")["Version"] == "$LATEST"


def test_a_function_on_aws_needs_a_role_and_a_signed_s3_object(world: AwsWorld, role: str) -> None:
    stub = world.stub_lambda("create_function")
    with pytest.raises(ValidationError, match="role: a function on AWS needs an execution role"):
        world.backend.create_function("web", upload(world), now=NOW)
    with pytest.raises(ValidationError, match=r"code: 'build/app\.zip' is a local file"):
        world.backend.create_function(
            "web", Path("build/app.zip"), now=NOW, settings=FunctionSettings(role=role)
        )
    with pytest.raises(ValidationError, match="FunctionName: 'web app' must be"):
        world.backend.create_function(
            "web app", upload(world), now=NOW, settings=FunctionSettings(role=role)
        )
    with pytest.raises(ValidationError, match="layers: 'deps' is not a layer version ARN"):
        world.backend.create_function(
            "web", upload(world), layers=["deps"], now=NOW, settings=FunctionSettings(role=role)
        )
    assert stub.calls == []


def test_an_image_function_is_refused_before_any_call(world: AwsWorld, role: str) -> None:
    stub = world.stub_lambda("create_function")
    with pytest.raises(ValidationError) as caught:
        world.backend.create_function(
            "web",
            upload(world),
            now=NOW,
            settings=FunctionSettings.from_inputs({"role": role, "package_type": "Image"}),
        )
    assert caught.value.message.startswith(
        "package_type: 'Image' is not supported: Lambda code signing covers .zip packages only"
    )
    assert stub.calls == []


# --- waits ----------------------------------------------------------------------------
def test_create_waits_until_the_function_is_active(world: AwsWorld, role: str) -> None:
    pending = get_function_response(world, role, State="Pending", StateReasonCode="Creating")
    active = get_function_response(world, role, State="Active")
    stub = world.stub_lambda("get_function")
    for response in (pending, pending, active, active):
        stub.add_response("get_function", response, {"FunctionName": "web"})
    created = world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    assert created["State"] == "Active"
    stub.assert_no_pending_responses()  # two Pending polls, Active, then the read


def test_a_function_that_never_becomes_active_is_deleted(world: AwsWorld, role: str) -> None:
    failed = get_function_response(
        world,
        role,
        State="Failed",
        StateReason="The role defined for the function cannot be assumed by Lambda.",
        StateReasonCode="InvalidRole",
    )
    stub = world.stub_lambda("get_function")
    stub.add_response("get_function", failed)
    with pytest.raises(FunctionStateError) as caught:
        world.backend.create_function(
            "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
        )
    assert caught.value.message == (
        "function 'web' did not become Active: State Failed, LastUpdateStatus Successful "
        "(InvalidRole: The role defined for the function cannot be assumed by Lambda.); see "
        "'aws lambda get-function --function-name web'; it was deleted, nothing is left behind"
    )
    stub.deactivate()
    with pytest.raises(NotFoundError, match="function 'web' does not exist"):
        world.backend.get_function("web")


def test_an_update_waits_until_it_is_successful(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    in_progress = get_function_response(world, role, LastUpdateStatus="InProgress")
    done = get_function_response(world, role, LastUpdateStatus="Successful")
    stub = world.stub_lambda("get_function")
    for response in (in_progress, in_progress, done, done):
        stub.add_response("get_function", response)
    updated = world.backend.update_function_code("web", upload(world, "v2.zip"), now=NOW)
    assert updated["LastUpdateStatus"] == "Successful"
    stub.assert_no_pending_responses()


def test_a_failed_update_is_reported_with_lambdas_reason(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    failed = get_function_response(
        world,
        role,
        LastUpdateStatus="Failed",
        LastUpdateStatusReason="Lambda was unable to configure your environment variables.",
        LastUpdateStatusReasonCode="KMSAccessDeniedException",
    )
    stub = world.stub_lambda("get_function")
    stub.add_response("get_function", failed)
    with pytest.raises(FunctionStateError) as caught:
        world.backend.update_function_configuration(
            "web", now=NOW, settings=FunctionSettings(environment={"STAGE": "dev"})
        )
    assert caught.value.code == "KMSAccessDeniedException"
    assert caught.value.message == (
        "function 'web' was not updated: State Active, LastUpdateStatus Failed "
        "(KMSAccessDeniedException: Lambda was unable to configure your environment "
        "variables.); see 'aws lambda get-function --function-name web'"
    )


def test_an_update_in_progress_is_waited_for_and_the_call_retried(
    world: AwsWorld, role: str
) -> None:
    world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    configuration = get_function_response(world, role)["Configuration"]
    stub = world.stub_lambda("update_function_code")
    for _ in range(2):
        stub.add_client_error(
            "update_function_code",
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for "
            f"resource: {FUNCTION_ARN}",
            409,
        )
    stub.add_response("update_function_code", configuration)
    world.backend.update_function_code("web", upload(world, "v2.zip"), now=NOW)
    assert len(stub.requests("UpdateFunctionCode")) == 3
    stub.assert_no_pending_responses()


def test_conflicts_are_retried_only_so_often_then_reported(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    world.backend.conflict_attempts = 2
    stub = world.stub_lambda("update_function_configuration")
    for _ in range(2):
        stub.add_client_error(
            "update_function_configuration",
            "ResourceConflictException",
            "An update is in progress",
            409,
        )
    with pytest.raises(ConflictError) as caught:
        world.backend.update_function_configuration("web", layers=[], now=NOW)
    assert caught.value.code == "ResourceConflictException"
    assert caught.value.message.endswith(
        "refused 2 times, each after waiting for the update in progress: wait until function "
        "'web''s LastUpdateStatus is Successful, then retry"
    )
    stub.assert_no_pending_responses()


# --- Lambda's refusals ----------------------------------------------------------------
def test_a_refused_create_names_the_function_the_check_and_the_remedy_and_leaves_nothing(
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
        "The code signature failed one or more of the validation checks for signature "
        "mismatch or expiry, and the code signing policy is set to ENFORCE.",
        400,
    )
    other = PUBLISHER.replace("/publisher/", "/someone_else/")
    stub.add_response("get_code_signing_config", csc_response("Enforce", (other,)))
    with pytest.raises(DeploymentRejected) as caught:
        world.backend.create_function(
            "web", signed, csc_arn=CSC_ARN, now=NOW, settings=FunctionSettings(role=role)
        )
    message = caught.value.message
    assert caught.value.code == "CodeVerificationFailedException"
    assert message.startswith(
        f"function 'web': Lambda rejected CreateFunction under code signing config {CSC_ARN} "
        "with CodeVerificationFailedException, failing the mismatch check (The code signature "
        "failed one or more"
    )
    assert "predicted: function web: rejected with CodeVerificationFailedException" in message
    assert message.endswith(
        "Remedy: Sign with an allowed profile version, or add this profile version ARN to the "
        "code signing config's AllowedPublishers."
    )
    assert "\n" not in message
    stub.deactivate()
    with pytest.raises(NotFoundError):
        world.backend.get_function("web")
    assert world.lambda_.list_functions()["Functions"] == []


def test_a_refused_layer_change_names_the_check_lambda_reported(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), csc_arn=CSC_ARN, now=NOW, settings=FunctionSettings(role=role)
    )
    layer = world.backend.publish_layer_version("deps", upload(world, "layers/deps.zip"), now=NOW)
    stub = world.stub_lambda("update_function_configuration")
    stub.add_client_error(
        "update_function_configuration",
        "InvalidCodeSignatureException",
        "The code signature failed the integrity check.",
        400,
    )
    with pytest.raises(DeploymentRejected) as caught:
        world.backend.update_function_configuration(
            "web", layers=[layer["LayerVersionArn"]], now=NOW
        )
    assert caught.value.message == (
        f"function 'web': Lambda rejected UpdateFunctionConfiguration under code signing config "
        f"{CSC_ARN} with InvalidCodeSignatureException, failing the integrity check (The code "
        "signature failed the integrity check.). Remedy: Deploy the signed object exactly as "
        "its signing job wrote it; if the source changed, sign it again."
    )
    assert world.backend.get_function("web")["Layers"] == []


# --- updates --------------------------------------------------------------------------
def test_settings_layers_and_tags_are_updated(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web",
        upload(world),
        now=NOW,
        settings=FunctionSettings(role=role, tags={"team": "web", "cost": "a"}),
    )
    layer = world.backend.publish_layer_version("deps", upload(world, "layers/deps.zip"), now=NOW)
    updated = world.backend.update_function_configuration(
        "web",
        layers=[layer["LayerVersionArn"]],
        now=NOW,
        settings=FunctionSettings(
            memory_size=512, timeout=60, environment={"STAGE": "dev"}, tags={"team": "api"}
        ),
    )
    assert (updated["MemorySize"], updated["Timeout"]) == (512, 60)
    assert updated["Environment"] == {"Variables": {"STAGE": "dev"}}
    assert updated["Tags"] == {"team": "api"}
    assert [entry["Arn"] for entry in updated["Layers"]] == [layer["LayerVersionArn"]]
    assert updated["Runtime"] == "python3.12"  # not given: unchanged


def test_the_architecture_changes_with_the_code_only(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    with pytest.raises(ValidationError, match="architectures: Lambda changes a function's"):
        world.backend.update_function_configuration(
            "web", now=NOW, settings=FunctionSettings(architectures=["arm64"])
        )
    newer = upload(world, "v2.zip")
    configuration = get_function_response(world, role)["Configuration"]
    stub = world.stub_lambda("update_function_code")
    stub.add_response(
        "update_function_code",
        configuration,
        {
            "FunctionName": "web",
            "Publish": False,
            "Architectures": ["arm64"],
            **newer.lambda_code(),
        },
    )
    world.backend.update_function_code("web", newer, now=NOW, architectures=["arm64"])
    stub.assert_no_pending_responses()


def test_function_code_is_updated_and_the_function_deleted(world: AwsWorld, role: str) -> None:
    first = world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
    newer = upload(world, body=package_bytes({"app.py": b"VERSION = 2\n"}))
    updated = world.backend.update_function_code("web", newer.uri, now=NOW)
    assert updated["CodeSha256"] != first["CodeSha256"]
    world.backend.delete_function("web")
    with pytest.raises(NotFoundError, match="function 'web' does not exist"):
        world.backend.get_function("web")


# --- functions' code signing configs --------------------------------------------------
def test_attaching_and_detaching_a_config(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), now=NOW, settings=FunctionSettings(role=role)
    )
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


def _conflict_then_put(stub: PartialStubber, csc_arn: str) -> None:
    stub.add_response(
        "put_function_code_signing_config",
        {"CodeSigningConfigArn": csc_arn, "FunctionName": "web"},
        {"FunctionName": "web", "CodeSigningConfigArn": csc_arn},
    )


def test_a_refused_deploy_puts_the_previous_config_back(world: AwsWorld, role: str) -> None:
    world.backend.create_function(
        "web", upload(world), csc_arn=CSC_ARN, now=NOW, settings=FunctionSettings(role=role)
    )
    stub = world.stub_lambda(
        "put_function_code_signing_config", "update_function_code", "get_code_signing_config"
    )
    _conflict_then_put(stub, OTHER_CSC)
    stub.add_client_error("update_function_code", "InvalidCodeSignatureException", "bad", 400)
    stub.add_response("get_code_signing_config", csc_response())
    _conflict_then_put(stub, CSC_ARN)
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
    world.backend.create_function(
        "web", upload(world), csc_arn=CSC_ARN, now=NOW, settings=FunctionSettings(role=role)
    )
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


# --- refresh --------------------------------------------------------------------------
def test_refresh_reads_back_what_changed_out_of_band(world: AwsWorld, role: str) -> None:
    code = upload(world)
    world.backend.create_function(
        "web", code, csc_arn=CSC_ARN, now=NOW, settings=FunctionSettings(role=role)
    )
    assert world.backend.function_drift("web", csc_arn=CSC_ARN, code=code) == []

    stub = world.stub_lambda("get_function_code_signing_config")
    stub.add_response(
        "get_function_code_signing_config", {"CodeSigningConfigArn": "", "FunctionName": "web"}
    )
    stub.add_response(
        "get_function_code_signing_config",
        {"CodeSigningConfigArn": OTHER_CSC, "FunctionName": "web"},
    )
    assert world.backend.function_drift("web", csc_arn=CSC_ARN, code=code) == [
        f"function 'web': code signing config {CSC_ARN} was detached out of band"
    ]
    assert world.backend.function_drift("web", csc_arn=CSC_ARN, code=code) == [
        f"function 'web': code signing config {CSC_ARN} was replaced out of band by {OTHER_CSC}"
    ]
    stub.deactivate()

    other = upload(world, "other.zip", package_bytes({"app.py": b"EVIL = 1\n"}))
    world.lambda_.update_function_code(FunctionName="web", **other.lambda_code())
    world.lambda_.update_function_configuration(FunctionName="web", MemorySize=1024)
    found = world.backend.function_drift(
        "web", csc_arn=CSC_ARN, code=code, settings=FunctionSettings(memory_size=128)
    )
    assert len(found) == 2
    assert found[0].startswith("function 'web': code changed out of band (CodeSha256 ")
    assert found[0].endswith(
        f"is not the signed package's {world.backend.objects.code_sha256(code)})"
    )
    assert found[1] == "function 'web': memory_size is 1024 (deployed as 128)"


def test_refresh_shows_a_signature_revoked_since_the_deploy(
    world: AwsWorld, role: str, package: Callable[..., Path]
) -> None:
    arn = world.put_profile("publisher")["profileVersionArn"]
    world.fake_signer()
    job = world.backend.sign_package(package(), f"s3://{BUCKET}/app", "publisher", now=NOW)
    signed = S3Object.from_location(job["signedObject"])
    world.backend.create_function(
        "web", signed, csc_arn=CSC_ARN, now=NOW, settings=FunctionSettings(role=role)
    )
    stub = world.stub_lambda("get_code_signing_config")
    for _ in range(2):
        stub.add_response("get_code_signing_config", csc_response("Enforce", (arn,)))
    later = datetime.now(UTC)  # the fake Signer stamps jobs with the real clock
    assert world.backend.function_drift("web", csc_arn=CSC_ARN, code=signed, at=later) == []
    world.backend.revoke_signature(job["jobId"], "built from a leaked branch", now=later)
    assert world.backend.function_drift("web", csc_arn=CSC_ARN, code=signed, at=later) == [
        f"function 'web': since the deploy, the signature (job {job['jobId']}) was revoked: "
        "built from a leaked branch; the function keeps running, but its next deploy would "
        "fail the revocation check"
    ]
    stub.assert_no_pending_responses()


# --- layers ---------------------------------------------------------------------------
def test_layers_are_published_with_their_settings_and_deleted(world: AwsWorld) -> None:
    layer = world.backend.publish_layer_version(
        "deps",
        upload(world, "layers/deps.zip"),
        now=NOW,
        settings=LayerSettings(
            compatible_runtimes=["python3.12"],
            compatible_architectures=["x86_64", "arm64"],
            description="shared deps",
            license_info="MIT",
        ),
    )
    arn = layer["LayerVersionArn"]
    assert arn.endswith(":layer:deps:1") and layer["CreatedDate"].endswith("Z")
    assert (layer["CompatibleRuntimes"], layer["CompatibleArchitectures"]) == (
        ["python3.12"],
        ["x86_64", "arm64"],
    )
    assert (layer["Description"], layer["LicenseInfo"]) == ("shared deps", "MIT")
    world.backend.delete_layer_version(arn)
    assert world.lambda_.list_layer_versions(LayerName="deps")["LayerVersions"] == []
    world.backend.delete_layer_version(arn)  # already gone: fine, as on Lambda
    with pytest.raises(ValidationError, match="layer_version_arn: 'deps:1' is not a layer"):
        world.backend.delete_layer_version("deps:1")
