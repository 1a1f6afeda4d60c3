"""The AWS CLI (awscli from PyPI, its own virtualenv), unchanged, against ``sam-ext serve``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .clients import AwsCli
from .conftest import Server, package_bytes, unique


@pytest.fixture(scope="module")
def cli(server: Server, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return AwsCli(server, tmp_path_factory.mktemp("aws-cli-home"))


def test_sign_then_deploy_under_enforce_and_warn(cli: AwsCli, tmp_path: Path) -> None:
    profile, other, bucket = unique("cli_"), unique("cli_other_"), unique("cli-bucket-")
    cli.run("s3api", "create-bucket", "--bucket", bucket)
    cli.run(
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        bucket,
        "--versioning-configuration",
        "Status=Enabled",
    )
    source = tmp_path / "app.zip"
    source.write_bytes(package_bytes())
    version = cli.json(
        "s3api", "put-object", "--bucket", bucket, "--key", "app.zip", "--body", str(source)
    )["VersionId"]
    put = cli.json(
        "signer",
        "put-signing-profile",
        "--profile-name",
        profile,
        "--platform-id",
        "AWSLambda-SHA384-ECDSA",
    )
    other_arn = cli.json(
        "signer",
        "put-signing-profile",
        "--profile-name",
        other,
        "--platform-id",
        "AWSLambda-SHA384-ECDSA",
    )["profileVersionArn"]
    job = cli.json(
        "signer",
        "start-signing-job",
        "--source",
        f"s3={{bucketName={bucket},key=app.zip,version={version}}}",
        "--destination",
        f"s3={{bucketName={bucket},prefix=signed/}}",
        "--profile-name",
        profile,
    )
    deadline = time.monotonic() + 30
    while (
        cli.json("signer", "describe-signing-job", "--job-id", job["jobId"])["status"]
        == "InProgress"
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    cli.run("signer", "wait", "successful-signing-job", "--job-id", job["jobId"])
    described = cli.json("signer", "describe-signing-job", "--job-id", job["jobId"])
    assert described["status"] == "Succeeded"
    signed_key = described["signedObject"]["s3"]["key"]

    enforce = cli.json(
        "lambda",
        "create-code-signing-config",
        "--allowed-publishers",
        f"SigningProfileVersionArns={put['profileVersionArn']}",
        "--code-signing-policies",
        "UntrustedArtifactOnDeployment=Enforce",
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    warn_untrusted = cli.json(
        "lambda",
        "create-code-signing-config",
        "--allowed-publishers",
        f"SigningProfileVersionArns={other_arn}",
        "--code-signing-policies",
        "UntrustedArtifactOnDeployment=Warn",
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    enforce_untrusted = cli.json(
        "lambda",
        "create-code-signing-config",
        "--allowed-publishers",
        f"SigningProfileVersionArns={other_arn}",
        "--code-signing-policies",
        "UntrustedArtifactOnDeployment=Enforce",
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    role = cli.json(
        "iam",
        "create-role",
        "--role-name",
        unique("cli-role-"),
        "--assume-role-policy-document",
        "{}",
    )["Role"]["Arn"]
    signed = tmp_path / "signed.zip"
    cli.run("s3api", "get-object", "--bucket", bucket, "--key", signed_key, str(signed))
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(signed.read_bytes().replace(b"return 1", b"return 2"))

    def create(name: str, csc: str, code: list[str]) -> object:
        return cli.run(
            "lambda",
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "python3.12",
            "--role",
            role,
            "--handler",
            "app.handler",
            "--code-signing-config-arn",
            csc,
            *code,
            check=False,
        )

    ok = create(unique("signed-"), enforce, ["--code", f"S3Bucket={bucket},S3Key={signed_key}"])
    assert ok.returncode == 0, ok.stderr
    bad = create(unique("tampered-"), enforce, ["--zip-file", f"fileb://{tampered}"])
    assert bad.returncode != 0 and "InvalidCodeSignatureException" in bad.stderr
    refused = create(
        unique("untrusted-"), enforce_untrusted, ["--code", f"S3Bucket={bucket},S3Key={signed_key}"]
    )
    assert refused.returncode != 0 and "CodeVerificationFailedException" in refused.stderr
    warned = create(
        unique("warned-"), warn_untrusted, ["--code", f"S3Bucket={bucket},S3Key={signed_key}"]
    )
    assert warned.returncode == 0, warned.stderr
