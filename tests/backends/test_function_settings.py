"""The input rules both backends share: function and layer settings (pulumi-aws names),
layer version ARNs, refresh's drift, and the Signer / code signing config checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from provider.backends.base import check_profile_revocation, csc_update_request, profile_request
from provider.backends.function_settings import (
    FunctionSettings,
    LayerSettings,
    check_layers,
    code_from_inputs,
    drift,
    parse_layer_version_arn,
)
from provider.errors import ValidationError
from provider.objects import S3Object
from provider.validity import ValidityPeriod

ROLE = "arn:aws:iam::123456789012:role/web"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"
CSC = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0a1b2c3d4e5f6a7b8"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"role": "admin"}, "role: 'admin' is not an IAM role ARN"),
        ({"runtime": "Python 3"}, "runtime: 'Python 3' is not a Lambda runtime"),
        ({"handler": "app handler"}, "handler: 'app handler' must be 1 to 128 characters"),
        ({"memory_size": 64}, "memory_size: 64 must be a whole number of MB, 128 to 10240"),
        ({"memory_size": True}, "memory_size: True must be a whole number"),
        ({"timeout": 0}, "timeout: 0 must be a whole number of seconds, 1 to 900"),
        ({"environment": {"AWS_REGION": "x"}}, "environment: AWS_REGION is reserved"),
        ({"environment": {"1X": "x"}}, "environment: variable name '1X' must start"),
        ({"environment": {"BIG": "x" * 5000}}, "environment: 5003 bytes of variables"),
        ({"environment": ["A=1"]}, "environment: must be a mapping of text to text"),
        ({"architectures": ["x86_64", "arm64"]}, "architectures: a function has exactly one"),
        ({"architectures": ["sparc"]}, "architectures: 'sparc' is not one of x86_64, arm64"),
        ({"architectures": "arm64"}, "architectures: must be a list"),
        ({"description": "d" * 257}, "description: must be text of at most 256 characters"),
        ({"tags": {"aws:owner": "x"}}, "tags: key 'aws:owner' must be 1 to 128 characters"),
        ({"tags": {"team": 1}}, "tags: must be a mapping of text to text"),
        ({"publish": "yes"}, "publish: 'yes' must be true or false"),
        ({"package_type": "Image"}, "package_type: 'Image' is not supported: Lambda code"),
        ({"package_type": "zip"}, "package_type: 'zip' must be 'Zip'"),
    ],
)
def test_each_input_is_checked_naming_it_as_pulumi_aws_does(
    inputs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        FunctionSettings.from_inputs(inputs)
    assert caught.value.message.startswith(message), caught.value.message


def test_an_image_is_refused_with_the_reason_and_the_way_forward() -> None:
    with pytest.raises(ValidationError) as caught:
        FunctionSettings(package_type="Image")
    assert caught.value.message == (
        "package_type: 'Image' is not supported: Lambda code signing covers .zip packages only "
        "(a container image is never checked against a code signing config); deploy the "
        "function as a signed .zip (package_type 'Zip')"
    )


def test_inputs_become_lambdas_parameters_and_defaults_fill_the_rest() -> None:
    settings = FunctionSettings.from_inputs(
        {
            "role": ROLE,
            "memory_size": 512,
            "environment": {"STAGE": "prod"},
            "architectures": ["arm64"],
            "name": "not a setting",
            "timeout": None,
        }
    )
    assert settings.lambda_params() == {
        "Role": ROLE,
        "MemorySize": 512,
        "Environment": {"Variables": {"STAGE": "prod"}},
    }
    full = settings.with_defaults()
    assert (full.runtime, full.handler, full.timeout) == ("python3.12", "app.handler", 3)
    assert full.architectures == ("arm64",) and full.memory_size == 512
    assert full.merged(FunctionSettings(timeout=10)).timeout == 10
    assert full.merged(FunctionSettings(timeout=10)).memory_size == 512


def test_settings_read_back_from_a_function_document_equal_the_inputs(every_setting) -> None:
    settings = every_setting(ROLE)
    document = {**settings.to_document(), "Tags": {"team": "web"}}
    assert FunctionSettings.from_function(document) == settings


def test_pulumi_aws_shapes_of_environment_and_code_are_understood() -> None:
    settings = FunctionSettings.from_inputs({"environment": {"variables": {"STAGE": "prod"}}})
    assert settings.environment == {"STAGE": "prod"}
    in_s3 = {"s3_bucket": "artifacts", "s3_key": "app.zip", "s3_object_version": "v1"}
    assert code_from_inputs(in_s3) == S3Object("artifacts", "app.zip", "v1")
    assert code_from_inputs({"code": "s3://artifacts/app.zip?versionId=v1"}) == S3Object(
        "artifacts", "app.zip", "v1"
    )
    assert code_from_inputs({"code": "build/app.zip"}) == Path("build/app.zip")
    with pytest.raises(ValidationError, match="code: give either code or s3_bucket"):
        code_from_inputs({"code": "build/app.zip", "s3_bucket": "b", "s3_key": "k"})
    with pytest.raises(ValidationError, match="s3_key: s3_bucket and s3_key go together"):
        code_from_inputs({"s3_bucket": "artifacts"})
    with pytest.raises(ValidationError, match="code: missing"):
        code_from_inputs({})
    layer = LayerSettings.from_inputs({"compatible_runtimes": ["python3.12"], "layer_name": "x"})
    assert layer.compatible_runtimes == ("python3.12",)


def test_layer_settings_and_layer_version_arns() -> None:
    layer = LayerSettings(
        compatible_runtimes=["python3.12"], compatible_architectures=["arm64"], license_info="MIT"
    )
    assert layer.lambda_params() == {
        "CompatibleRuntimes": ["python3.12"],
        "CompatibleArchitectures": ["arm64"],
        "LicenseInfo": "MIT",
    }
    with pytest.raises(ValidationError, match="compatible_architectures: 'sparc' is not one"):
        LayerSettings(compatible_architectures=["sparc"])
    with pytest.raises(ValidationError, match="license_info: must be text of at most 512"):
        LayerSettings(license_info="x" * 513)
    ref = parse_layer_version_arn(LAYER)
    assert (ref.layer_name, ref.version) == ("deps", 3)
    with pytest.raises(ValidationError, match="layers: the same layer version is listed twice"):
        check_layers([LAYER, LAYER])
    with pytest.raises(ValidationError, match="layers: 6 layers; a function takes at most 5"):
        check_layers([f"{LAYER[:-1]}{n}" for n in range(1, 7)])


def test_drift_names_each_change_made_out_of_band() -> None:
    deployed = {
        "FunctionName": "web",
        "CodeSha256": "abc=",
        "CodeSigningConfigArn": CSC,
        "MemorySize": 128,
        "Tags": {},
    }
    assert drift(deployed, csc_arn=CSC, code_sha256="abc=") == []
    assert drift({**deployed, "CodeSigningConfigArn": ""}, csc_arn=CSC, code_sha256=None) == [
        f"function 'web': code signing config {CSC} was detached out of band"
    ]
    other = CSC[:-1] + "9"
    assert drift(deployed, csc_arn=other, code_sha256=None) == [
        f"function 'web': code signing config {other} was replaced out of band by {CSC}"
    ]
    assert drift(deployed, csc_arn=None, code_sha256=None) == [
        f"function 'web': code signing config {CSC} was attached out of band"
    ]
    assert drift(deployed, csc_arn=CSC, code_sha256="def=") == [
        "function 'web': code changed out of band (CodeSha256 abc= is not the signed "
        "package's def=)"
    ]
    assert drift(
        deployed, csc_arn=CSC, code_sha256=None, settings=FunctionSettings(memory_size=256)
    ) == ["function 'web': memory_size is 128 (deployed as 256)"]


def test_the_signer_and_config_checks_both_backends_share() -> None:
    request = profile_request("publisher", "AWSLambda-SHA384-ECDSA", None, None)
    assert request.validity == ValidityPeriod.default() and request.tags == {}
    with pytest.raises(ValidationError, match="profileName"):
        profile_request("x", "AWSLambda-SHA384-ECDSA", None, None)
    with pytest.raises(ValidationError, match=r"effectiveTime: .* is in the future"):
        check_profile_revocation("a1b2c3d4e5", "leaked", NOW + timedelta(days=1), NOW)
    with pytest.raises(ValidationError, match="reason: must be 1 to 500 characters"):
        check_profile_revocation("a1b2c3d4e5", "", NOW, NOW)
    current = {
        "AllowedPublishers": {
            "SigningProfileVersionArns": [
                "arn:aws:signer:us-east-1:123456789012:/signing-profiles/publisher/a1b2c3d4e5"
            ]
        },
        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"},
        "Description": "web",
    }
    merged = csc_update_request(current, None, "Enforce", None)
    assert merged["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert merged["AllowedPublishers"] == current["AllowedPublishers"]
    assert merged["Description"] == "web"
    with pytest.raises(ValidationError, match="SigningProfileVersionArns"):
        csc_update_request(current, [], None, None)
