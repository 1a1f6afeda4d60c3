"""``sam-ext --backend aws package`` on a copy of examples/sam/app: moto S3 (a versioned
bucket) and the stateful fake Signer. The template is rewritten as ``sam package``
rewrites it, a second run uploads and signs nothing, and cfn-lint accepts the result."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws import S3Object
from sam_ext.template import load_template, parse_template

from .conftest import BUCKET, AwsWorld, assert_cfn_lint_accepts, aws_cli, package_app

CODE = {"HelloFunction": "CodeUri", "GoodbyeFunction": "CodeUri", "SharedLayer": "ContentUri"}
SIGNED = "HelloFunction=publisher SharedLayer=publisher"


@pytest.fixture
def app(copy_example: Any) -> Path:
    """A copy of examples/sam/app as the working directory."""
    return Path(copy_example("sam/app"))


def sam_ext(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> tuple[str, str]:
    """Run ``sam-ext --backend aws ARGS``; returns stdout and stderr."""
    return aws_cli(capsys, *args, status=status)


def package(capsys: pytest.CaptureFixture[str], arn: str, *extra: str) -> str:
    """Package the app into s3://BUCKET/app, signing HelloFunction and SharedLayer."""
    return package_app(capsys, arn, SIGNED, *extra)


def row(err: str, logical_id: str) -> list[str]:
    """The summary table's cells for ``logical_id``."""
    for line in err.splitlines():
        if line.split("  ", 1)[0] == logical_id:
            return [cell.strip() for cell in line.split("  ") if cell.strip()]
    raise AssertionError(f"no summary row for {logical_id} in:\n{err}")


def versions(world: AwsWorld) -> int:
    """Object versions in the bucket."""
    return len(world.s3.list_object_versions(Bucket=BUCKET).get("Versions", []))


def s3_object(uri: str) -> S3Object:
    """The object a ``CodeUri`` names."""
    return S3Object.parse(uri)


