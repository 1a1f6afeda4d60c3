"""Nested applications with ``--backend aws`` (moto S3, the stateful fake Signer), on a copy
of examples/sam/nested (two levels): every level's code is uploaded and signed, each child
template is uploaded as ``sam package`` uploads it and its parent's ``Location`` /
``TemplateURL`` set to the path-style HTTPS URL, cfn-lint accepts every packaged template,
and a second run uploads and signs nothing. The local backend's counterpart is
tests/packaging/test_nested.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.stub import Stubber

from provider.backends.aws import S3Object
from sam_ext.template import Template, load_template, parse_template

from .conftest import BUCKET, AwsWorld, assert_cfn_lint_accepts, aws_cli, package_app, session

#: path -> (which template, property)
ARTIFACTS = {
    "ApiFunction": ("top", "CodeUri"),
    "Orders/OrdersFunction": ("orders", "CodeUri"),
    "Orders/OrdersLayer": ("orders", "ContentUri"),
    "Orders/Billing/BillingFunction": ("billing", "Code"),
    "Orders/Billing/BillingLayer": ("billing", "Content"),
}


@pytest.fixture
def app(copy_example: Any) -> Path:
    """A copy of examples/sam/nested as the working directory."""
    return Path(copy_example("sam/nested"))


def sam_ext(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> str:
    """Run ``sam-ext --backend aws ARGS``; returns stderr."""
    return aws_cli(capsys, *args, status=status)[1]


def package(capsys: pytest.CaptureFixture[str], arn: str) -> str:
    """Package the tree into s3://BUCKET/app, signing everything with ``publisher``."""
    return package_app(capsys, arn, "ApiFunction=publisher Orders=publisher")


def uploaded_template(world: AwsWorld, url: str) -> tuple[S3Object, Template]:
    """The object a nested ``Location``/``TemplateURL`` names, and its template."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == world.s3.meta.endpoint_url, url
    bucket, _, key = parts.path.lstrip("/").partition("/")
    version = parse_qs(parts.query)["versionId"][0]
    body = world.s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
    return S3Object(bucket, key, version), parse_template(body.decode(), origin=url)


def packaged_tree(world: AwsWorld, app: Path) -> dict[str, tuple[S3Object | None, Template]]:
    """The packaged templates: the top one from disk, the nested ones from S3."""
    top = load_template(app / "packaged.yaml")
    orders = uploaded_template(world, top["Resources"]["Orders"]["Properties"]["Location"])
    billing = uploaded_template(
        world, orders[1]["Resources"]["Billing"]["Properties"]["TemplateURL"]
    )
    return {"top": (None, top), "orders": orders, "billing": billing}


def code_object(tree: dict[str, tuple[S3Object | None, Template]], path: str) -> S3Object:
    """Where a packaged artifact's code is."""
    which, prop = ARTIFACTS[path]
    value = tree[which][1]["Resources"][path.rsplit("/", 1)[-1]]["Properties"][prop]
    if isinstance(value, dict):
        assert set(value) == {"S3Bucket", "S3Key", "S3ObjectVersion"}, value
        return S3Object(value["S3Bucket"], value["S3Key"], value["S3ObjectVersion"])
    return S3Object.parse(value)


def row(err: str, path: str) -> list[str]:
    """The summary table's cells for ``path``."""
    for line in err.splitlines():
        if line.split("  ", 1)[0] == path:
            return [cell.strip() for cell in line.split("  ") if cell.strip()]
    raise AssertionError(f"no summary row for {path} in:\n{err}")


