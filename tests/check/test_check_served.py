"""``sam-ext --backend aws check`` against a real ``sam-ext serve``: S3 objects are looked up
on the backend (signed by whom, when, revoked, expired), configs are read from the served
Lambda, and ``--signing-profiles`` names a served profile."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from endpoint.serving import Server, module_server
from fake_aws import api_calls, fake_aws_environment

from provider.backends.aws import AwsBackend, S3Object
from provider.clock import format_instant, utcnow
from provider.validity import ValidityPeriod
from sam_ext.cli import main

REGION = "us-east-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("app.py", (1980, 1, 1, 0, 0, 0)), b"def h(e, c): pass\n")
    return buffer.getvalue()


server = module_server("served-check-home")


@pytest.fixture
def served(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Server:
    fake_aws_environment(monkeypatch, tmp_path, REGION, endpoint_url=server.url)
    return server


class _Account(NamedTuple):
    """A served account for one test: a versioned bucket, a profile, an Enforce config."""

    backend: AwsBackend
    s3: Any
    tag: str
    bucket: str
    now: datetime
    profile: str
    arn: str
    csc: str


def _account(
    url: str, bucket: str, profile: str, validity: ValidityPeriod | None = None
) -> _Account:
    """Bucket ``<bucket>-<tag>`` and profile ``<profile>_<tag>`` (``validity``: its
    signatures' validity) on the server at ``url``, a tag of their own, and an Enforce
    config allowing the profile."""
    backend = AwsBackend(REGION, endpoint_url=url, job_delay=0.05)
    s3 = boto3.session.Session(region_name=REGION).client("s3", endpoint_url=url)
    tag = str(time.monotonic_ns() % 10**10)
    s3.create_bucket(Bucket=f"{bucket}-{tag}")
    s3.put_bucket_versioning(
        Bucket=f"{bucket}-{tag}", VersioningConfiguration={"Status": "Enabled"}
    )
    now = utcnow()
    arn = backend.put_signing_profile(f"{profile}_{tag}", validity=validity, now=now)[
        "profileVersionArn"
    ]
    csc = backend.create_code_signing_config([arn], policy="Enforce", now=now)["CodeSigningConfig"][
        "CodeSigningConfigArn"
    ]
    return _Account(backend, s3, tag, f"{bucket}-{tag}", now, f"{profile}_{tag}", arn, csc)


def _function(code: Any, config: Any) -> dict[str, Any]:
    """A Lambda function of ``code`` under the code signing config ``config``."""
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": code,
            "Handler": "app.h",
            "Role": "r",
            "Runtime": "python3.12",
            "CodeSigningConfigArn": config,
        },
    }


def test_s3_objects_signed_unsigned_revoked_and_expired_on_a_served_endpoint(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    validity = ValidityPeriod(10, "DAYS")
    backend, s3, tag, bucket, now, profile, _, csc = _account(
        served.url, "check", "publisher", validity
    )
    source = tmp_path / "app.zip"
    source.write_bytes(_zip())

    def signed() -> dict[str, Any]:
        return S3Object.from_location(
            backend.sign_package(source, f"s3://{bucket}/signed", profile, now=now, prefix="s_")[
                "signedObject"
            ]
        ).__dict__

    good, revoked = signed(), signed()
    backend.revoke_signature(Path(revoked["key"]).stem.removeprefix("s_"), "leaked", now=now)
    s3.put_object(Bucket=bucket, Key="plain.zip", Body=_zip())
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def h(e, c): pass\n")

    def function(code: Any) -> dict[str, Any]:
        return _function(code, {"Ref": "Config"})

    def obj(found: dict[str, Any]) -> dict[str, Any]:
        return {
            "S3Bucket": found["bucket"],
            "S3Key": found["key"],
            "S3ObjectVersion": found["version"],
        }

    # A nested stack whose template is in S3 (a packaged child), read through the backend;
    # the parent's config goes down as a parameter.
    child = {
        "Parameters": {"Config": {"Type": "String"}},
        "Resources": {"Inner": function(obj(good))},
    }
    s3.put_object(Bucket=bucket, Key="child.json", Body=json.dumps(child).encode())
    template = tmp_path / "template.json"
    template.write_text(
        json.dumps(
            {
                "Parameters": {"Config": {"Type": "String"}},
                "Resources": {
                    "Good": function(obj(good)),
                    "Revoked": function(obj(revoked)),
                    "Plain": function({"S3Bucket": bucket, "S3Key": "plain.zip"}),
                    "Local": function("src/"),
                    "Child": {
                        "Type": "AWS::CloudFormation::Stack",
                        "Properties": {
                            "TemplateURL": f"{served.url}/{bucket}/child.json",
                            "Parameters": {"Config": {"Ref": "Config"}},
                        },
                    },
                },
            }
        )
    )

    def check(*args: str, at: str | None = None) -> tuple[int, dict[str, dict[str, Any]]]:
        status = main(
            [
                "--backend",
                "aws",
                *(("--now", at) if at else ()),
                "check",
                str(template),
                "--parameter-overrides",
                f"Config={csc}",
                "--output",
                "json",
                *args,
            ]
        )
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        return status, {
            "/".join([*f["nested_in"], f["logical_id"]]): f for f in json.loads(out)["findings"]
        }

    status, found = check("--signing-profiles", f"Local={profile}")
    assert status == 1
    assert found["Good"]["standing"] == "ALLOW"
    assert (found["Revoked"]["standing"], found["Revoked"]["check"]) == ("REJECT", "revocation")
    # Bytes that carry no signature in this project's format and are no job's signed
    # object: the aws backend cannot tell "unsigned" from "signed elsewhere": UNKNOWN,
    # never allowed (and the served Lambda does refuse it, below).
    assert found["Plain"]["standing"] == "UNKNOWN"
    assert "could be" in found["Plain"]["message"]
    assert found["Local"]["standing"] == "ALLOW"  # a fresh signature by the served profile
    assert found["Child/Inner"]["standing"] == "ALLOW"
    assert found["Child/Inner"]["nested_in"] == ["Child"]
    # Unsigned local code on aws: the remedy signs it with the config's profile.
    status, found = check()
    assert found["Local"]["standing"] == "REJECT"
    assert found["Local"]["remedy"].endswith(f"--signing-profiles Local={profile}")
    # Eleven days later, the 10-day signatures have expired.
    status, found = check(at=format_instant(now + timedelta(days=11)))
    assert (found["Good"]["standing"], found["Good"]["check"]) == ("REJECT", "expiry")
    inner = found["Child/Inner"]
    assert (inner["standing"], inner["check"]) == ("REJECT", "expiry")
    # The prediction agrees with the served Lambda's own check.
    lambda_ = boto3.session.Session(region_name=REGION).client("lambda", endpoint_url=served.url)
    iam = boto3.session.Session(region_name=REGION).client("iam", endpoint_url=served.url)
    role = iam.create_role(RoleName=f"fn-{tag}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name, code in (("good", obj(good)), ("plain", {"S3Bucket": bucket, "S3Key": "plain.zip"})):
        try:
            lambda_.create_function(
                FunctionName=f"{name}-{tag}",
                Runtime="python3.12",
                Handler="app.h",
                Role=role,
                Code=code,
                CodeSigningConfigArn=csc,
            )
            outcome = "deployed"
        except lambda_.exceptions.ClientError as error:
            outcome = error.response["Error"]["Code"]
        assert outcome == ("deployed" if name == "good" else "CodeVerificationFailedException")


def test_the_lookups_every_object_shares_are_asked_once_per_check(
    served: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Many S3 objects signed by one profile, and as many unsigned: GetSigningProfile (each
    signed object's revocation record) and ListSigningJobs (searched for each object no
    signature decides) are asked once per check, though the objects are read 16 at a time;
    each object's own reads stay its own; the next check asks again (a revocation made
    between two checks is seen by the second)."""
    backend, s3, _, bucket, now, profile, arn, csc = _account(served.url, "lookups", "shared")
    objects = 6
    resources: dict[str, Any] = {}
    for index in range(objects):
        source = tmp_path / f"s{index}.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", f"def h(e, c):\n    return {index}\n")
        source.write_bytes(buffer.getvalue())
        job = backend.sign_package(source, f"s3://{bucket}/signed", profile, now=now, prefix="s_")
        signed = S3Object.from_location(job["signedObject"])
        s3.put_object(Bucket=bucket, Key=f"plain/{index}.zip", Body=buffer.getvalue())
        for name, code in (
            (
                f"Signed{index}",
                {"S3Bucket": bucket, "S3Key": signed.key, "S3ObjectVersion": signed.version},
            ),
            (f"Plain{index}", {"S3Bucket": bucket, "S3Key": f"plain/{index}.zip"}),
        ):
            resources[name] = _function(code, csc)
    template = tmp_path / "template.json"
    template.write_text(json.dumps({"Resources": resources}))

    calls: Counter[str] = Counter()

    def check() -> dict[str, str]:
        with api_calls() as counted:
            status = main(["--backend", "aws", "check", str(template), "--output", "json"])
        calls.clear()
        calls.update(counted)
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        assert status in (0, 1)
        return {f["logical_id"]: f["standing"] for f in json.loads(out)["findings"]}

    standings = check()
    assert {standings[f"Signed{i}"] for i in range(objects)} == {"ALLOW"}
    assert {standings[f"Plain{i}"] for i in range(objects)} == {"UNKNOWN"}
    assert calls["signer:GetSigningProfile"] == 1  # was one per signed object
    assert calls["signer:ListSigningJobs"] == 1  # was one per unsigned object
    assert calls["signer:DescribeSigningJob"] == objects  # each object's own job
    assert calls["s3:GetObject"] == 2 * objects

    # Not kept past the check: the next one asks again, and sees the profile revoked.
    version = arn.rsplit("/", 1)[1]
    backend.revoke_signing_profile(
        profile, version, "compromised", now - timedelta(minutes=1), now=utcnow()
    )
    standings = check()
    assert {standings[f"Signed{i}"] for i in range(objects)} == {"REJECT"}
    assert (calls["signer:GetSigningProfile"], calls["signer:ListSigningJobs"]) == (1, 1)


