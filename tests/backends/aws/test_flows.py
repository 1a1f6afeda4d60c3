"""Whole flows on the aws backend: moto (S3, Lambda functions, Signer profiles), the
stateful fake Signer for jobs (see conftest.FakeSigner), Stubber for code signing configs;
batch signing in parallel; and ``sam-ext --backend aws``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provider import schemas
from provider.backends import batch
from provider.backends.aws import S3Object
from provider.backends.base import Document
from provider.backends.function_settings import FunctionSettings
from provider.errors import SigningJobFailed, ValidationError
from provider.verdict import Decision
from sam_ext.cli import main

from .conftest import ACCOUNT, BUCKET, NOW, AwsWorld

CSC_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:csc-0a1b2c3d4e5f6a7b8"


def csc_response(allowed: list[str], policy: str = "Enforce") -> dict[str, Any]:
    return {
        "CodeSigningConfig": {
            "CodeSigningConfigId": CSC_ARN.rsplit(":", 1)[1],
            "CodeSigningConfigArn": CSC_ARN,
            "Description": "",
            "AllowedPublishers": {"SigningProfileVersionArns": allowed},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
            "LastModified": "2026-06-01T12:00:00.000+0000",
        }
    }


def test_a_signed_package_from_source_to_a_function_under_enforce(
    world: AwsWorld, role: str, package: Callable[..., Path]
) -> None:
    """The SignedPackage flow on AWS: profile, config, sign, predict, deploy, re-sign, revoke."""
    fake = world.fake_signer(in_progress_polls=2)
    arn = world.put_profile("publisher")["profileVersionArn"]
    stub = world.stub_lambda("create_code_signing_config", "get_code_signing_config")
    stub.add_response("create_code_signing_config", csc_response([arn]))
    for _ in range(2):
        stub.add_response(
            "get_code_signing_config", csc_response([arn]), {"CodeSigningConfigArn": CSC_ARN}
        )
    csc = world.backend.create_code_signing_config([arn], policy="Enforce", now=NOW)
    assert csc["CodeSigningConfig"]["CodeSigningConfigArn"] == CSC_ARN

    source = package()
    job = world.backend.sign_package(
        source, f"s3://{BUCKET}/web", "publisher", now=NOW, prefix="signed_"
    )
    schemas.validate(job, "signing-job", what="DescribeSigningJob")
    signed = S3Object.from_location(job["signedObject"])
    assert signed.key == f"web/signed_{job['jobId']}.zip" and signed.version
    policy = world.backend.csc_policy_of(CSC_ARN)
    assert world.backend.evaluate_package(signed, policy, at=NOW).decision is Decision.ALLOW

    function = world.backend.create_function(
        "web", signed, csc_arn=CSC_ARN, settings=FunctionSettings(role=role), now=NOW
    )
    assert function["CodeSigningConfigArn"] == CSC_ARN
    code = world.s3.get_object(Bucket=BUCKET, Key=signed.key, VersionId=signed.version)
    assert function["CodeSize"] == code["ContentLength"]

    # The same source again: no upload, but a new job (no token given: a new signature).
    versions_before = world.s3.list_object_versions(Bucket=BUCKET)["Versions"]
    again = world.backend.sign_package(
        source, f"s3://{BUCKET}/web", "publisher", now=NOW, prefix="signed_"
    )
    assert again["jobId"] != job["jobId"] and fake.started == 2
    # Only the new signed object was written.
    assert len(world.s3.list_object_versions(Bucket=BUCKET)["Versions"]) == len(versions_before) + 1

    # Changed source: a new job, deployed as new code.
    changed = package("v2.zip", {"app.py": b"def handler(e, c):\n    return 2\n"})
    second = world.backend.sign_package(
        changed, f"s3://{BUCKET}/web", "publisher", now=NOW, prefix="signed_"
    )
    assert second["jobId"] != job["jobId"] and fake.started == 3
    updated = world.backend.update_function_code(
        "web", S3Object.from_location(second["signedObject"]), now=NOW
    )
    assert updated["CodeSha256"] != function["CodeSha256"]

    # Revoking the first signature: the next deploy of that object would be refused.
    world.backend.revoke_signature(job["jobId"], "built from a leaked branch", now=NOW)
    revoked = world.backend.evaluate_package(signed, world.backend.csc_policy_of(CSC_ARN), at=NOW)
    assert revoked.decision is Decision.REJECT
    assert [f.check.value for f in revoked.failed] == ["revocation"]
    stub.assert_no_pending_responses()


class Counting:
    """A backend wrapper counting the signing jobs in flight at once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def sign_package(self, *args: Any, **kwargs: Any) -> Document:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)
            job: Document = self.inner.sign_package(*args, **kwargs)
            return job
        finally:
            with self.lock:
                self.running -= 1


