"""Signed code reports its signer as Lambda does: ``SigningProfileVersionArn`` and
``SigningJobArn`` in a function's configuration (GetFunction, GetFunctionConfiguration,
ListFunctions, each of its ``Layers``) and in a layer version's ``Content``; nothing for
unsigned code. Each answer is checked against botocore's Lambda service model."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import botocore.session
import pytest

from .conftest import ACCOUNT, Clients, package_bytes, sign, unique, versioned_bucket

PLATFORM = "AWSLambda-SHA384-ECDSA"
SIGNER_MEMBERS = {"SigningProfileVersionArn", "SigningJobArn"}
_MODEL = botocore.session.get_session().get_service_model("lambda")


def _members(shape: str) -> set[str]:
    return set(_MODEL.shape_for(shape).members)


def _in_model(document: dict[str, Any], shape: str) -> dict[str, Any]:
    """``document``, after checking that every member it has is one of ``shape``'s."""
    extra = set(document) - _members(shape) - {"ResponseMetadata"}
    assert not extra, f"not in botocore's {shape}: {extra}"
    return document


class Signed:
    """A profile and a package it signed (in a versioned bucket)."""

    def __init__(self, aws: Clients) -> None:
        self.signer, self.s3 = aws("signer"), aws("s3")
        self.profile = unique("pub_")
        self.version_arn = self.signer.put_signing_profile(
            profileName=self.profile, platformId=PLATFORM
        )["profileVersionArn"]
        self.bucket = versioned_bucket(self.s3)
        job = sign(aws, self.profile, self.bucket, "app.zip")
        self.job_arn = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-jobs/{job['jobId']}"
        self.key = job["signedObject"]["s3"]["key"]
        self.code = self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()

    @property
    def fields(self) -> dict[str, str]:
        return {"SigningProfileVersionArn": self.version_arn, "SigningJobArn": self.job_arn}


@pytest.fixture
def signed(aws: Clients) -> Signed:
    return Signed(aws)


def _signer_of(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k in SIGNER_MEMBERS}


def _raw_bodies(client: Any) -> list[dict[str, Any]]:
    """The JSON bodies the client receives, as sent (botocore drops a null member)."""
    bodies: list[dict[str, Any]] = []

    def keep(http_response: Any, **_: Any) -> None:
        if http_response.content:
            bodies.append(json.loads(http_response.content))

    client.meta.events.register("after-call.lambda", keep)
    return bodies


def test_a_function_of_signed_code_reports_its_signer_everywhere(
    aws: Clients, role: str, signed: Signed
) -> None:
    """With or without a code signing config: Lambda reads the signature at deploy."""
    lambda_ = aws("lambda")
    csc = lambda_.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [signed.version_arn]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    for config in ({"CodeSigningConfigArn": csc}, {}):
        name = unique("fn-")
        created = lambda_.create_function(
            FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=role,
            Code={"S3Bucket": signed.bucket, "S3Key": signed.key}, **config,
        )  # fmt: skip
        assert _signer_of(_in_model(created, "FunctionConfiguration")) == signed.fields
        got = lambda_.get_function(FunctionName=name)["Configuration"]
        assert _signer_of(_in_model(got, "FunctionConfiguration")) == signed.fields
        configuration = lambda_.get_function_configuration(FunctionName=name)
        assert _signer_of(_in_model(configuration, "FunctionConfiguration")) == signed.fields
        listed = [f for f in lambda_.list_functions()["Functions"] if f["FunctionName"] == name]
        assert [_signer_of(_in_model(f, "FunctionConfiguration")) for f in listed] == [
            signed.fields
        ]


def test_unsigned_code_reports_no_signer_and_new_code_replaces_it(
    aws: Clients, role: str, signed: Signed
) -> None:
    lambda_ = aws("lambda")
    bodies = _raw_bodies(lambda_)
    name = unique("fn-")
    lambda_.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=role,
        Code={"ZipFile": package_bytes()},
    )  # fmt: skip
    lambda_.get_function_configuration(FunctionName=name)
    # not even as null: the members are absent, as on AWS
    assert bodies and all(not SIGNER_MEMBERS & set(body) for body in bodies)

    updated = lambda_.update_function_code(FunctionName=name, ZipFile=signed.code, Publish=True)
    assert _signer_of(updated) == signed.fields
    published = updated["Version"]
    lambda_.update_function_code(FunctionName=name, ZipFile=package_bytes())
    assert not _signer_of(lambda_.get_function_configuration(FunctionName=name))
    # the version published with the signed code keeps its signer
    assert (
        _signer_of(lambda_.get_function_configuration(FunctionName=name, Qualifier=published))
        == signed.fields
    )