def test_a_joined_publisher_resolves_with_the_caller_account_and_region(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config of the template whose publisher is ``Fn::Join``ed from the pseudo
    parameters (as CDK writes one): on aws they are the caller's account (STS) and the
    region, so the right ARN allows the profile's signature and CDK's double slash, which
    is no profile version ARN, matches none."""
    backend = AwsBackend(REGION, endpoint_url=served.url, job_delay=0.05)
    s3 = boto3.session.Session(region_name=REGION).client("s3", endpoint_url=served.url)
    tag = str(time.monotonic_ns() % 10**10)
    bucket = f"joined-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    now = utcnow()
    profile = f"admin_{tag}"
    arn = backend.put_signing_profile(profile, now=now)["profileVersionArn"]
    version = arn.rsplit("/", 1)[1]
    source = tmp_path / "app.zip"
    source.write_bytes(_zip())
    found = S3Object.from_location(
        backend.sign_package(source, f"s3://{bucket}/signed", profile, now=now)["signedObject"]
    )

    def verdict(separator: str) -> dict[str, Any]:
        joined = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":signer:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    f"{separator}signing-profiles/{profile}/{version}",
                ],
            ]
        }
        template = tmp_path / "template.json"
        template.write_text(
            json.dumps(
                {
                    "Resources": {
                        "Csc": {
                            "Type": "AWS::Lambda::CodeSigningConfig",
                            "Properties": {
                                "AllowedPublishers": {"SigningProfileVersionArns": [joined]},
                                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
                            },
                        },
                        "Fn": {
                            "Type": "AWS::Lambda::Function",
                            "Properties": {
                                "Code": {
                                    "S3Bucket": found.bucket,
                                    "S3Key": found.key,
                                    "S3ObjectVersion": found.version,
                                },
                                "Handler": "app.h",
                                "Role": "r",
                                "Runtime": "python3.12",
                                "CodeSigningConfigArn": {"Ref": "Csc"},
                            },
                        },
                    }
                }
            )
        )
        main(["--backend", "aws", "check", str(template), "--output", "json"])
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        finding: dict[str, Any] = json.loads(out)["findings"][0]
        return finding

    assert verdict(":/")["standing"] == "ALLOW"
    rejected = verdict("://")
    assert (rejected["standing"], rejected["check"]) == ("REJECT", "mismatch")
    account = arn.split(":")[4]
    assert (
        f"the config's publisher arn:aws:signer:{REGION}:{account}://signing-profiles/"
        f"{profile}/{version} is not a signing profile version ARN" in rejected["message"]
    )
    assert f"e.g. {arn})" in rejected["remedy"]
