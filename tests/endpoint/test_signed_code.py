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
