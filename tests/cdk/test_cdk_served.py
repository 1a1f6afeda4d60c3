"""examples/cdk on a real ``sam-ext serve`` (``--backend aws``, CloudFormation on moto): the
administrator makes the profile on the served Signer, the app is synthesized for real with
its version ARN, ``sam-ext deploy`` signs the assets into S3 and deploys the stack through a
CloudFormation change set, and the served Lambda's own check passes under Enforce. The
stack's ``BootstrapVersion`` SSM parameter and ``CheckBootstrapVersion`` rule are checked
as CloudFormation checks them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_app import NOW, PROFILE, CdkApp, Result, synth_example
from endpoint.serving import Server, module_server
from fake_aws import fake_aws_environment

from provider.backends.aws import AwsBackend

REGION = "us-east-1"
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
Run = Callable[..., Result]


server = module_server("served-home")


@pytest.fixture
def aws(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], Any]:
    """Fake credentials, the server as every client's endpoint; ``aws(service)``: a client."""
    fake_aws_environment(monkeypatch, tmp_path, REGION, endpoint_url=server.url)

    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=server.url)

    return client


def test_a_signed_cdk_app_deploys_on_the_served_cloudformation_under_enforce(
    aws: Callable[[str], Any], server: Server, sam_ext: Run, tmp_path: Path
) -> None:
    # The administrator's part: the profile, made once on the served Signer.
    arn = AwsBackend(REGION, endpoint_url=server.url).put_signing_profile(PROFILE, now=NOW)[
        "profileVersionArn"
    ]
    # The application team's: synthesize with its ARN, as cdk synth would.
    app = CdkApp(tmp_path / "app", arn, metadata=True)
    app.root.mkdir()
    synth_example(app.out, metadata=True, context={"signingProfileVersionArn": arn})
    s3 = aws("s3")
    s3.create_bucket(Bucket="shop-artifacts")
    s3.put_bucket_versioning(Bucket="shop-artifacts", VersioningConfiguration={"Status": "Enabled"})
    profiles = f"Shop/Checkout={PROFILE} Shop/Refunds={PROFILE} Shop/Shared={PROFILE}"
    deploy = (
        "--backend",
        "aws",
        "deploy",
        "--template-file",
        app.template,
        "--stack-name",
        "shop",
        "--s3-bucket",
        "shop-artifacts",
        "--s3-prefix",
        "shop",
        "--signing-profiles",
        profiles,
        "--capabilities",
        "CAPABILITY_IAM",
        "--no-confirm-changeset",
    )
    # Packaged into S3 first: sam-ext check predicts the served Lambda allows all three.
    sam_ext(
        "--backend",
        "aws",
        "package",
        "--template-file",
        app.template,
        "--s3-bucket",
        "shop-artifacts",
        "--s3-prefix",
        "shop",
        "--signing-profiles",
        profiles,
        "--output-template-file",
        tmp_path / "packaged.json",
        "--use-json",
    )
    checked = sam_ext(
        "--backend", "aws", "check", tmp_path / "packaged.json", "--output", "json", status=0
    )
    standings = [f["standing"] for f in json.loads(checked.out)["findings"]]
    assert standings == ["ALLOW"] * 3, checked.out
    # Not bootstrapped: CloudFormation cannot resolve BootstrapVersion.
    missing = sam_ext(*deploy, status=2)
    assert (
        f"Unable to fetch parameters [{BOOTSTRAP_PARAMETER}] from parameter store"
        in missing.err.strip().splitlines()[-1]
    )
    ssm = aws("ssm")
    # Bootstrapped by a CDK too old for this template: the rule refuses it.
    ssm.put_parameter(Name=BOOTSTRAP_PARAMETER, Value="5", Type="String")
    old = sam_ext(*deploy, status=2)
    assert "CDK bootstrap stack version 6 required" in old.err.strip().splitlines()[-1]
    # Bootstrapped (cdk bootstrap writes its version there): deployed.
    ssm.put_parameter(Name=BOOTSTRAP_PARAMETER, Value="28", Type="String", Overwrite=True)
    done = sam_ext(*deploy)
    assert done.err.strip().splitlines()[-1] == "stack shop deployed (CREATE_COMPLETE)"
    assert done.err.count("signed (cached)") == 3  # signed once, by the package above

    resources = aws("cloudformation").describe_stack_resources(StackName="shop")["StackResources"]
    functions = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function"
    }
    assert len(functions) == 2
    lambda_ = aws("lambda")
    for name in functions.values():
        configuration = lambda_.get_function(FunctionName=name)["Configuration"]
        assert configuration["SigningProfileVersionArn"] == arn, configuration
        assert configuration["SigningJobArn"].startswith("arn:aws:signer:")
        for layer in configuration.get("Layers", []):
            assert layer["SigningProfileVersionArn"] == arn, layer
        policy = lambda_.get_code_signing_config(
            CodeSigningConfigArn=lambda_.get_function_code_signing_config(FunctionName=name)[
                "CodeSigningConfigArn"
            ]
        )["CodeSigningConfig"]
        assert policy["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
        assert policy["AllowedPublishers"]["SigningProfileVersionArns"] == [arn]
    layered = [
        lambda_.get_function(FunctionName=name)["Configuration"].get("Layers", [])
        for name in functions.values()
    ]
    assert sorted(len(layers) for layers in layered) == [0, 1]
