"""``sam-ext --backend aws verify`` agrees with the served Lambda on copies of a signed
object: a package is judged by its bytes, not by where it lies. Each prediction is checked
against the deployment it predicts, on a real ``sam-ext serve``."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint.serving import Server, module_server

from provider.backends.aws import AwsBackend, S3Object
from provider.clock import utcnow
from sam_ext.cli import main

from .conftest import REGION
from .conftest import fixed_zip as _zip

server = module_server("served-verify-home")


def _tampered(data: bytes) -> bytes:
    """One byte of the first member's data flipped (inside the signed bytes)."""
    changed = bytearray(data)
    member = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", changed, member.header_offset + 26)
    changed[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    return bytes(changed)


class World:
    """A served account: a profile, a config per policy listing it, a signed object."""

    def __init__(self, server: Server, tmp_path: Path) -> None:
        session = boto3.session.Session(region_name=REGION)
        self.s3 = session.client("s3", endpoint_url=server.url)
        self.lambda_ = session.client("lambda", endpoint_url=server.url)
        iam = session.client("iam", endpoint_url=server.url)
        self.backend = AwsBackend(REGION, endpoint_url=server.url, job_delay=0.05)
        self.tag = str(time.monotonic_ns() % 10**10)
        self.bucket = f"verify-{self.tag}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        now = utcnow()
        profile = f"publisher_{self.tag}"
        arn = self.backend.put_signing_profile(profile, now=now)["profileVersionArn"]
        self.csc = {
            policy: self.backend.create_code_signing_config([arn], policy=policy, now=now)[
                "CodeSigningConfig"
            ]["CodeSigningConfigArn"]
            for policy in ("Warn", "Enforce")
        }
        self.role = iam.create_role(RoleName=f"fn-{self.tag}", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        source = tmp_path / "app.zip"
        source.write_bytes(_zip({"app.py": b"def handler(e, c):\n    return 1\n"}))
        self.job = self.backend.sign_package(
            source, f"s3://{self.bucket}/signed", profile, now=now, prefix="signed_"
        )
        self.signed = S3Object.from_location(self.job["signedObject"])
        self.signed_bytes = self.s3.get_object(
            Bucket=self.bucket, Key=self.signed.key, VersionId=self.signed.version
        )["Body"].read()
        self.functions = 0

    def put(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def copy(self, key: str) -> str:
        self.s3.copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={
                "Bucket": self.bucket,
                "Key": self.signed.key,
                "VersionId": str(self.signed.version),
            },
        )
        return f"s3://{self.bucket}/{key}"

    def deploy(self, uri: str, policy: str) -> str | None:
        """CreateFunction from ``uri`` under the ``policy`` config: ``None`` when Lambda
        deploys it, else its error code."""
        obj = S3Object.parse(uri)
        self.functions += 1
        try:
            self.lambda_.create_function(
                FunctionName=f"fn-{self.tag}-{self.functions}",
                Runtime="python3.12",
                Handler="app.handler",
                Role=self.role,
                Code={"S3Bucket": obj.bucket, "S3Key": obj.key},
                CodeSigningConfigArn=self.csc[policy],
            )
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return None


@pytest.fixture
def world(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    return World(server, tmp_path)


def verify(
    capsys: pytest.CaptureFixture[str], world: World, uri: str, policy: str
) -> tuple[int, dict[str, Any], str]:
    """``sam-ext --backend aws verify URI --code-signing-config-arn CSC``: exit status,
    the verdict document and stderr."""
    status = main(
        ["--backend", "aws", "verify", uri, "--code-signing-config-arn", world.csc[policy]]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return status, json.loads(out), err


def test_a_byte_identical_copy_is_judged_as_the_signed_object_wherever_it_lies(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = world.job["jobId"]
    for uri in (
        world.copy("copies/app.zip"),  # no job id in the key: was "not signed"
        world.copy(f"elsewhere/{job_id}.zip"),  # another job's key form: was "integrity"
        f"s3://{world.bucket}/{world.signed.key}",
    ):
        status, verdict, err = verify(capsys, world, uri, "Enforce")
        assert (status, verdict["decision"], verdict["signed"]) == (0, "ALLOW", True), err
        assert verdict["jobId"] == job_id and verdict["checks"]["integrity"] == "PASSED"
        assert world.deploy(uri, "Enforce") is None, f"the served Lambda deploys {uri}"


def test_a_tampered_copy_fails_integrity_under_warn_as_lambda_refuses_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    for uri in (
        world.put(
            "tampered/app.zip", _tampered(world.signed_bytes)
        ),  # was "deploys with a warning"
        world.put(world.signed.key, _tampered(world.signed_bytes)),  # overwritten in place
    ):
        status, verdict, err = verify(capsys, world, uri, "Warn")
        assert (status, verdict["decision"]) == (1, "REJECT"), err
        assert verdict["exception"] == "InvalidCodeSignatureException"
        assert [f["check"] for f in verdict["failedChecks"]] == ["integrity"]
        assert "rejected: " in err
        assert world.deploy(uri, "Warn") == "InvalidCodeSignatureException"


def test_bytes_with_no_readable_signature_are_unknown_never_unsigned_nor_allowed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain .zip might carry AWS Signer's own (undocumented) signature: the aws backend
    cannot call it unsigned, and must not call it deployable (here Lambda refuses it)."""
    uri = world.put("plain/app.zip", _zip({"app.py": b"def handler(e, c):\n    return 2\n"}))

    status, verdict, err = verify(capsys, world, uri, "Enforce")

    assert (status, verdict["decision"]) == (1, "UNKNOWN"), err
    assert "signed" not in verdict and "not signed" not in err
    assert sorted(verdict["unknownChecks"]) == ["expiry", "integrity", "mismatch", "revocation"]
    assert "no signing job this account can see wrote these bytes" in verdict["message"]
    assert world.deploy(uri, "Enforce") == "CodeVerificationFailedException"


def _forged(world: World, job_id: str) -> bytes:
    """The signed object's code, signed anew with a key of our own, in the name of the
    served profile version and of signing job ``job_id``."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from provider.arns import parse_profile_version_arn
    from provider.envelope import seal
    from provider.package import assemble_signed, prepare_unsigned

    described = world.backend.describe_signing_job(world.job["jobId"])
    arn = world.backend.location.profile_version_arn(
        described["profileName"], described["profileVersion"]
    )
    unsigned = prepare_unsigned(_zip({"app.py": b"def handler(e, c):\n    return 'evil'\n"}))
    now = utcnow()
    envelope = seal(
        private_key=ec.generate_private_key(ec.SECP384R1()),
        profile_name=described["profileName"],
        profile_version=described["profileVersion"],
        profile_version_arn=arn,
        job_id=job_id,
        job_owner=parse_profile_version_arn(arn).account,
        signed_at=now,
        expires_at=now.replace(year=now.year + 1),
        digest=unsigned.digest,
    )
    return assemble_signed(unsigned, envelope)


def test_a_signature_made_with_another_key_is_never_passed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """An envelope in the name of the real job but signed with another key fails
    integrity; one naming a job no one can read is UNKNOWN (its key unconfirmed)."""
    named = world.put("forged/real-job.zip", _forged(world, world.job["jobId"]))
    status, verdict, err = verify(capsys, world, named, "Warn")
    assert (status, verdict["decision"]) == (1, "REJECT"), err
    [failure] = verdict["failedChecks"]
    assert (
        failure["check"] == "integrity"
        and "the signing key is not the key of" in (failure["message"])
    )
    assert world.deploy(named, "Warn") == "InvalidCodeSignatureException"

    ghost = world.put("forged/no-job.zip", _forged(world, "00000000-0000-4000-8000-000000000000"))
    status, verdict, err = verify(capsys, world, ghost, "Warn")
    assert (status, verdict["decision"]) == (1, "UNKNOWN"), err
    assert "integrity" in verdict["unknownChecks"] and "cannot be read" in verdict["message"]
    assert world.deploy(ghost, "Warn") == "InvalidCodeSignatureException"
