"""The aws backend's flows a second time, against a ``sam-ext serve`` process instead of
moto in-process + the fake Signer + Stubber: every call goes over HTTP through botocore's
real serializers and parsers, signing jobs really run, and Lambda really enforces, so each
prediction is checked against the deployment it predicts."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from endpoint.serving import Server, module_server

from provider import schemas
from provider.backends import batch
from provider.backends.aws import AwsBackend, S3Object
from provider.backends.function_settings import FunctionSettings
from provider.errors import CodesignError, SigningJobFailed
from provider.verdict import Decision
from sam_ext.cli import main
from sam_ext.template import load_template

from .conftest import NOW, REGION
from .conftest import fixed_zip as zip_bytes

EXAMPLE_APP = Path(__file__).resolve().parents[3] / "examples" / "sam" / "app"


server = module_server("served-home")


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

    # The same source again: a new job (no token given), as on the local backend.
    again = backend.sign_package(source, destination, profile, now=NOW, prefix="signed_")
    assert again["jobId"] != job["jobId"] and len(served.jobs_of(profile)) == 2

    changed = served.package("v2.zip", {"app.py": b"def handler(e, c):\n    return 2\n"})
    second = backend.sign_package(changed, destination, profile, now=NOW, prefix="signed_")
    assert second["jobId"] != job["jobId"] and len(served.jobs_of(profile)) == 3
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


def test_sam_ext_sign_after_a_revocation_starts_a_new_job_unless_given_the_token(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sign`` says "Start a signing job": a second sign of the same file is a new job
    (a new, unrevoked signature), as on the local backend; only a repeated
    ``--client-request-token`` returns the job it started, revoked or not."""
    profile = served.name("signer")
    served.backend.put_signing_profile(profile, now=NOW)
    source = str(served.package("app.zip"))
    destination = f"s3://{served.bucket}/cli/"

    def sign(*extra: str) -> dict[str, Any]:
        status = sam_ext("sign", "--profile-name", profile, "--source", source,
                         "--destination", destination, *extra)  # fmt: skip
        out, err = capsys.readouterr()
        assert status == 0, err
        return dict(json.loads(out))

    first = sign("--client-request-token", "release-1")
    assert sam_ext("signature", "revoke", "--job-id", first["jobId"], "--reason", "leaked") == 0
    capsys.readouterr()

    again = sign()
    assert again["jobId"] != first["jobId"]
    assert again["status"] == "Succeeded" and "revocationRecord" not in again
    assert again["signedObject"]["key"] != first["signedObject"]["key"]
    third = sign()
    assert third["jobId"] not in (first["jobId"], again["jobId"])

    repeated = sign("--client-request-token", "release-1")
    assert (
        repeated["jobId"] == first["jobId"] and repeated["revocationRecord"]["reason"] == "leaked"
    )
    assert len(served.jobs_of(profile)) == 3


EXAMPLE_NESTED = EXAMPLE_APP.parent / "nested"


