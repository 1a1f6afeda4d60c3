"""``sam-ext --backend aws audit`` against a real ``sam-ext serve`` process: an account of
every kind of function, built through the endpoint (the revocations, the cancel and the
out-of-band code change by the real AWS CLI, a second client), audited by a real
``sam-ext`` process over HTTP."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint.clients import AwsCli
from endpoint.serving import REPO, Server, start_server

from provider import schemas
from provider.clock import format_instant
from sam_ext.audit.report import EXIT_INCOMPLETE, FailOn, Standing

from .conftest import EXPECTED, by_name

REGION = "us-east-1"
PLATFORM = "AWSLambda-SHA384-ECDSA"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("app.py", (1980, 1, 1, 0, 0, 0)), f"X = {text!r}\n")
    return buffer.getvalue()


@dataclass
class ServedAccount:
    server: Server
    home: Path
    env: dict[str, str]
    arns: dict[str, str] = field(default_factory=dict)
    jobs: set[str] = field(default_factory=set)

    def client(self, service: str) -> Any:
        return boto3.session.Session(region_name=REGION, **KEYS).client(
            service, endpoint_url=self.server.url
        )


def _build(server: Server, home: Path) -> ServedAccount:
    cli = AwsCli(server, home)
    account = ServedAccount(server, home, cli.env)
    s3, signer, lambda_ = account.client("s3"), account.client("signer"), account.client("lambda")
    bucket = "audit-artifacts"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    validity = {"shortlived": 20, "brief": 1}
    for name in ("good", "shortlived", "brief", "revokedpv", "retired"):
        extra = (
            {"signatureValidityPeriod": {"value": validity[name], "type": "DAYS"}}
            if name in validity
            else {}
        )
        put = signer.put_signing_profile(profileName=name, platformId=PLATFORM, **extra)
        account.arns[name] = put["profileVersionArn"]

    def sign(key: str, profile: str, data: bytes | None = None) -> dict[str, Any]:
        version = s3.put_object(Bucket=bucket, Key=key, Body=data or zipped(key))["VersionId"]
        job = signer.start_signing_job(
            source={"s3": {"bucketName": bucket, "key": key, "version": version}},
            destination={"s3": {"bucketName": bucket, "prefix": "signed/"}},
            profileName=profile,
            clientRequestToken=f"token-{key}",
        )
        signer.get_waiter("successful_signing_job").wait(
            jobId=job["jobId"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
        )
        account.jobs.add(job["jobId"])
        return dict(signer.describe_signing_job(jobId=job["jobId"]))

    def code(job: dict[str, Any]) -> dict[str, str]:
        return {"S3Bucket": bucket, "S3Key": job["signedObject"]["s3"]["key"]}

    def csc(allowed: list[str], policy: str) -> str:
        return str(
            lambda_.create_code_signing_config(
                AllowedPublishers={"SigningProfileVersionArns": allowed},
                CodeSigningPolicies={"UntrustedArtifactOnDeployment": policy},
            )["CodeSigningConfig"]["CodeSigningConfigArn"]
        )

    arns = account.arns
    enforce = csc([arns[n] for n in ("good", "shortlived", "brief", "revokedpv")], "Enforce")
    warn = csc([arns["good"]], "Warn")
    unused = csc([arns["retired"]], "Enforce")
    arns.update(enforce=enforce, warn=warn, unused=unused)
    role = account.client("iam").create_role(RoleName="audit", AssumeRolePolicyDocument="{}")
    common = {"Runtime": "python3.12", "Role": role["Role"]["Arn"], "Handler": "app.handler"}

    def create(name: str, code: dict[str, Any], config: str | None, **extra: Any) -> None:
        attached = {"CodeSigningConfigArn": config} if config else {}
        lambda_.create_function(FunctionName=name, Code=code, **attached, **common, **extra)

    create("fine", code(sign("fine.zip", "good")), enforce)
    create("expiring", code(sign("expiring.zip", "shortlived")), enforce)
    create("expired", code(sign("expired.zip", "brief")), enforce)
    revoked_pv = sign("revokedprofile.zip", "revokedpv")
    create("revokedprofile", code(revoked_pv), enforce)
    revoked_job = sign("revokedsig.zip", "good")
    create("revokedsig", code(revoked_job), enforce)
    create("unsignedwarn", {"ZipFile": zipped("unsigned")}, warn)
    layer_job = sign("layer.zip", "good")
    signed_layer = s3.get_object(Bucket=bucket, Key=layer_job["signedObject"]["s3"]["key"])
    tampered = io.BytesIO(signed_layer["Body"].read())
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("extra.py", "EVIL = 1\n")
    layer = lambda_.publish_layer_version(
        LayerName="tampered", Content={"ZipFile": tampered.getvalue()}
    )["LayerVersionArn"]
    arns["layer"] = layer
    create("tamperedlayer", code(sign("tamperedlayer.zip", "good")), None, Layers=[layer])
    lambda_.put_function_code_signing_config(
        FunctionName="tamperedlayer", CodeSigningConfigArn=enforce
    )
    create("noconfig", {"ZipFile": zipped("plain")}, None)
    create("outofband", code(sign("outofband.zip", "good")), warn)
    # The AWS CLI, a second client: revocations, a cancel, and code changed out of band.
    cli.run("signer", "revoke-signature", "--job-id", revoked_job["jobId"], "--reason", "leaked")
    signed_at = datetime.fromisoformat(str(revoked_pv["createdAt"]))
    cli.run(
        "signer",
        "revoke-signing-profile",
        "--profile-name",
        "revokedpv",
        "--profile-version",
        arns["revokedpv"].rsplit("/", 1)[1],
        "--reason",
        "compromised",
        "--effective-time",
        format_instant(signed_at.astimezone(UTC) - timedelta(seconds=5)),
    )
    cli.run("signer", "cancel-signing-profile", "--profile-name", "retired")
    hotfix = home / "hotfix.zip"
    hotfix.write_bytes(zipped("hotfix"))
    cli.run(
        "lambda",
        "update-function-code",
        "--function-name",
        "outofband",
        "--zip-file",
        f"fileb://{hotfix}",
    )
    return account


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedAccount]:
    running = start_server(tmp_path_factory.mktemp("audit-serve-home"))
    try:
        yield _build(running, tmp_path_factory.mktemp("audit-client-home"))
    finally:
        running.stop()


def _state(account: ServedAccount) -> str:
    """What the endpoint holds, as its read APIs answer (the audit must change none of it)."""
    lambda_, signer = account.client("lambda"), account.client("signer")
    functions = sorted(
        (f for f in lambda_.list_functions()["Functions"]), key=lambda f: f["FunctionName"]
    )
    for function in functions:
        function.pop("LastModified", None)
    configs = lambda_.list_code_signing_configs()["CodeSigningConfigs"]
    profiles = signer.list_signing_profiles(includeCanceled=True)["profiles"]
    jobs = signer.list_signing_jobs()["jobs"]
    return json.dumps([functions, configs, profiles, jobs], sort_keys=True, default=str)


AT = datetime.now(UTC) + timedelta(days=2)


def audit(account: ServedAccount, *args: str) -> tuple[int, str, str]:
    """A ``sam-ext --backend aws audit`` process against the server."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sam_ext.cli",
            "--backend",
            "aws",
            "audit",
            "--at",
            format_instant(AT),
            *args,
        ],
        cwd=REPO,
        env={**account.env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result.returncode, result.stdout, result.stderr


def test_every_served_function_is_named_with_its_standing(served: ServedAccount) -> None:
    before = _state(served)
    status, out, err = audit(served, "--within", "30d", "--output", "json")
    assert status == 1, err
    document = json.loads(out)
    schemas.validate(document, "audit-report", what="audit")
    assert document["backend"] == "aws" and document["complete"] is True
    functions = by_name(document)
    assert {n: (f["standing"], f["standing_at_horizon"]) for n, f in functions.items()} == EXPECTED
    assert functions["expired"]["check"] == "expiry"
    assert functions["revokedprofile"]["check"] == "revocation"
    assert functions["revokedsig"]["check"] == "revocation"
    assert "leaked" in functions["revokedsig"]["message"]
    # Lambda reports no signer of a layer whose signature does not verify: unsigned
    tampered = functions["tamperedlayer"]
    assert tampered["check"] == "mismatch"
    assert tampered["artifacts"][1]["signing_profile_version_arn"] is None
    assert tampered["artifacts"][0]["signing_profile_version_arn"] == served.arns["good"]
    assert functions["fine"]["artifacts"][0]["signing_job_arn"].startswith("arn:aws:signer:")
    assert functions["fine"]["artifacts"][0]["matches_signed_object"] is True
    assert functions["unsignedwarn"]["artifacts"][0]["matches_signed_object"] is None
    assert "expires at" in functions["expiring"]["message"]
    assert document["summary"]["expiring_within"] == 1
    # the SignatureValidationErrors data points CloudWatch kept for the Warn functions
    assert functions["unsignedwarn"]["signature_validation_errors"] == 1
    assert functions["outofband"]["signature_validation_errors"] == 1
    assert functions["outofband"]["artifacts"][0]["signing_profile_version_arn"] is None
    configs = {c["arn"]: c for c in document["code_signing_configs"]}
    assert configs[served.arns["warn"]]["blocked_if_enforced"] == ["outofband", "unsignedwarn"]
    assert configs[served.arns["unused"]]["unused"] is True
    assert configs[served.arns["unused"]]["publishers"][0]["status"] == "Canceled"
    enforce = {
        p["profile_version_arn"]: p["status"] for p in configs[served.arns["enforce"]]["publishers"]
    }
    assert enforce[served.arns["revokedpv"]] == "Revoked"
    assert _state(served) == before  # reads only


def test_served_exit_status_and_table(served: ServedAccount) -> None:
    status, out, err = audit(served, "--fail-on", "warn", "--within", "30d")
    assert status == 1, err
    for name in EXPECTED:
        assert f" {name} " in out
    assert out.index("REJECT") < out.index("WARN") < out.index("NO_CONFIG") < out.index("ALLOW")
    status, out, err = audit(
        served, "--region", "us-east-1", "--region", "eu-west-1", "--output", "json"
    )
    document = json.loads(out)
    assert status == 1 and document["regions"] == ["us-east-1", "eu-west-1"]
    assert {f["region"] for f in document["functions"]} == {"us-east-1"}  # eu-west-1: none
    status, out, err = audit(served, "--region", "mars-north-1")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    status, out, err = audit(served, "--within", "soon")
    assert status == 2 and "--within" in err and len(err.strip().splitlines()) == 1


def _denying(client: Any, function: str) -> None:
    """Answer GetFunctionCodeSigningConfig of ``function`` with AccessDeniedException."""

    def deny(params: dict[str, Any], **_: Any) -> None:
        if params.get("FunctionName") == function:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDeniedException", "Message": "not allowed"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "GetFunctionCodeSigningConfig",
            )

    client.meta.events.register("provide-client-params.lambda.GetFunctionCodeSigningConfig", deny)


