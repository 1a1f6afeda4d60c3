"""The words of a refused Lambda request are AWS Lambda's own: ``N validation errors
detected: Value '...' at 'member.path' failed to satisfy constraint: ...; ...``, member
paths lowerCamelCase, Java's rendering of lists and maps, Lambda's own limit where its
botocore model differs, and Lambda's sentences for code it refuses. The expected strings
below are AWS's answers as quoted in public reports (each cited), with the pattern the
model states today where the quote predates it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from provider.endpoint import protocol, validation

from .conftest import package_bytes

LAMBDA = protocol.service_model("lambda")
ROLE = "arn:aws:iam::123456789012:role/r"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"


def refusal(operation: str, body: dict[str, Any], **uri: str) -> tuple[str, str]:
    """``(code, message)`` of the model's refusal of ``body`` (fails if it is accepted)."""
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.parse_input(
            LAMBDA.operation_model(operation), uri, {}, {}, json.dumps(body).encode()
        )
    return refused.value.code, refused.value.message


def pattern(*path: str, operation: str = "CreateFunction") -> str:
    shape: Any = LAMBDA.operation_model(operation).input_shape
    for name in path:
        shape = shape.members[name] if shape.type_name == "structure" else shape.member
    return str(shape.metadata["pattern"])


def test_a_role_that_is_not_an_arn_is_said_as_lambda_says_it() -> None:
    # aarondfrancis/sidecar#147 (2024): Lambda's answer, word for word
    assert refusal("CreateFunction", {"FunctionName": "f", "Role": "lambdarole", "Code": {}}) == (
        "ValidationException",
        "1 validation error detected: Value 'lambdarole' at 'role' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: "
        r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
    )


def test_a_member_path_lowers_only_the_first_letter() -> None:
    # highsource/bitcoin-a-day#1: 'kMSKeyArn', the model's pattern quoted
    value = '"arn:aws:kms:eu-central-1:507131729322:key/3c72a1f9"'
    body = {"FunctionName": "f", "Role": ROLE, "Code": {}, "KMSKeyArn": value}
    assert refusal("CreateFunction", body)[1] == (
        f"1 validation error detected: Value '{value}' at 'kMSKeyArn' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: "
        r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
    )


def test_a_sensitive_map_key_is_said_without_the_value() -> None:
    # trek10inc/serverless-secrets#39: a one-letter environment variable name
    body = {
        "FunctionName": "f",
        "Role": ROLE,
        "Code": {},
        "Environment": {"Variables": {"a": "/dev/a"}},
    }
    assert refusal("CreateFunction", body)[1] == (
        "1 validation error detected: Value at 'environment.variables' failed to satisfy "
        "constraint: Map keys must satisfy constraint: [Member must satisfy regular "
        "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
    )


def test_a_list_member_is_said_with_every_constraint_of_its_items() -> None:
    # appleboy/lambda-action#83 (2024): Layers [""] is Value '[]', all of an item's rules
    body = {"FunctionName": "f", "Role": ROLE, "Code": {}, "Layers": [""]}
    assert refusal("CreateFunction", body)[1] == (
        "1 validation error detected: Value '[]' at 'layers' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to "
        "2048, Member must have length greater than or equal to 1, Member must satisfy "
        f"regular expression pattern: {pattern('Layers', 'member')}, Member must not be null]"
    )


def test_an_unknown_enum_in_a_list_is_said_as_null() -> None:
    # aws-cloudformation/cfn-lint#4428 (2026): CompatibleArchitectures [arm32]
    body = {"Content": {}, "CompatibleArchitectures": ["arm32"]}
    assert refusal("PublishLayerVersion", body, LayerName="l")[1] == (
        "1 validation error detected: Value '[null]' at 'compatibleArchitectures' failed to "
        "satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value "
        "set: [x86_64, arm64], Member must not be null]"
    )


def test_an_enum_is_said_as_a_java_list() -> None:
    # aws/aws-cli#3229: "Value 'g1.x' at 'runtime' ... enum value set: [java8, nodejs, ...]"
    body = {"FunctionName": "f", "Role": ROLE, "Code": {}, "Runtime": "g1.x"}
    runtimes = LAMBDA.operation_model("CreateFunction").input_shape.members["Runtime"].enum
    assert refusal("CreateFunction", body)[1] == (
        "1 validation error detected: Value 'g1.x' at 'runtime' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(runtimes)}]"
    )


