"""The ``sam-ext`` console script in its own process against moto's server (a real HTTP
endpoint, named by AWS_ENDPOINT_URL): where the region comes from (AWS_REGION,
``--region``, ``--profile``), a change set confirmed at a terminal, and an endpoint that
lacks an operation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from .conftest import REGION, package_bytes

SAM_EXT = Path(sys.executable).parent / "sam-ext"
STACK = "app"
TOPIC_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Topic:
    Type: AWS::SNS::Topic
"""


def run(
    *args: object, env: dict[str, str] | None = None, expect: int = 0, **options: Any
) -> subprocess.CompletedProcess[str]:
    """``sam-ext --backend aws ARGS`` in a new process (the test's environment, which the
    fixtures point at moto's server with fake credentials)."""
    done = subprocess.run(
        [str(SAM_EXT), "--backend", "aws", *map(str, args)],
        capture_output=True, text=True, timeout=120, env=env or dict(os.environ), **options,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
    return done


def stacks(endpoint: str, region: str) -> list[str]:
    client = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint)
    return [s["StackName"] for s in client.describe_stacks()["Stacks"]]


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TOPIC_TEMPLATE)
    return path


def test_aws_region_alone_chooses_the_region(
    moto_server: str, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    run("deploy", "--template-file", template, "--stack-name", STACK)
    assert stacks(moto_server, "eu-west-3") == [STACK]
    assert stacks(moto_server, REGION) == []


def test_deploy_profile_and_region_choose_where_and_as_whom(
    moto_server: str, template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile ci]\nregion = ap-southeast-2\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[ci]\naws_access_key_id = ci\naws_secret_access_key = ci\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    deploy = ("deploy", "--template-file", template)
    run(*deploy, "--stack-name", "from-profile", "--profile", "ci")
    assert stacks(moto_server, "ap-southeast-2") == ["from-profile"]
    # --region wins over the profile's region, and over the global --region.
    run("--region", "us-west-1", *deploy, "--stack-name", "from-option", "--profile", "ci",
        "--region", "eu-central-1")  # fmt: skip
    assert stacks(moto_server, "eu-central-1") == ["from-option"]
    # Without the profile there are no credentials at all: the profile was what was used.
    refused = run(*deploy, "--stack-name", "nobody", "--region", "eu-central-1", expect=1)
    assert "no usable AWS credentials were found" in refused.stderr
    refused = run(*deploy, "--stack-name", "x", "--profile", "nobody", expect=2)
    assert "AWS_PROFILE (or --profile): " in refused.stderr and "nobody" in refused.stderr


@pytest.mark.parametrize(
    ("answer", "status"), [("n", "REVIEW_IN_PROGRESS"), ("y", "CREATE_COMPLETE")]
)
def test_confirm_changeset_shows_the_change_set_and_asks_at_a_terminal(
    moto_server: str, template: Path, answer: str, status: str
) -> None:
    controller, terminal = os.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())  # typed ahead: the terminal keeps it
        done = run(
            "deploy", "--template-file", template, "--stack-name", STACK, "--confirm-changeset",
            stdin=terminal,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(controller)
    err = done.stderr
    assert err.index("CloudFormation stack changeset") < err.index("Deploy this changeset? [y/N]")
    assert "+ Add" in err and "AWS::SNS::Topic" in err
    client = boto3.client("cloudformation", region_name=REGION, endpoint_url=moto_server)
    assert client.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == status
    if answer == "n":
        assert f"not executed: stack {STACK} is unchanged" in err


def test_an_endpoint_without_the_operation_is_named_as_such(moto_server: str, tmp_path: Path):
    """moto serves Signer profiles but not signing jobs: its 404 (no AWS error code) is
    said as the endpoint lacking StartSigningJob, not as a missing profile."""
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)
    s3.create_bucket(Bucket="codesign-artifacts")
    s3.put_bucket_versioning(
        Bucket="codesign-artifacts", VersioningConfiguration={"Status": "Enabled"}
    )
    boto3.client("signer", region_name=REGION, endpoint_url=moto_server).put_signing_profile(
        profileName="publisher", platformId="AWSLambda-SHA384-ECDSA"
    )
    source = tmp_path / "app.zip"
    source.write_bytes(package_bytes())
    done = run(
        "sign", "--profile-name", "publisher", "--source", source,
        "--destination", "s3://codesign-artifacts/signed/", expect=1,
    )  # fmt: skip
    assert done.stderr.startswith(
        "error: UnsupportedOperation: signer:StartSigningJob on signing profile 'publisher'"
    )
    assert (
        f"the endpoint {moto_server} (AWS_ENDPOINT_URL) does not implement StartSigningJob"
        in done.stderr
    )
    assert "does not exist" not in done.stderr


def test_an_endpoint_failing_with_a_bare_500_is_said_in_one_line_without_its_page(
    moto_server: str, tmp_path: Path
):
    """moto's server answers GetLayerVersionByArn (which it lacks) with HTTP 500 and an HTML
    page: the error names the call and the endpoint, and prints no HTML (found trying
    ``layer adopt`` as a new user)."""
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)
    s3.create_bucket(Bucket="codesign-artifacts")
    env = {**os.environ, "AWS_MAX_ATTEMPTS": "1"}  # no retries of the 500: the test is fast
    layer = "arn:aws:lambda:us-east-1:464622532012:layer:Datadog-Python312:98"

    done = run(
        "layer", "adopt", "--layer-version-arn", layer, "--profile-name", "publisher",
        "--s3-bucket", "codesign-artifacts", env=env, expect=1,
    )  # fmt: skip

    assert done.stderr.startswith(
        f"error: ServiceException: lambda:GetLayerVersion on layer version {layer}: the "
        f"endpoint {moto_server} (AWS_ENDPOINT_URL) failed with HTTP 500 and no AWS error code"
    ), done.stderr
    assert "<" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
