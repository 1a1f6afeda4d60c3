"""Lambda's code signing configs and its deployment checks, over HTTP: the configs are
the local backend's, the functions moto's, the checks the project's one ``decide``."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    ACCOUNT,
    Clients,
    Server,
    error_code,
    package_bytes,
    sign,
    unique,
    versioned_bucket,
)

PLATFORM = "AWSLambda-SHA384-ECDSA"


def tampered(signed: bytes) -> bytes:
    """The signed package with one byte of its code changed (same length)."""
    assert signed.count(b"return 1") == 1
    return signed.replace(b"return 1", b"return 2")


class World:
    """A profile, a bucket with one package signed by it, and an IAM role."""

    def __init__(self, aws: Clients, role: str) -> None:
        self.aws = aws
        self.role = role
        self.s3, self.signer, self.lambda_ = aws("s3"), aws("signer"), aws("lambda")
        self.profile = unique("pub_")
        self.version_arn = self.signer.put_signing_profile(
            profileName=self.profile, platformId=PLATFORM
        )["profileVersionArn"]
        self.bucket = versioned_bucket(self.s3)
        self.job = sign(aws, self.profile, self.bucket, "app.zip")
        self.signed_key = self.job["signedObject"]["s3"]["key"]
        self.signed = self.s3.get_object(Bucket=self.bucket, Key=self.signed_key)["Body"].read()

    def csc(self, policy: str = "Enforce", allowed: list[str] | None = None) -> str:
        return str(
            self.lambda_.create_code_signing_config(
                AllowedPublishers={"SigningProfileVersionArns": allowed or [self.version_arn]},
                CodeSigningPolicies={"UntrustedArtifactOnDeployment": policy},
            )["CodeSigningConfig"]["CodeSigningConfigArn"]
        )

    def create(
        self, csc: str | None, code: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        name = unique("fn-")
        arguments: dict[str, Any] = dict(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="app.handler",
            Code=code or {"S3Bucket": self.bucket, "S3Key": self.signed_key},
            **extra,
        )
        if csc:
            arguments["CodeSigningConfigArn"] = csc
        return dict(self.lambda_.create_function(**arguments))


@pytest.fixture
def world(aws: Clients, role: str) -> World:
    return World(aws, role)


def test_code_signing_configs_crud_and_their_errors(world: World) -> None:
    lambda_ = world.lambda_
    created = lambda_.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [world.version_arn]}, Description="d"
    )
    config = created["CodeSigningConfig"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert (
        config["CodeSigningConfigId"].startswith("csc-")
        and len(config["CodeSigningConfigId"]) == 21
    )
    arn = config["CodeSigningConfigArn"]
    assert lambda_.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == config
    updated = lambda_.update_code_signing_config(
        CodeSigningConfigArn=arn, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"}
    )["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert updated["Description"] == "d"
    assert arn in [
        c["CodeSigningConfigArn"] for c in lambda_.list_code_signing_configs()["CodeSigningConfigs"]
    ]
    lambda_.delete_code_signing_config(CodeSigningConfigArn=arn)
    with pytest.raises(lambda_.exceptions.CodeSigningConfigNotFoundException):
        lambda_.get_code_signing_config(CodeSigningConfigArn=arn)
    code, message, _ = error_code(
        lambda: lambda_.create_code_signing_config(
            AllowedPublishers={"SigningProfileVersionArns": [world.version_arn] * 21}
        )
    )
    assert code == "ValidationException" and message.startswith(
        "1 validation error detected: Value '[" + ", ".join([world.version_arn] * 21) + "]' at "
        "'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: Member "
        "must have length less than or equal to 20"
    )


def test_signed_code_deploys_and_the_function_is_attached(world: World) -> None:
    csc = world.csc("Enforce")
    function = world.create(csc)
    name = function["FunctionName"]
    assert (
        world.lambda_.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"]
        == csc
    )
    assert world.lambda_.list_functions_by_code_signing_config(CodeSigningConfigArn=csc)[
        "FunctionArns"
    ] == [function["FunctionArn"]]
    with pytest.raises(world.lambda_.exceptions.ResourceConflictException):
        world.lambda_.delete_code_signing_config(CodeSigningConfigArn=csc)
    world.lambda_.delete_function_code_signing_config(FunctionName=name)
    assert (
        world.lambda_.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"]
        == ""
    )
    world.lambda_.delete_code_signing_config(CodeSigningConfigArn=csc)


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_tampered_code_is_rejected_under_every_policy_and_nothing_is_created(
    world: World, policy: str
) -> None:
    csc = world.csc(policy)
    name = unique("fn-")
    with pytest.raises(world.lambda_.exceptions.InvalidCodeSignatureException) as caught:
        world.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=world.role,
            Handler="app.handler",
            Code={"ZipFile": tampered(world.signed)},
            CodeSigningConfigArn=csc,
        )
    assert "digest" in str(caught.value)
    with pytest.raises(world.lambda_.exceptions.ResourceNotFoundException):
        world.lambda_.get_function(FunctionName=name)


def test_untrusted_code_is_rejected_under_enforce(world: World) -> None:
    other = unique("other_")
    other_arn = world.signer.put_signing_profile(profileName=other, platformId=PLATFORM)[
        "profileVersionArn"
    ]
    csc = world.csc("Enforce", allowed=[other_arn])
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException) as caught:
        world.create(csc)
    assert "mismatch" in str(caught.value)
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException):
        world.create(world.csc("Enforce"), code={"ZipFile": package_bytes()})


def test_untrusted_code_deploys_under_warn_with_the_metric_recorded(world: World) -> None:
    function = world.create(world.csc("Warn"), code={"ZipFile": package_bytes()})
    assert world.lambda_.get_function(FunctionName=function["FunctionName"])
    statistics = world.aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="SignatureValidationErrors",
        Dimensions=[{"Name": "FunctionName", "Value": function["FunctionName"]}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert [point["Sum"] for point in statistics["Datapoints"]] == [1.0]


#: What CDK writes for an imported signing profile's version: Lambda accepts it (botocore's
#: lambda shape ``Arn``) though it is no profile version ARN, so it matches no signature.
CDK_PUBLISHER = "arn:aws:signer:us-east-1:123456789012://signing-profiles/N/V"


def test_a_publisher_lambda_accepts_but_no_signature_matches(world: World) -> None:
    enforce = world.csc("Enforce", allowed=[CDK_PUBLISHER])
    got = world.lambda_.get_code_signing_config(CodeSigningConfigArn=enforce)
    assert got["CodeSigningConfig"]["AllowedPublishers"]["SigningProfileVersionArns"] == [
        CDK_PUBLISHER
    ]
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException) as caught:
        world.create(enforce)
    assert "mismatch" in str(caught.value)
    function = world.create(world.csc("Warn", allowed=[CDK_PUBLISHER]))
    statistics = world.aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="SignatureValidationErrors",
        Dimensions=[{"Name": "FunctionName", "Value": function["FunctionName"]}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert [point["Sum"] for point in statistics["Datapoints"]] == [1.0]  # deployed, warned
    # what Lambda refuses is still refused
    code, message, status = error_code(
        lambda: world.csc("Enforce", allowed=["arn:aws:signer:mars-1:123456789012:/x"])
    )
    assert (code, status) == ("ValidationException", 400) and "mars-1" in message


def test_a_revoked_signature_is_rejected_under_enforce(world: World) -> None:
    csc = world.csc("Enforce")
    world.create(csc)  # trusted before the revocation
    world.signer.revoke_signature(jobId=world.job["jobId"], reason="leaked")
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException) as caught:
        world.create(csc)
    assert "revocation" in str(caught.value)


def test_update_function_code_is_checked_and_a_rejection_changes_nothing(world: World) -> None:
    function = world.create(world.csc("Enforce"))
    name = function["FunctionName"]
    with pytest.raises(world.lambda_.exceptions.InvalidCodeSignatureException):
        world.lambda_.update_function_code(FunctionName=name, ZipFile=tampered(world.signed))
    assert (
        world.lambda_.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
        == function["CodeSha256"]
    )
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException):
        world.lambda_.update_function_code(FunctionName=name, ZipFile=package_bytes())
    updated = world.lambda_.update_function_code(FunctionName=name, ZipFile=world.signed)
    assert updated["CodeSha256"] == function["CodeSha256"]


def test_layers_are_checked_on_the_functions_using_them(world: World) -> None:
    function = world.create(world.csc("Enforce"))
    name = function["FunctionName"]
    unsigned = world.lambda_.publish_layer_version(
        LayerName=unique("deps-"), Content={"ZipFile": package_bytes()}
    )["LayerVersionArn"]
    signed = world.lambda_.publish_layer_version(
        LayerName=unique("deps-"), Content={"S3Bucket": world.bucket, "S3Key": world.signed_key}
    )["LayerVersionArn"]
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException) as caught:
        world.lambda_.update_function_configuration(FunctionName=name, Layers=[unsigned])
    assert "layer" in str(caught.value)
    assert not world.lambda_.get_function(FunctionName=name)["Configuration"].get("Layers")
    world.lambda_.update_function_configuration(FunctionName=name, Layers=[signed])
    layers = world.lambda_.get_function(FunctionName=name)["Configuration"]["Layers"]
    assert [layer["Arn"] for layer in layers] == [signed]
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException):
        world.create(world.csc("Enforce"), Layers=[unsigned])


def test_the_object_version_named_is_the_one_checked_and_deployed(world: World) -> None:
    """moto reads an S3 key's latest version; Lambda deploys the version asked for."""
    signed_version = world.s3.head_object(Bucket=world.bucket, Key=world.signed_key)["VersionId"]
    world.s3.put_object(Bucket=world.bucket, Key=world.signed_key, Body=tampered(world.signed))
    csc = world.csc("Enforce")
    with pytest.raises(world.lambda_.exceptions.InvalidCodeSignatureException):
        world.create(csc)  # the latest version is tampered
    function = world.create(
        csc,
        code={
            "S3Bucket": world.bucket,
            "S3Key": world.signed_key,
            "S3ObjectVersion": signed_version,
        },
    )
    deployed = world.lambda_.get_function(FunctionName=function["FunctionName"])
    expected = base64.b64encode(hashlib.sha256(world.signed).digest()).decode()
    assert deployed["Configuration"]["CodeSha256"] == expected