def test_every_error_is_said_in_one_answer_in_member_order() -> None:
    body = {"FunctionName": "", "Code": {}, "Timeout": 0, "MemorySize": 64}
    assert refusal("CreateFunction", body)[1] == (
        "5 validation errors detected: "
        "Value '' at 'functionName' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1; "
        "Value '' at 'functionName' failed to satisfy constraint: Member must satisfy regular "
        f"expression pattern: {pattern('FunctionName')}; "
        "Value null at 'role' failed to satisfy constraint: Member must not be null; "
        "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater "
        "than or equal to 1; "
        "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value "
        "greater than or equal to 128"
    )


def test_ephemeral_storage_has_lambdas_limit_not_the_models() -> None:
    """botocore's model allows 32768; Lambda's API reference (EphemeralStorage): 512 to
    10240 MB, and Lambda's answer names 10240."""
    assert LAMBDA.shape_for("EphemeralStorageSize").metadata["max"] == 32768
    too_big = {"FunctionName": "f", "Role": ROLE, "Code": {}, "EphemeralStorage": {"Size": 10241}}
    assert refusal("CreateFunction", too_big)[1] == (
        "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to "
        "satisfy constraint: Member must have value less than or equal to 10240"
    )
    largest = {**too_big, "EphemeralStorage": {"Size": 10240}}
    document = protocol.parse_input(
        LAMBDA.operation_model("CreateFunction"), {}, {}, {}, json.dumps(largest).encode()
    )
    assert document["EphemeralStorage"] == {"Size": 10240}


def test_a_value_of_the_wrong_type_is_the_body_lambda_cannot_read() -> None:
    body = {"FunctionName": "f", "Role": ROLE, "Code": {}, "Timeout": "soon", "MemorySize": 1}
    assert refusal("CreateFunction", body) == (
        "InvalidRequestContentException",
        "1 validation error detected: Value 'soon' at 'timeout' failed to satisfy constraint: "
        "Member must be an integer",
    )


def lambda_says(method: str, path: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """``(code, message)`` the request validation answers a Lambda request with."""
    request = validation.Request(
        environ={"CONTENT_TYPE": "application/json"},
        scope="lambda",
        method=method,
        path=path,
        query={},
        body=lambda: json.dumps(body).encode(),
    )
    refused = validation.lambda_input(request, LAMBDA)
    if refused is None:
        return None
    document = json.loads(refused.body)
    return document["__type"], document["message"]


ZIP = base64.b64encode(package_bytes()).decode()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        # aws/boto3#2705: an image without PackageType Image is a .zip function, and a
        # .zip function needs Runtime and Handler first
        (
            {"FunctionName": "f", "Role": ROLE, "Code": {"ImageUri": IMAGE}},
            "Runtime and Handler are mandatory parameters for functions created with "
            "deployment packages.",
        ),
        (
            {
                "FunctionName": "f",
                "Role": ROLE,
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Code": {"ZipFile": base64.b64encode(b"any zip file").decode()},
            },
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        ),
        (
            {
                "FunctionName": "f",
                "Role": ROLE,
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Code": {"ImageUri": IMAGE},
            },
            "Please don't provide ImageUri when the intended function PackageType is Zip.",
        ),
    ],
)
def test_code_lambda_refuses_is_said_in_lambdas_words(body: dict[str, Any], said: str) -> None:
    assert lambda_says("POST", "/2015-03-31/functions", body) == (
        "InvalidParameterValueException",
        said,
    )


def test_an_image_function_and_a_zip_function_are_accepted() -> None:
    image = {"FunctionName": "f", "Role": ROLE, "PackageType": "Image", "Code": {"ImageUri": IMAGE}}
    assert lambda_says("POST", "/2015-03-31/functions", image) is None
    zipped = {
        "FunctionName": "f",
        "Role": ROLE,
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Code": {"ZipFile": ZIP},
    }
    assert lambda_says("POST", "/2015-03-31/functions", zipped) is None


def test_a_layer_without_content_is_said_in_motos_words() -> None:
    """AWS's words are not on record; moto's (its test asserts them) stand."""
    assert lambda_says("POST", "/2018-10-31/layers/l/versions", {"Content": {}}) == (
        "InvalidParameterValueException",
        "Missing Content",
    )