def _throttling(client: Any, function: str) -> list[str]:
    """Answer every attempt of GetFunctionCodeSigningConfig of ``function`` with a 429
    ThrottlingException (botocore retries it); returns the attempts seen."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    attempts: list[str] = []

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        if f"/functions/{function}/code-signing-config" not in request.url:
            return None
        attempts.append(request.url)
        body = json.dumps({"message": "Rate exceeded"}).encode()
        headers = {"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/json"}
        return AWSResponse(request.url, 429, headers, MockRawResponse(body))

    client.meta.events.register("before-send.lambda.GetFunctionCodeSigningConfig", throttle)
    return attempts


def test_a_signing_job_that_cannot_be_read_leaves_the_standing_unknown(
    served: ServedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provider.backends.aws import AwsBackend
    from sam_ext.audit.collect import AuditOptions, AwsReader, CachedReads, audit_regions

    for name, value in served.env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    backend = AwsBackend(REGION, endpoint_url=served.server.url)
    lambda_ = served.client("lambda")
    job_arn = lambda_.get_function(FunctionName="expiring")["Configuration"]["SigningJobArn"]
    job_id = job_arn.rsplit("/", 1)[1]

    def deny(params: dict[str, Any], **_: Any) -> None:
        if params.get("jobId") == job_id:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDeniedException", "Message": "not yours"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "DescribeSigningJob",
            )

    backend.clients.signer.meta.events.register(
        "provide-client-params.signer.DescribeSigningJob", deny
    )
    report = audit_regions(
        [AwsReader(backend, CachedReads(backend), at=AT)], AuditOptions(at=AT), backend_name="aws"
    )
    functions = {f.function_name: f for f in report.functions}
    unknown = functions["expiring"]
    assert unknown.standing is Standing.UNKNOWN  # never "allowed" on a guess
    assert unknown.check in ("expiry", "revocation")
    assert "cannot be read" in unknown.message
    assert report.complete is True  # the function was read; one of its facts was not
    assert report.exit_code(FailOn.REJECT) == 1 and functions["fine"].standing is Standing.ALLOW


def test_access_denied_on_one_function_is_reported_on_it(
    served: ServedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provider.backends.aws import AwsBackend
    from sam_ext.audit.collect import AuditOptions, AwsReader, CachedReads, audit_regions

    for name, value in served.env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    backend = AwsBackend(REGION, endpoint_url=served.server.url)
    _denying(backend.clients.lambda_, "noconfig")
    attempts = _throttling(backend.clients.lambda_, "expired")
    reads = CachedReads(backend)
    report = audit_regions(
        [AwsReader(backend, reads, at=AT)], AuditOptions(at=AT), backend_name="aws"
    )
    functions = {f.function_name: f for f in report.functions}
    denied = functions["noconfig"]
    assert denied.standing is Standing.ERROR
    assert denied.error is not None and "AccessDenied" in denied.error
    throttled = functions["expired"]
    assert throttled.standing is Standing.ERROR and len(attempts) == 3  # after the retries
    assert throttled.error is not None and "Throttling" in throttled.error
    assert len(functions) == len(EXPECTED)
    assert functions["fine"].standing is Standing.ALLOW  # the audit went on
    assert report.complete is False
    assert report.exit_code(FailOn.REJECT) == 1  # REJECTs found say 1
    assert report.to_document()["complete"] is False
    # each signing job and profile read once for the whole account
    signed = [a for f in report.functions for a in f.artifacts if a.signing_job_arn]
    assert reads.calls["signing_job"] == len({a.signing_job_arn for a in signed})
    assert reads.calls["code_signing_config"] == 0  # the listing gave every config
    assert reads.calls["signing_profile"] <= len(served.arns)
    only = [f for f in report.functions if f.standing in (Standing.ALLOW, Standing.ERROR)]
    assert report.count(Standing.ERROR) == 2
    partial = type(report)(
        audited_at=report.audited_at,
        backend="aws",
        regions=report.regions,
        functions=tuple(only),
        code_signing_configs=(),
    )
    assert partial.exit_code(FailOn.REJECT) == EXIT_INCOMPLETE