def test_a_tampered_package_reports_no_signer(aws: Clients, role: str, signed: Signed) -> None:
    lambda_ = aws("lambda")
    assert signed.code.count(b"return 1") == 1
    tampered = signed.code.replace(b"return 1", b"return 2")
    created = lambda_.create_function(
        FunctionName=unique("fn-"), Runtime="python3.12", Handler="app.handler", Role=role,
        Code={"ZipFile": tampered},
    )  # fmt: skip
    assert not _signer_of(created)


def test_a_layer_version_reports_its_signer_and_so_do_the_functions_using_it(
    aws: Clients, role: str, signed: Signed
) -> None:
    lambda_ = aws("lambda")
    signed_layer = lambda_.publish_layer_version(
        LayerName=unique("deps-"), Content={"S3Bucket": signed.bucket, "S3Key": signed.key}
    )
    unsigned_layer = lambda_.publish_layer_version(
        LayerName=unique("deps-"), Content={"ZipFile": package_bytes()}
    )
    assert _signer_of(_in_model(signed_layer["Content"], "LayerVersionContentOutput")) == (
        signed.fields
    )
    assert not _signer_of(unsigned_layer["Content"])
    for read in (
        lambda_.get_layer_version_by_arn(Arn=signed_layer["LayerVersionArn"]),
        lambda_.get_layer_version(
            LayerName=signed_layer["LayerArn"], VersionNumber=signed_layer["Version"]
        ),
    ):
        assert _signer_of(_in_model(read["Content"], "LayerVersionContentOutput")) == (
            signed.fields
        )

    name = unique("fn-")
    lambda_.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=role,
        Code={"ZipFile": package_bytes()},
        Layers=[signed_layer["LayerVersionArn"], unsigned_layer["LayerVersionArn"]],
    )  # fmt: skip
    for configuration in (
        lambda_.get_function(FunctionName=name)["Configuration"],
        lambda_.get_function_configuration(FunctionName=name),
        next(f for f in lambda_.list_functions()["Functions"] if f["FunctionName"] == name),
    ):
        first, second = (_in_model(layer, "Layer") for layer in configuration["Layers"])
        assert _signer_of(first) == signed.fields
        assert not _signer_of(second)
    assert not _signer_of(lambda_.get_function_configuration(FunctionName=name))


def test_publish_layer_version_gives_a_location_that_downloads_the_zip(aws: Clients) -> None:
    """moto answers ``s3://``; Lambda a presigned URL of the content."""
    lambda_ = aws("lambda")
    data = package_bytes({"python/vendor.py": b"V = 2\n"})
    published = lambda_.publish_layer_version(LayerName=unique("v-"), Content={"ZipFile": data})
    location = published["Content"]["Location"]
    assert location.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(location, timeout=10) as response:
        assert response.read() == data


