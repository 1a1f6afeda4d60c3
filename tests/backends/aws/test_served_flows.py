"""The aws backend's flows a second time, against a ``sam-ext serve`` process instead of
moto in-process + the fake Signer + Stubber: every call goes over HTTP through botocore's
real serializers and parsers, signing jobs really run, and Lambda really enforces, so each
prediction is checked against the deployment it predicts."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from endpoint.serving import Server, start_server

from provider import schemas
from provider.backends import batch
from provider.backends.aws import AwsBackend, S3Object
from provider.backends.functions import FunctionSettings
from provider.errors import CodesignError, SigningJobFailed
from provider.verdict import Decision
from sam_ext.cli import main

from .conftest import NOW, REGION

EXAMPLE_APP = Path(__file__).resolve().parents[3] / "examples" / "sam" / "app"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("served-home"))
    yield running
    running.stop()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


class Served:
    """An :class:`AwsBackend` on ``sam-ext serve`` (``AWS_ENDPOINT_URL``), raw clients for
    checking what it did, and a fresh versioned bucket and profile names per test."""

    def __init__(self, server: Server, tmp_path: Path) -> None:
        self.url = server.url
        self.tmp_path = tmp_path
        session = boto3.session.Session(region_name=REGION)
        self.s3 = session.client("s3", endpoint_url=server.url)
        self.signer = session.client("signer", endpoint_url=server.url)
        self.lambda_ = session.client("lambda", endpoint_url=server.url)
        self.iam = session.client("iam", endpoint_url=server.url)
        self.cloudformation = session.client("cloudformation", endpoint_url=server.url)
        self.backend = AwsBackend(REGION, endpoint_url=server.url, job_delay=0.05)
        self.tag = str(time.monotonic_ns() % 10**10)
        self.bucket = f"served-{self.tag}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )

    def name(self, base: str) -> str:
        return f"{base}_{self.tag}"

    def package(self, name: str, files: dict[str, bytes] | None = None) -> Path:
        path = self.tmp_path / "packages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        default = {"app.py": b"def handler(e, c):\n    return 1\n"}
        path.write_bytes(zip_bytes(default if files is None else files))
        return path

    def role(self) -> str:
        return str(
            self.iam.create_role(RoleName=self.name("role"), AssumeRolePolicyDocument="{}")["Role"][
                "Arn"
            ]
        )

    def jobs_of(self, profile: str) -> list[dict[str, Any]]:
        return [j for j in self.signer.list_signing_jobs()["jobs"] if j["profileName"] == profile]


@pytest.fixture
def served(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Served:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    return Served(server, tmp_path)


def test_sign_predict_deploy_resign_and_revoke_over_http(served: Served) -> None:
    backend, profile = served.backend, served.name("publisher")
    arn = backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
    csc = backend.create_code_signing_config([arn], policy="Enforce", now=NOW)["CodeSigningConfig"][
        "CodeSigningConfigArn"
    ]
    destination = f"s3://{served.bucket}/web"

    source = served.package("app.zip")
    job = backend.sign_package(source, destination, profile, now=NOW, prefix="signed_")
    schemas.validate(job, "signing-job", what="DescribeSigningJob")
    signed = S3Object.from_location(job["signedObject"])
    assert signed.key == f"web/signed_{job['jobId']}.zip" and signed.version
    policy = backend.csc_policy_of(csc)
    assert backend.evaluate_package(signed, policy, at=NOW).decision is Decision.ALLOW
    function = backend.create_function(
        "web" + served.tag,
        signed,
        csc_arn=csc,
        settings=FunctionSettings(role=served.role(), runtime="python3.12", handler="app.handler"),
        now=NOW,
    )
    assert function["CodeSigningConfigArn"] == csc

    # The same source again: the same job (the token is the content's); no second job.
    again = backend.sign_package(source, destination, profile, now=NOW, prefix="signed_")
    assert again["jobId"] == job["jobId"] and len(served.jobs_of(profile)) == 1

    changed = served.package("v2.zip", {"app.py": b"def handler(e, c):\n    return 2\n"})
    second = backend.sign_package(changed, destination, profile, now=NOW, prefix="signed_")
    assert second["jobId"] != job["jobId"] and len(served.jobs_of(profile)) == 2
    updated = backend.update_function_code(
        "web" + served.tag, S3Object.from_location(second["signedObject"]), now=NOW
    )
    assert updated["CodeSha256"] != function["CodeSha256"]

    # Revoked: predicted REJECT, and the served Lambda refuses that object the same way.
    backend.revoke_signature(job["jobId"], "built from a leaked branch", now=NOW)
    revoked = backend.evaluate_package(signed, backend.csc_policy_of(csc), at=NOW)
    assert revoked.decision is Decision.REJECT
    assert [f.check.value for f in revoked.failed] == ["revocation"]
    with pytest.raises(CodesignError) as caught:
        backend.update_function_code("web" + served.tag, signed, now=NOW)
    assert caught.value.code == "CodeVerificationFailedException"


def test_a_tampered_object_is_predicted_and_refused_alike(served: Served) -> None:
    backend, profile = served.backend, served.name("publisher")
    arn = backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
    csc = backend.create_code_signing_config([arn], policy="Warn", now=NOW)["CodeSigningConfig"][
        "CodeSigningConfigArn"
    ]
    job = backend.sign_package(
        served.package("app.zip"), f"s3://{served.bucket}/t", profile, now=NOW
    )
    key = job["signedObject"]["key"]
    signed = served.s3.get_object(Bucket=served.bucket, Key=key)["Body"].read()
    assert signed.count(b"return 1") == 1
    served.s3.put_object(
        Bucket=served.bucket, Key=key, Body=signed.replace(b"return 1", b"return 2")
    )
    latest = S3Object(served.bucket, key)
    verdict = backend.evaluate_package(latest, backend.csc_policy_of(csc), at=NOW)
    assert verdict.decision is Decision.REJECT
    assert verdict.exception == "InvalidCodeSignatureException"
    with pytest.raises(served.lambda_.exceptions.InvalidCodeSignatureException):
        served.lambda_.create_function(
            FunctionName="t" + served.tag,
            Runtime="python3.12",
            Role=served.role(),
            Handler="app.handler",
            Code={"S3Bucket": served.bucket, "S3Key": key},
            CodeSigningConfigArn=csc,
        )


def test_a_batch_signs_concurrently_and_one_failure_stops_no_other(served: Served) -> None:
    profile = served.name("publisher")
    served.backend.put_signing_profile(profile, now=NOW)
    requests = [
        batch.SignRequest(
            f"Fn{i}", served.package(f"fn{i}.zip", {"app.py": f"N = {i}\n".encode()}), profile
        )
        for i in range(6)
    ] + [batch.SignRequest("Empty", served.package("empty.zip", {}), profile)]
    outcomes = batch.sign_all(
        served.backend, requests, f"s3://{served.bucket}/app", now=NOW, jobs=3, progress=None
    )
    assert [o.ok for o in outcomes] == [True] * 6 + [False]
    assert isinstance(outcomes[-1].error, SigningJobFailed)
    ids = {o.job["jobId"] for o in outcomes[:6] if o.job}
    assert len(ids) == 6
    assert {j["jobId"] for j in served.jobs_of(profile) if j["status"] == "Succeeded"} == ids


def sam_ext(*args: str) -> int:
    return main(["--backend", "aws", *args])


def test_sam_ext_package_and_deploy_create_the_stack_in_the_served_cloudformation(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = served.tmp_path / "app"
    shutil.copytree(EXAMPLE_APP, app)
    monkeypatch.chdir(app)
    profile = served.name("publisher")
    arn = served.backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
    stack = "app-" + served.tag
    status = sam_ext(
        "deploy",
        "--stack-name",
        stack,
        "--s3-bucket",
        served.bucket,
        "--s3-prefix",
        "app",
        "--signing-profiles",
        f"HelloFunction={profile} SharedLayer={profile}",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={arn}",
    )
    err = capsys.readouterr().err
    assert status == 0, err
    assert err.splitlines()[-1] == f"stack {stack} deployed (CREATE_COMPLETE)"
    # The Warn-policy finding, said once, naming the function once.
    warned = [line for line in err.splitlines() if "deploys with a warning" in line]
    assert warned == [
        "warning: GoodbyeFunction: deploys with a warning under the Warn policy (mismatch: "
        "the package is not signed)"
    ], err
    resources = served.cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    functions = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function"
    }
    hello = served.lambda_.get_function_code_signing_config(FunctionName=functions["HelloFunction"])
    configs = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::CodeSigningConfig"
    }
    assert hello["CodeSigningConfigArn"] == configs["EnforceConfig"]
    assert len(served.jobs_of(profile)) == 2

    # Code the served Lambda would refuse is refused by the prediction first.
    other = served.backend.put_signing_profile(served.name("other"), now=NOW)["profileVersionArn"]
    status = sam_ext(
        "deploy",
        "--stack-name",
        stack + "-x",
        "--s3-bucket",
        served.bucket,
        "--signing-profiles",
        f"HelloFunction={profile} SharedLayer={profile}",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={other}",
    )
    last = capsys.readouterr().err.splitlines()[-1]
    assert status == 1 and "CodeVerificationFailedException" in last and "mismatch" in last
    stacks = [s["StackName"] for s in served.cloudformation.describe_stacks()["Stacks"]]
    assert stack + "-x" not in stacks
    assert json.loads(json.dumps(stacks))  # the served CloudFormation answered the listing


def test_sam_ext_layer_adopt_signs_a_served_layer_version_unchanged(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """``layer adopt`` reads the source with GetLayerVersionByArn and downloads its
    ``Content.Location``: both must work against the server as against AWS."""
    profile = served.name("adopter")
    served.backend.put_signing_profile(profile, now=NOW)
    vendor = zip_bytes({"python/vendor.py": b"X = 1\n"})
    source = served.lambda_.publish_layer_version(
        LayerName=served.name("vendor"), Content={"ZipFile": vendor}
    )["LayerVersionArn"]
    status = sam_ext(
        "layer", "adopt", "--layer-version-arn", source, "--profile-name", profile,
        "--layer-name", served.name("adopted"), "--s3-bucket", served.bucket,
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    document = json.loads(out)
    assert document["Source"] == source
    assert document["ContentSha256Before"] == document["ContentSha256After"]
    adopted = served.lambda_.get_layer_version_by_arn(Arn=document["LayerVersionArn"])
    assert adopted["Content"]["CodeSha256"] == document["CodeSha256"]
    assert [j["jobId"] for j in served.jobs_of(profile)] == [document["SigningJobId"]]