def test_many_packages_are_signed_concurrently_with_progress_on_stderr(
    world: AwsWorld, package: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = world.fake_signer()
    world.put_profile("publisher")
    requests = [
        batch.SignRequest(
            f"Fn{i}", package(f"fn{i}.zip", {"app.py": f"N = {i}\n".encode()}), "publisher"
        )
        for i in range(6)
    ]
    counting = Counting(world.backend)
    outcomes = batch.sign_all(counting, requests, f"s3://{BUCKET}/app", now=NOW, jobs=3)
    assert [o.request.name for o in outcomes] == [f"Fn{i}" for i in range(6)]
    assert all(o.ok for o in outcomes)
    assert 1 < counting.most <= 3
    jobs = batch.raise_for_failures(outcomes)
    assert len({j["jobId"] for j in jobs}) == 6 == fake.started
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert sum(line.startswith("signing Fn") for line in lines) == 6
    done = sorted(line for line in lines if line.startswith("["))
    assert len(done) == 6 and all("/6] signed Fn" in line for line in done)
    assert f"-> s3://{BUCKET}/app/signed_" in done[0]

    # A second run of the same packages uploads no source again (content-addressed) but
    # signs each anew: a new job per package, as `sam-ext sign` and the local backend do.
    def unsigned_versions() -> int:
        listing = world.s3.list_object_versions(Bucket=BUCKET, Prefix="app/")["Versions"]
        return sum("/signed_" not in v["Key"] for v in listing)

    before = unsigned_versions()
    rerun = batch.sign_all(world.backend, requests, f"s3://{BUCKET}/app", now=NOW, progress=None)
    assert all(o.ok for o in rerun)
    assert not {o.job["jobId"] for o in rerun if o.job} & {j["jobId"] for j in jobs}
    assert fake.started == 12
    assert unsigned_versions() == before == 6


def test_one_failure_in_a_batch_does_not_stop_the_others(
    world: AwsWorld,
    package: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world.fake_signer()
    world.put_profile("publisher")
    empty = package("empty.zip", {})
    requests = [
        batch.SignRequest("Good", package(), "publisher"),
        batch.SignRequest("Empty", empty, "publisher"),
        batch.SignRequest("Missing", tmp_path / "missing.zip", "publisher"),
    ]
    outcomes = batch.sign_all(world.backend, requests, f"s3://{BUCKET}/app", now=NOW, jobs=2)
    assert [o.ok for o in outcomes] == [True, False, False]
    assert isinstance(outcomes[1].error, SigningJobFailed)
    assert "the source zip file is empty" in str(outcomes[1].error)
    assert isinstance(outcomes[2].error, ValidationError)
    with pytest.raises(SigningJobFailed) as caught:
        batch.raise_for_failures(outcomes)
    assert caught.value.message.startswith("2 of 3 package(s) not signed: Empty: ")
    assert "Missing: ValidationException: source:" in caught.value.message
    assert "FAILED Empty" in capsys.readouterr().err


def test_batch_inputs_are_checked(world: AwsWorld, package: Callable[..., Path]) -> None:
    request = batch.SignRequest("Fn", package(), "publisher")
    with pytest.raises(ValidationError, match="jobs: 0 must be 1 to 64"):
        batch.sign_all(world.backend, [request], f"s3://{BUCKET}", now=NOW, jobs=0)
    with pytest.raises(ValidationError, match="each package needs a distinct name"):
        batch.sign_all(world.backend, [request, request], f"s3://{BUCKET}", now=NOW)
    assert batch.sign_all(world.backend, [], f"s3://{BUCKET}", now=NOW) == []


# --- sam-ext --backend aws ------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["--backend", "aws", "--now", "2026-06-01T12:00:00Z", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_sam_ext_manages_profiles_on_aws(
    cli_world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "profile", "put", "--profile-name", "cli_profile")
    assert status == 0
    created = json.loads(out)
    status, out, _ = run(capsys, "profile", "get", "--profile-name", "cli_profile")
    assert status == 0 and json.loads(out)["profileVersionArn"] == created["profileVersionArn"]


def test_sam_ext_verifies_a_signed_s3_object_on_aws(
    cli_world: AwsWorld,
    package: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    job = cli_world.backend.sign_package(package(), f"s3://{BUCKET}/app", "publisher", now=NOW)
    target = f"s3://{BUCKET}/{job['signedObject']['key']}"
    allowed = tmp_path / "csc.json"
    allowed.write_text(
        json.dumps(
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [arn]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            }
        )
    )
    status, out, _ = run(capsys, "verify", target, "--csc-file", str(allowed))
    assert status == 0 and json.loads(out)["decision"] == "ALLOW"

    cli_world.s3.put_object(Bucket=BUCKET, Key=job["signedObject"]["key"], Body=b"tampered")
    status, out, err = run(capsys, "verify", target, "--csc-file", str(allowed))
    # Judged by its bytes: no longer a zip at all, which Lambda refuses whatever signed what.
    assert status == 1
    assert json.loads(out)["exception"] == "InvalidParameterValueException"
    assert "integrity: the package is not a readable .zip archive" in err

    status, out, _ = run(capsys, "signature", "describe", "--job-id", job["jobId"])
    assert status == 0 and json.loads(out)["signedObject"]["bucketName"] == BUCKET


def test_sam_ext_says_where_aws_refuses(
    cli_world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "profile", "get", "--profile-name", "ghost_profile")
    assert status != 0
    assert err.count("\n") == 1 and "Traceback" not in err
    status, _, err = run(capsys, "verify", "build/app.zip", "--csc-file", "x.json")
    assert status == 2


def test_sam_ext_package_on_aws_needs_a_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    app = Path(__file__).resolve().parents[3] / "examples" / "sam" / "app" / "template.yaml"
    for command in ("package", "deploy"):
        extra = ["--stack-name", "app", "--template-file", str(app)] if command == "deploy" else []
        status, out, err = run(capsys, command, *extra)
        assert status == 2 and out == ""
        assert err.startswith("error: ValidationException: --s3-bucket: required with")
        assert err.count("\n") == 1


def test_sam_ext_sign_on_aws_prints_the_job_and_the_s3_object(
    cli_world: AwsWorld, package: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    cli_world.put_profile("publisher")
    source = package()
    sign = ("sign", "--profile-name", "publisher", "--source", str(source))
    status, out, err = run(capsys, *sign, "--destination", f"s3://{BUCKET}/web", "--prefix", "s_")
    assert status == 0
    job = json.loads(out)
    signed = job["signedObject"]
    assert signed["bucketName"] == BUCKET and signed["key"] == f"web/s_{job['jobId']}.zip"
    assert (
        err == f"signed {source} -> s3://{BUCKET}/{signed['key']}?versionId={signed['version']}\n"
    )
    assert fake.started == 1

    # A job that fails (an empty zip) is printed, then one line says why; exit 1.
    empty = package("empty.zip", {})
    status, out, err = run(
        capsys, "sign", "--profile-name", "publisher", "--source", str(empty),
        "--destination", f"s3://{BUCKET}/web",
    )  # fmt: skip
    assert status == 1 and json.loads(out)["status"] == "Failed"
    assert err.startswith("error: SigningJobFailed: signing job ") and err.count("\n") == 1
    assert "the source zip file is empty" in err

    # A local directory as destination is refused on aws, naming the form it takes.
    status, _, err = run(capsys, *sign, "--destination", "build/signed")
    assert status == 2 and "is not an S3 location (s3://BUCKET/KEY)" in err


def test_the_local_backend_refuses_an_s3_object_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODESIGN_HOME", str(tmp_path / "home"))
    csc = tmp_path / "csc.json"
    csc.write_text(
        json.dumps(
            {
                "AllowedPublishers": {
                    "SigningProfileVersionArns": [
                        f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/pp/AbCdE12345"
                    ]
                }
            }
        )
    )
    status = main(["verify", f"s3://{BUCKET}/app/x.zip", "--csc-file", str(csc)])
    err = capsys.readouterr().err
    assert status == 2 and "is an S3 object; the local backend verifies local .zip files" in err