def _validated(client: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """``response`` (as boto3 parsed it), validated against the operation's output shape in
    botocore's model (types, required and unknown members), as Stubber validates one."""
    from botocore.validate import validate_parameters

    shape = client.meta.service_model.operation_model(operation).output_shape
    validate_parameters({k: v for k, v in response.items() if k != "ResponseMetadata"}, shape)
    return response


def _operations_with_signer() -> set[str]:
    """Every Lambda operation whose answer has a ``SigningJobArn`` somewhere in botocore's
    model (the function's configuration, its ``Layers``, a layer version's ``Content``)."""

    def has(shape: Any, seen: frozenset[str]) -> bool:
        if shape.name in seen:
            return False
        seen |= {shape.name}
        if shape.type_name == "structure":
            return "SigningJobArn" in shape.members or any(
                has(member, seen) for member in shape.members.values()
            )
        return shape.type_name == "list" and has(shape.member, seen)

    return {
        name
        for name in _MODEL.operation_names
        if _MODEL.operation_model(name).output_shape is not None
        and has(_MODEL.operation_model(name).output_shape, frozenset())
    }


def test_every_answer_botocore_models_with_a_signer_reports_it_and_validates(
    aws: Clients, role: str, signed: Signed
) -> None:
    """Each operation botocore's Lambda model gives the signer members (and only those:
    ListLayerVersions' items have no ``Content``), answered by serve through boto3: signed
    code and layers name their signer, unsigned ones do not, and every answer validates
    against the operation's output shape."""
    lambda_ = aws("lambda")
    seen: dict[str, list[dict[str, Any]]] = {}

    def call(operation: str, method: Any, **params: Any) -> dict[str, Any]:
        answer = _validated(lambda_, operation, method(**params))
        seen.setdefault(operation, []).append(answer)
        return answer

    layer_name = unique("deps-")
    signed_layer = call(
        "PublishLayerVersion", lambda_.publish_layer_version, LayerName=layer_name,
        Content={"S3Bucket": signed.bucket, "S3Key": signed.key},
    )  # fmt: skip
    unsigned_layer = call(
        "PublishLayerVersion", lambda_.publish_layer_version, LayerName=unique("deps-"),
        Content={"ZipFile": package_bytes()},
    )  # fmt: skip
    layers = [signed_layer["LayerVersionArn"], unsigned_layer["LayerVersionArn"]]
    name = unique("fn-")
    created = call(
        "CreateFunction", lambda_.create_function, FunctionName=name, Runtime="python3.12",
        Handler="app.handler", Role=role, Code={"ZipFile": package_bytes()}, Layers=layers[1:],
    )  # fmt: skip
    assert not _signer_of(created) and not _signer_of(created["Layers"][0])
    code = call(
        "UpdateFunctionCode", lambda_.update_function_code, FunctionName=name,
        S3Bucket=signed.bucket, S3Key=signed.key,
    )  # fmt: skip
    configured = call(
        "UpdateFunctionConfiguration", lambda_.update_function_configuration,
        FunctionName=name, Layers=layers,
    )  # fmt: skip
    published = call("PublishVersion", lambda_.publish_version, FunctionName=name)
    configurations = [
        code,
        configured,
        published,
        call("GetFunction", lambda_.get_function, FunctionName=name)["Configuration"],
        call("GetFunctionConfiguration", lambda_.get_function_configuration, FunctionName=name),
        next(
            f
            for f in call("ListFunctions", lambda_.list_functions)["Functions"]
            if f["FunctionName"] == name
        ),
        *call("ListVersionsByFunction", lambda_.list_versions_by_function, FunctionName=name)[
            "Versions"
        ],
    ]
    assert len(configurations) == 8  # $LATEST and version 1
    for configuration in configurations:
        assert _signer_of(configuration) == signed.fields
    for configuration in configurations[1:]:
        first, second = configuration["Layers"]
        assert (_signer_of(first), _signer_of(second)) == (signed.fields, {})
    for read in (
        call("GetLayerVersion", lambda_.get_layer_version, LayerName=layer_name, VersionNumber=1),
        call("GetLayerVersionByArn", lambda_.get_layer_version_by_arn, Arn=layers[0]),
    ):
        assert _signer_of(read["Content"]) == signed.fields
    assert _signer_of(signed_layer["Content"]) == signed.fields
    assert not _signer_of(unsigned_layer["Content"])
    assert not _signer_of(
        call("GetLayerVersionByArn", lambda_.get_layer_version_by_arn, Arn=layers[1])["Content"]
    )
    listed = call("ListLayerVersions", lambda_.list_layer_versions, LayerName=layer_name)
    assert [v["LayerVersionArn"] for v in listed["LayerVersions"]] == layers[:1]
    # every operation that botocore's model gives the signer members was answered here
    assert _operations_with_signer() <= set(seen)
    assert "ListLayerVersions" not in _operations_with_signer()


def test_functions_and_layers_a_stack_deploys_report_their_signer(
    aws: Clients, role: str, signed: Signed
) -> None:
    """CloudFormation's deploys (moto creates the function and layer itself) record the
    signer as Lambda's own API does."""
    stack = unique("signed-")
    code = {"S3Bucket": signed.bucket, "S3Key": signed.key}
    resources = {
        "Deps": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": code}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": stack,
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Role": role,
                "Code": code,
                "Layers": [{"Ref": "Deps"}],
            },
        },
    }
    cloudformation = aws("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps({"Resources": resources}))
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    lambda_ = aws("lambda")
    configuration = _validated(
        lambda_, "GetFunctionConfiguration", lambda_.get_function_configuration(FunctionName=stack)
    )
    assert _signer_of(configuration) == signed.fields
    [layer] = configuration["Layers"]
    assert _signer_of(layer) == signed.fields
    content = lambda_.get_layer_version_by_arn(Arn=layer["Arn"])["Content"]
    assert _signer_of(content) == signed.fields