def test_sam_ext_deploys_a_nested_application_through_the_served_cloudformation(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child templates' TemplateURLs (this server's path-style URLs) are read from the
    served S3: every level is created, each function under the parent's config. (Before:
    NoSuchBucket, and the stack left REVIEW_IN_PROGRESS.)"""
    app = served.tmp_path / "nested"
    shutil.copytree(EXAMPLE_NESTED, app)
    monkeypatch.chdir(app)
    profile = served.name("publisher")
    arn = served.backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
    stack = "nested-" + served.tag
    status = sam_ext(
        "deploy", "--stack-name", stack, "--s3-bucket", served.bucket, "--s3-prefix", "nested",
        "--signing-profiles", f"ApiFunction={profile} Orders={profile}",
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 0, err
    assert err.splitlines()[-1] == f"stack {stack} deployed (CREATE_COMPLETE)"
    stacks = {
        s["StackName"]: s["StackStatus"]
        for s in served.cloudformation.describe_stacks()["Stacks"]
        if s["StackName"].startswith(stack)
    }
    assert len(stacks) == 3 and set(stacks.values()) == {"CREATE_COMPLETE"}, stacks

    def functions(name: str) -> dict[str, str]:
        resources = served.cloudformation.describe_stack_resources(StackName=name)
        return {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in resources["StackResources"]
            if r["ResourceType"] in ("AWS::Lambda::Function", "AWS::Lambda::CodeSigningConfig")
        }

    top = functions(stack)
    (orders,) = [s for s in stacks if "-Orders-" in s and "-Billing-" not in s]
    (billing,) = [s for s in stacks if "-Billing-" in s]
    for name, function in [
        (stack, top["ApiFunction"]),
        (orders, functions(orders)["OrdersFunction"]),
        (billing, functions(billing)["BillingFunction"]),
    ]:
        attached = served.lambda_.get_function_code_signing_config(FunctionName=function)
        assert attached["CodeSigningConfigArn"] == top["EnforceConfig"], name


def _stacks_named(served: Served, prefix: str) -> dict[str, str]:
    return {
        s["StackName"]: s["StackStatus"]
        for s in served.cloudformation.describe_stacks()["Stacks"]
        if s["StackName"].startswith(prefix)
    }


def test_sam_ext_deploy_of_a_packaged_template_refuses_a_predicted_rejection_first(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deploy --template-file PACKAGED`` judges the code in S3 as packaging does: a
    signature revoked since packaging (of a function and of its layer) is refused, exit 1,
    naming each, before CloudFormation (before: the stack was created and rolled back)."""
    app = served.tmp_path / "revoked-app"
    shutil.copytree(EXAMPLE_APP, app)
    monkeypatch.chdir(app)
    profile = served.name("publisher")
    arn = served.backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
    status = sam_ext(
        "package", "--s3-bucket", served.bucket, "--s3-prefix", "revoked",
        "--signing-profiles", f"HelloFunction={profile} SharedLayer={profile}",
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}",
        "--output-template-file", "packaged.yaml",
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    packaged = load_template(app / "packaged.yaml")["Resources"]
    for logical_id, uri in [
        ("HelloFunction", packaged["HelloFunction"]["Properties"]["CodeUri"]),
        ("SharedLayer", packaged["SharedLayer"]["Properties"]["ContentUri"]),
    ]:
        job = str(uri).rsplit("signed_", 1)[1].removesuffix(".zip")
        served.signer.revoke_signature(jobId=job, reason=f"{logical_id} built from a leak")

    stack = "revoked-" + served.tag
    status = sam_ext(
        "deploy", "--template-file", "packaged.yaml", "--stack-name", stack,
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}",
    )  # fmt: skip
    lines = capsys.readouterr().err.splitlines()
    assert status == 1, lines
    last = lines[-1]
    assert last.startswith(
        f"error: CodeVerificationFailedException: stack {stack}: not deployed, Lambda would "
        "reject the code: HelloFunction: rejected with CodeVerificationFailedException "
        "(revocation: "
    ), last
    assert "; HelloFunction layer SharedLayer: rejected with CodeVerificationFailedException " in (
        last
    )
    assert "GoodbyeFunction" not in last  # under Warn: never a refusal
    # A plain zip in S3 may carry AWS Signer's own signature: UNKNOWN, said as a warning.
    assert any(
        line.startswith("warning: GoodbyeFunction: the verdict is UNKNOWN") for line in lines
    ), lines
    assert _stacks_named(served, stack) == {}  # nothing created, not even a change set


def test_sam_ext_deploy_of_a_packaged_nested_template_judges_every_level(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nested templates are read back from S3 and the parent's config followed down:
    code signed by a profile the config does not list is refused at the second level."""
    app = served.tmp_path / "nested-mismatch"
    shutil.copytree(EXAMPLE_NESTED, app)
    monkeypatch.chdir(app)
    profile, other = served.name("publisher"), served.name("outsider")
    arn = served.backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
    served.backend.put_signing_profile(other, now=NOW)
    status = sam_ext(
        "package", "--s3-bucket", served.bucket, "--s3-prefix", "nested-mismatch",
        "--signing-profiles", f"ApiFunction={profile} Orders={profile} Orders/Billing={other}",
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}",
        "--output-template-file", "packaged.yaml",
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    stack = "nested-mismatch-" + served.tag
    status = sam_ext(
        "deploy", "-t", "packaged.yaml", "--stack-name", stack,
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}",
    )  # fmt: skip
    last = capsys.readouterr().err.splitlines()[-1]
    assert status == 1, last
    rejected = [
        part.split(": rejected")[0]
        for part in last.split("Lambda would reject the code: ", 1)[1].split("; ")
    ]
    assert rejected == [
        "Orders/Billing/BillingFunction",
        "Orders/Billing/BillingFunction layer BillingLayer",
    ], last
    assert "mismatch: " in last
    assert _stacks_named(served, stack) == {}