def test_a_missing_code_signing_config_is_named(world: World) -> None:
    missing = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
    with pytest.raises(world.lambda_.exceptions.CodeSigningConfigNotFoundException):
        world.create(missing)


def test_an_expired_signature_is_rejected_under_enforce_and_warned_under_warn(
    world: World, server: Server, tmp_path: Path
) -> None:
    """A signature made two days ago by a profile valid one day: signed with the local
    backend on the server's own keystore (the server's clock cannot be moved)."""
    from provider.backends.local import LocalBackend
    from provider.validity import ValidityPeriod

    keystore = LocalBackend(server.home / "accounts" / ACCOUNT / "us-east-1", "us-east-1", ACCOUNT)
    name = unique("short_")
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    arn = keystore.put_signing_profile(name, validity=ValidityPeriod(1, "DAYS"), now=two_days_ago)[
        "profileVersionArn"
    ]
    source = tmp_path / "app.zip"
    source.write_bytes(package_bytes())
    job = keystore.sign_package(source, str(tmp_path / "signed"), name, now=two_days_ago)
    signed = Path(job["signedObject"]["path"]).read_bytes()
    with pytest.raises(world.lambda_.exceptions.CodeVerificationFailedException) as caught:
        world.create(world.csc("Enforce", allowed=[arn]), code={"ZipFile": signed})
    assert "expiry" in str(caught.value)
    assert world.create(world.csc("Warn", allowed=[arn]), code={"ZipFile": signed})


