"""SAM CLI (aws-sam-cli from PyPI, its own virtualenv), unchanged, against ``sam-ext serve``:
``sam package --signing-profiles`` signs through the served Signer, ``sam deploy`` creates
the stack through moto's CloudFormation with the SAM transform and the code signing
checks, and a tampered object fails its stack with Lambda's message."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from .clients import client_bin, client_env
from .conftest import REPO, Clients, Server, unique, versioned_bucket

APP = REPO / "examples" / "sam" / "app"


class Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags kept as plain values."""


Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def edit_member(package: bytes, name: str) -> bytes:
    """``package`` rebuilt with one line appended to member ``name`` (the rest, the
    signature included, copied as is)."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(
                info, data + b"\nprint('injected')\n" if info.filename == name else data
            )
    assert name in source.namelist()
    return out.getvalue()


@pytest.fixture(scope="module")
def sam() -> Path:
    return client_bin("sam")


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_sam_package_signs_and_sam_deploy_checks(
    sam: Path, server: Server, aws: Clients, tmp_path: Path
) -> None:
    env = client_env(server, tmp_path)
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    bucket = versioned_bucket(aws("s3"))
    profile = unique("sam_")
    version_arn = aws("signer").put_signing_profile(
        profileName=profile, platformId="AWSLambda-SHA384-ECDSA"
    )["profileVersionArn"]

    packaged = run(
        [
            str(sam),
            "package",
            "--template-file",
            "template.yaml",
            "--s3-bucket",
            bucket,
            "--output-template-file",
            "packaged.yaml",
            "--signing-profiles",
            f"HelloFunction={profile} GoodbyeFunction={profile} SharedLayer={profile}",
        ],
        env,
        app,
    )
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    template: dict[str, Any] = yaml.load((app / "packaged.yaml").read_text(), Loader=Loader)
    hello_uri = template["Resources"]["HelloFunction"]["Properties"]["CodeUri"]
    assert hello_uri.startswith(f"s3://{bucket}/") and "signed_" in hello_uri
    jobs = aws("signer").list_signing_jobs()["jobs"]
    signed_keys = {j["signedObject"]["s3"]["key"] for j in jobs if j["profileName"] == profile}
    assert hello_uri.removeprefix(f"s3://{bucket}/") in signed_keys

    csc = aws("lambda").create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [version_arn]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "sam_ext.cli",
            "--backend",
            "aws",
            "verify",
            hello_uri,
            "--code-signing-config-arn",
            csc,
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stderr
    assert '"ALLOW"' in verified.stdout

    deploy = [
        str(sam),
        "deploy",
        "--template-file",
        "packaged.yaml",
        "--s3-bucket",
        bucket,
        "--capabilities",
        "CAPABILITY_IAM",
        "--no-confirm-changeset",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={version_arn}",
    ]
    stack = unique("signed-app-")
    deployed = run([*deploy, "--stack-name", stack], env, app)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    resources = aws("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    functions = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function"
    }
    assert set(functions) == {"HelloFunction", "GoodbyeFunction"}
    hello = aws("lambda").get_function_code_signing_config(FunctionName=functions["HelloFunction"])
    assert hello["CodeSigningConfigArn"].split(":")[-1].startswith("csc-")

    # The same template once HelloFunction's signed object is tampered with.
    key = hello_uri.removeprefix(f"s3://{bucket}/")
    signed = aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    aws("s3").put_object(Bucket=bucket, Key=key, Body=edit_member(signed, "app.py"))
    broken = unique("tampered-app-")
    failed = run([*deploy, "--stack-name", broken], env, app)
    assert failed.returncode != 0
    events = aws("cloudformation").describe_stack_events(StackName=broken)["StackEvents"]
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in events
        if e["LogicalResourceId"] == "HelloFunction" and e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reasons and "InvalidCodeSignatureException" in reasons[0]
    # SAM CLI's event table shows the reason (wrapped at its column width).
    assert "CREATE_FAILED" in failed.stdout and "InvalidCodeSignatureEx" in failed.stdout
    status = aws("cloudformation").describe_stacks(StackName=broken)["Stacks"][0]["StackStatus"]
    assert status == "ROLLBACK_COMPLETE"