def test_the_template_is_rewritten_as_sam_package_does(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    original = load_template(app / "template.yaml")
    err = package(capsys, arn)
    packaged = load_template(app / "packaged.yaml")

    expected = copy.deepcopy(original)
    for logical_id, prop in CODE.items():
        value = packaged["Resources"][logical_id]["Properties"][prop]
        assert isinstance(value, str) and value.startswith(f"s3://{BUCKET}/app/"), value
        expected["Resources"][logical_id]["Properties"][prop] = value
    assert packaged == expected
    assert list(packaged["Resources"]) == list(original["Resources"])

    # Signed: SAM's prefix convention, a job of the profile, the source's files inside.
    for logical_id in ("HelloFunction", "SharedLayer"):
        signed = s3_object(packaged["Resources"][logical_id]["Properties"][CODE[logical_id]])
        job_id = signed.key.removeprefix("app/signed_").removesuffix(".zip")
        assert signed.key == f"app/signed_{job_id}.zip"
        job = cli_world.backend.describe_signing_job(job_id)
        assert job["status"] == "Succeeded" and job["profileName"] == "publisher"
        assert job["source"]["key"].startswith("app/") and job["source"]["version"]
    assert fake.started == 2
    # Unsigned: uploaded under its content address, as sam package uploads <md5>.zip.
    unsigned = s3_object(packaged["Resources"]["GoodbyeFunction"]["Properties"]["CodeUri"])
    assert not unsigned.key.startswith("app/signed_")
    assert len(unsigned.key.removeprefix("app/").removesuffix(".zip")) == 64
    cli_world.s3.head_object(Bucket=BUCKET, Key=unsigned.key)

    # Progress and the summary on stderr; the verdicts come from the aws prediction.
    assert sum(line.startswith("[") and "/3] " in line for line in err.splitlines()) == 3
    hello = row(err, "HelloFunction")
    assert hello[1] == "publisher" and hello[2].startswith("app/signed_") and hello[-1] == "ALLOW"
    assert row(err, "GoodbyeFunction")[-1] == "WARN (mismatch)"
    assert row(err, "SharedLayer")[-1] == "ALLOW as a layer of HelloFunction"
    assert "GoodbyeFunction: has a code signing config but no signing profile" in err


def test_a_second_run_uploads_and_signs_nothing(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package(capsys, arn)
    first = (app / "packaged.yaml").read_text()
    stored = versions(cli_world)
    uploads = cli_world.count_uploads()
    err = package(capsys, arn)
    assert (app / "packaged.yaml").read_text() == first
    assert fake.started == 2 and uploads[0] == 0 and versions(cli_world) == stored
    assert row(err, "HelloFunction")[2].endswith("(cached)")

    # Without the local cache (a fresh checkout): S3 and Signer's idempotency still
    # give the same objects and jobs.
    shutil.rmtree(app / ".sam-ext")
    package(capsys, arn)
    assert (app / "packaged.yaml").read_text() == first
    assert fake.started == 2 and uploads[0] == 0 and versions(cli_world) == stored


def test_changed_code_is_uploaded_and_signed_again(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package(capsys, arn)
    before = load_template(app / "packaged.yaml")
    (app / "src" / "hello" / "app.py").write_text("def handler(event, context):\n    return 2\n")
    package(capsys, arn)
    after = load_template(app / "packaged.yaml")
    changed = [
        logical_id
        for logical_id, prop in CODE.items()
        if before["Resources"][logical_id]["Properties"][prop]
        != after["Resources"][logical_id]["Properties"][prop]
    ]
    assert changed == ["HelloFunction"] and fake.started == 3


def test_a_signed_object_overwritten_in_s3_is_signed_anew(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package(capsys, arn)
    first = load_template(app / "packaged.yaml")
    tampered = s3_object(first["Resources"]["HelloFunction"]["Properties"]["CodeUri"])
    cli_world.s3.put_object(Bucket=BUCKET, Key=tampered.key, Body=b"not what was signed")
    err = package(capsys, arn)
    again = load_template(app / "packaged.yaml")
    fresh = again["Resources"]["HelloFunction"]["Properties"]["CodeUri"]
    assert fresh != first["Resources"]["HelloFunction"]["Properties"]["CodeUri"]
    assert fake.started == 3
    assert row(err, "HelloFunction")[-1] == "ALLOW"


def test_the_packaged_template_passes_cfn_lint(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package(capsys, arn)
    assert_cfn_lint_accepts(app / "packaged.yaml")


LAMBDA_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Layer:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content: layer/
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: src/
      Layers: [!Ref Layer]
"""


def test_code_and_content_objects_get_bucket_key_and_version(
    cli_world: AwsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    project = tmp_path / "plain"
    (project / "src").mkdir(parents=True)
    (project / "layer" / "python").mkdir(parents=True)
    (project / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (project / "layer" / "python" / "lib.py").write_text("VALUE = 1\n")
    (project / "template.yaml").write_text(LAMBDA_TEMPLATE)
    out, _ = sam_ext(
        capsys,
        "package",
        "--template-file",
        str(project / "template.yaml"),
        "--s3-bucket",
        BUCKET,
        "--signing-profiles",
        "Plain=publisher",
    )
    packaged = parse_template(out, origin="stdout")
    code = packaged["Resources"]["Plain"]["Properties"]["Code"]
    content = packaged["Resources"]["Layer"]["Properties"]["Content"]
    assert set(code) == set(content) == {"S3Bucket", "S3Key", "S3ObjectVersion"}
    assert code["S3Bucket"] == BUCKET and code["S3Key"].startswith("signed_")
    assert not content["S3Key"].startswith("signed_")
    for location in (code, content):
        head = cli_world.s3.head_object(
            Bucket=BUCKET, Key=location["S3Key"], VersionId=location["S3ObjectVersion"]
        )
        assert head["ContentLength"] > 0
    assert (project / ".sam-ext" / "artifacts" / ".cache").is_dir()


def test_an_unversioned_bucket_is_refused_with_the_fix(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_world.s3.create_bucket(Bucket="plain-bucket")
    cli_world.put_profile("publisher")
    _, err = sam_ext(
        capsys, "package", "--s3-bucket", "plain-bucket", "--signing-profiles", SIGNED,
        "--parameter-overrides", "TrustedProfileVersionArn=x", status=2,
    )  # fmt: skip
    last = err.splitlines()[-1]
    assert last.startswith("error: ValidationException: S3 bucket 'plain-bucket': versioning")
    assert "put-bucket-versioning" in last
    assert not cli_world.s3.list_objects_v2(Bucket="plain-bucket").get("Contents")


def test_a_bad_bucket_name_is_refused_before_any_work(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = sam_ext(capsys, "package", "--s3-bucket", "Not_A_Bucket", status=2)
    assert err.startswith("error: ValidationException: --s3-bucket: 'Not_A_Bucket' is not")