def test_a_layer_published_from_an_object_version_is_that_version(world: World) -> None:
    """moto reads a layer's S3 key at its latest version; PublishLayerVersion publishes the
    version asked for, and that is what functions using the layer are judged on."""
    signed_version = world.s3.head_object(Bucket=world.bucket, Key=world.signed_key)["VersionId"]
    world.s3.put_object(Bucket=world.bucket, Key=world.signed_key, Body=tampered(world.signed))
    layer = world.lambda_.publish_layer_version(
        LayerName=unique("pinned-"),
        Content={
            "S3Bucket": world.bucket,
            "S3Key": world.signed_key,
            "S3ObjectVersion": signed_version,
        },
    )
    assert (
        layer["Content"]["CodeSha256"]
        == base64.b64encode(hashlib.sha256(world.signed).digest()).decode()
    )
    function = world.create(world.csc("Enforce"), code={"ZipFile": world.signed})
    world.lambda_.update_function_configuration(
        FunctionName=function["FunctionName"], Layers=[layer["LayerVersionArn"]]
    )


def test_code_members_that_do_not_go_together_are_refused_as_lambda_refuses_them(
    world: World,
) -> None:
    """ZipFile with S3 members, an image for a .zip function (and a .zip for an image
    function), or no source at all: Lambda's InvalidParameterValueException, and nothing
    changes."""
    csc = world.csc("Enforce")
    function = world.create(csc)
    name = function["FunctionName"]
    both = {"ZipFile": world.signed, "S3Bucket": world.bucket, "S3Key": world.signed_key}
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
    refusals = [
        (
            lambda: world.create(csc, code=both),
            "Please do not provide other FunctionCode parameters when providing a ZipFile.",
        ),
        (
            lambda: world.lambda_.update_function_code(FunctionName=name, **both),
            "Please do not provide other FunctionCode parameters when providing a ZipFile.",
        ),
        (
            lambda: world.lambda_.update_function_code(FunctionName=name, ImageUri=image),
            "Please don't provide ImageUri when updating a function with packageType Zip.",
        ),
        (
            lambda: world.create(None, code={"S3Bucket": world.bucket}),
            "Please provide a source for function code.",
        ),
    ]
    for call, message in refusals:
        assert error_code(call) == ("InvalidParameterValueException", message, 400)
    configuration = world.lambda_.get_function(FunctionName=name)["Configuration"]
    assert configuration["CodeSha256"] == function["CodeSha256"]
    assert [f["FunctionName"] for f in world.lambda_.list_functions()["Functions"]].count(name) == 1

    container = unique("image-")
    world.lambda_.create_function(
        FunctionName=container, Role=world.role, PackageType="Image", Code={"ImageUri": image}
    )
    code, message, status = error_code(
        lambda: world.lambda_.update_function_code(FunctionName=container, ZipFile=world.signed)
    )
    assert (code, message, status) == (
        "InvalidParameterValueException",
        "Please provide ImageUri when updating a function with packageType Image.",
        400,
    )


def test_update_function_code_deploys_the_object_version_named(world: World) -> None:
    """moto reads an S3 key's latest version; Lambda deploys the version asked for."""
    function = world.create(world.csc("Enforce"), code={"ZipFile": world.signed})
    signed_version = world.s3.head_object(Bucket=world.bucket, Key=world.signed_key)["VersionId"]
    world.s3.put_object(Bucket=world.bucket, Key=world.signed_key, Body=package_bytes())
    updated = world.lambda_.update_function_code(
        FunctionName=function["FunctionName"],
        S3Bucket=world.bucket,
        S3Key=world.signed_key,
        S3ObjectVersion=signed_version,
        Publish=True,
    )
    expected = base64.b64encode(hashlib.sha256(world.signed).digest()).decode()
    for qualifier in ("$LATEST", updated["Version"]):
        deployed = world.lambda_.get_function(
            FunctionName=function["FunctionName"], Qualifier=qualifier
        )
        assert deployed["Configuration"]["CodeSha256"] == expected, qualifier