def test_every_level_is_signed_and_each_child_template_uploaded(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    err = package(capsys, arn)
    tree = packaged_tree(cli_world, app)

    # Child templates: content-addressed .template objects under the prefix, as sam
    # package uploads them (its TemplateURL is path-style, with the version).
    for which in ("orders", "billing"):
        placed = tree[which][0]
        assert placed is not None and placed.key.startswith("app/")
        assert placed.key.endswith(".template") and len(placed.key) == len("app/") + 64 + 9
    # Only code and template locations changed at every level.
    originals = {
        "top": load_template(app / "template.yaml"),
        "orders": load_template(app / "orders" / "template.yaml"),
        "billing": load_template(app / "orders" / "billing" / "template.yaml"),
    }
    for which, (_, template) in tree.items():
        original = originals[which]
        for logical_id, resource in template["Resources"].items():
            changed = {
                k for k, v in resource.get("Properties", {}).items()
                if v != original["Resources"][logical_id].get("Properties", {}).get(k)
            }  # fmt: skip
            assert changed <= {"CodeUri", "ContentUri", "Code", "Content", "Location",
                               "TemplateURL"}, (which, logical_id, changed)  # fmt: skip

    for path in ARTIFACTS:
        signed = code_object(tree, path)
        assert signed.bucket == BUCKET and signed.key.startswith("app/signed_"), (path, signed)
        job_id = signed.key.removeprefix("app/signed_").removesuffix(".zip")
        job = cli_world.backend.describe_signing_job(job_id)
        assert job["status"] == "Succeeded" and job["profileName"] == "publisher"
        assert row(err, path)[1] == "publisher"
        # A layer is judged under the config of the function (of its stack) using it.
        user = path.removesuffix("Layer") + "Function"
        expected = f"ALLOW as a layer of {user}" if path.endswith("Layer") else "ALLOW"
        assert row(err, path)[-1] == expected, path
    assert fake.started == len(ARTIFACTS)


def test_cfn_lint_accepts_every_packaged_template(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package(capsys, arn)
    tree = packaged_tree(cli_world, app)
    for which in ("orders", "billing"):
        placed = tree[which][0]
        assert placed is not None
        body = cli_world.s3.get_object(Bucket=BUCKET, Key=placed.key)["Body"].read()
        (tmp_path / f"{which}.yaml").write_bytes(body)
    paths = (app / "packaged.yaml", tmp_path / "orders.yaml", tmp_path / "billing.yaml")
    # One cfn-lint process for the three (its findings name the file).
    assert_cfn_lint_accepts(*paths)


def test_a_second_run_uploads_and_signs_nothing(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    package(capsys, arn)
    first = (app / "packaged.yaml").read_text()
    uploads = cli_world.count_uploads()
    package(capsys, arn)
    # The same child objects (same versions), so the same URLs in the parent.
    assert (app / "packaged.yaml").read_text() == first
    assert uploads[0] == 0 and fake.started == len(ARTIFACTS)


def test_deploy_refuses_a_local_nested_template_without_a_bucket(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (app / "only-nested.yaml").write_text(
        "Resources:\n  Orders:\n    Type: AWS::CloudFormation::Stack\n"
        "    Properties:\n      TemplateURL: orders/billing/template.yaml\n"
    )
    err = sam_ext(capsys, "deploy", "-t", "only-nested.yaml", "--stack-name", "app", status=2)
    assert "--s3-bucket: required" in err and "Orders" in err


def test_deploy_stops_before_cloudformation_when_nested_code_would_be_rejected(
    cli_world: AwsWorld, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    cli_world.put_profile("someone_else")
    client = session().client("cloudformation")
    cli_world.backend.clients.cloudformation = client
    with Stubber(client):  # nothing queued: any CloudFormation call fails the test
        err = sam_ext(
            capsys,
            "deploy",
            "--stack-name",
            "app",
            "--s3-bucket",
            BUCKET,
            "--signing-profiles",
            "ApiFunction=publisher Orders=publisher Orders/Billing=someone_else",
            "--parameter-overrides",
            f"TrustedProfileVersionArn={arn}",
            status=1,
        )
    last = err.splitlines()[-1]
    assert last.startswith("error: CodeVerificationFailedException: stack app: not deployed")
    assert "Orders/Billing/BillingFunction" in last and "mismatch" in last
    assert "Orders/OrdersFunction" not in last
