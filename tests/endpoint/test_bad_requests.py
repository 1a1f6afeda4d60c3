"""A catalogue of bad requests: each gets the error code the real service gives (or the
closest), naming the field at fault, and changes nothing the server holds."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from .conftest import (
    REPO,
    Server,
    clients_for,
    error_code,
    package_bytes,
    unique,
    upload,
    versioned_bucket,
)
from .test_serve_command import raw_request

PLATFORM = "AWSLambda-SHA384-ECDSA"


class Fixture:
    """What the cases act on: an active and a canceled profile, buckets, a package."""

    def __init__(self, server: Server) -> None:
        self.server = server
        aws = clients_for(server.url)
        loose = Config(parameter_validation=False, retries={"max_attempts": 1})
        self.signer = aws.session.client("signer", endpoint_url=server.url, config=loose)
        self.lambda_ = aws.session.client("lambda", endpoint_url=server.url, config=loose)
        self.s3 = aws("s3")
        self.profile = unique("active_")
        self.arn = self.signer.put_signing_profile(profileName=self.profile, platformId=PLATFORM)[
            "profileVersionArn"
        ]
        self.canceled = unique("canceled_")
        self.signer.put_signing_profile(profileName=self.canceled, platformId=PLATFORM)
        self.signer.cancel_signing_profile(profileName=self.canceled)
        self.bucket = versioned_bucket(self.s3)
        self.version = upload(self.s3, self.bucket, "app.zip", package_bytes())
        self.plain = unique("plain-")
        self.s3.create_bucket(Bucket=self.plain)
        self.plain_version = "null"
        self.s3.put_object(Bucket=self.plain, Key="app.zip", Body=package_bytes())

    def job(self, **changes: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "source": {
                "s3": {"bucketName": self.bucket, "key": "app.zip", "version": self.version}
            },
            "destination": {"s3": {"bucketName": self.bucket, "prefix": "signed/"}},
            "profileName": self.profile,
            "clientRequestToken": unique("t"),
        }
        request.update(changes)
        return request

    def snapshot(self) -> Any:
        profiles = self.signer.list_signing_profiles(includeCanceled=True)["profiles"]
        return (
            sorted((p["profileName"], p["status"]) for p in profiles),
            sorted(j["jobId"] for j in self.signer.list_signing_jobs()["jobs"]),
            sorted(
                c["CodeSigningConfigArn"]
                for c in self.lambda_.list_code_signing_configs()["CodeSigningConfigs"]
            ),
            self.signer.list_profile_permissions(profileName=self.profile).get("permissions"),
        )


@pytest.fixture(scope="module")
def world(server: Server) -> Fixture:
    return Fixture(server)


def raw(method: str, path: str, service: str, body: bytes = b"") -> Callable[[Fixture], Any]:
    def send(w: Fixture) -> tuple[str, str, int]:
        status, headers, payload = raw_request(
            w.server, method, path, service, body, {"Content-Type": "application/json"}
        )
        document = json.loads(payload)
        return headers.get("x-amzn-ErrorType", document.get("__type")), document["message"], status

    return send


def call(make: Callable[[Fixture], Callable[[], Any]]) -> Callable[[Fixture], Any]:
    return lambda w: error_code(make(w))


def csc(publishers: list[str] | None = None, **extra: Any) -> Callable[[Fixture], Any]:
    return call(
        lambda w: (
            lambda: w.lambda_.create_code_signing_config(
                AllowedPublishers={"SigningProfileVersionArns": publishers or [w.arn]}, **extra
            )
        )
    )


CASES: dict[str, tuple[Callable[[Fixture], Any], str, str]] = {
    # name: (request, expected code, text the message must contain)
    "unknown Signer operation": (
        raw("GET", "/signing-profilez", "signer"),
        "UnknownOperationException",
        "GET /signing-profilez",
    ),
    "malformed JSON": (
        raw("PUT", "/signing-profiles/abc_def", "signer", b"{not json"),
        "SerializationException",
        "not valid JSON",
    ),
    "body not an object": (
        raw("PUT", "/signing-profiles/abc_def", "signer", b"[1]"),
        "SerializationException",
        "JSON object",
    ),
    "missing required field": (
        call(lambda w: lambda: w.signer.put_signing_profile(profileName=unique("p_"))),
        "ValidationException",
        "platformId",
    ),
    "wrong type (string for integer)": (
        call(
            lambda w: (
                lambda: w.signer.put_signing_profile(
                    profileName=unique("p_"),
                    platformId=PLATFORM,
                    signatureValidityPeriod={"value": "ten", "type": "DAYS"},
                )
            )
        ),
        "ValidationException",
        "signatureValidityPeriod.value",
    ),
    "bad enum value": (
        call(
            lambda w: (
                lambda: w.signer.put_signing_profile(
                    profileName=unique("p_"),
                    platformId=PLATFORM,
                    signatureValidityPeriod={"value": 3, "type": "WEEKS"},
                )
            )
        ),
        "ValidationException",
        "signatureValidityPeriod.type",
    ),
    "profile name too short": (
        call(lambda w: lambda: w.signer.put_signing_profile(profileName="a", platformId=PLATFORM)),
        "ValidationException",
        "profileName",
    ),
    "platform not for Lambda": (
        call(
            lambda w: (
                lambda: w.signer.put_signing_profile(
                    profileName=unique("p_"), platformId="Notation-OCI-SHA384-ECDSA"
                )
            )
        ),
        "ValidationException",
        "platformId",
    ),
    "validity beyond 135 months": (
        call(
            lambda w: (
                lambda: w.signer.put_signing_profile(
                    profileName=unique("p_"),
                    platformId=PLATFORM,
                    signatureValidityPeriod={"value": 12, "type": "YEARS"},
                )
            )
        ),
        "ValidationException",
        "135",
    ),
    "unversioned bucket": (
        call(
            lambda w: (
                lambda: w.signer.start_signing_job(
                    **w.job(
                        source={"s3": {"bucketName": w.plain, "key": "app.zip", "version": "null"}}
                    )
                )
            )
        ),
        "ValidationException",
        "source.s3.bucketName",
    ),
    "missing source object": (
        call(
            lambda w: (
                lambda: w.signer.start_signing_job(
                    **w.job(
                        source={"s3": {"bucketName": w.bucket, "key": "nope.zip", "version": "v1"}}
                    )
                )
            )
        ),
        "ResourceNotFoundException",
        "source.s3",
    ),
    "missing source bucket": (
        call(
            lambda w: (
                lambda: w.signer.start_signing_job(
                    **w.job(
                        source={
                            "s3": {"bucketName": "no-such-bucket-x", "key": "a.zip", "version": "v"}
                        }
                    )
                )
            )
        ),
        "ValidationException",
        "no-such-bucket-x",
    ),
    "missing destination bucket": (
        call(
            lambda w: (
                lambda: w.signer.start_signing_job(
                    **w.job(destination={"s3": {"bucketName": "no-such-bucket-y"}})
                )
            )
        ),
        "ValidationException",
        "destination.s3.bucketName",
    ),
    "job for a canceled profile": (
        call(lambda w: lambda: w.signer.start_signing_job(**w.job(profileName=w.canceled))),
        "ValidationException",
        "Canceled",
    ),
    "job for an unknown profile": (
        call(lambda w: lambda: w.signer.start_signing_job(**w.job(profileName="nobody_here"))),
        "ResourceNotFoundException",
        "nobody_here",
    ),
    "unknown job": (
        call(
            lambda w: (
                lambda: w.signer.describe_signing_job(jobId="00000000-0000-0000-0000-000000000000")
            )
        ),
        "ResourceNotFoundException",
        "job",
    ),
    "revocation reason too long": (
        call(
            lambda w: (
                lambda: w.signer.revoke_signing_profile(
                    profileName=w.profile,
                    profileVersion=w.arn.rsplit("/", 1)[1],
                    reason="x" * 501,
                    effectiveTime=datetime.now(UTC),
                )
            )
        ),
        "ValidationException",
        "reason",
    ),
    "revocation in the future": (
        call(
            lambda w: (
                lambda: w.signer.revoke_signing_profile(
                    profileName=w.profile,
                    profileVersion=w.arn.rsplit("/", 1)[1],
                    reason="r",
                    effectiveTime=datetime.now(UTC) + timedelta(days=1),
                )
            )
        ),
        "ValidationException",
        "effectiveTime",
    ),
    "bad permission action": (
        call(
            lambda w: (
                lambda: w.signer.add_profile_permission(
                    profileName=w.profile,
                    action="signer:Everything",
                    principal="111122223333",
                    statementId="s",
                )
            )
        ),
        "ValidationException",
        "action",
    ),
    "not an integer in the query": (
        call(lambda w: lambda: w.signer.list_signing_jobs(maxResults="many")),
        "ValidationException",
        "maxResults",
    ),
    "a CSC with 21 publishers": (
        lambda w: csc([w.arn] * 21)(w),
        "ValidationException",
        "at 'allowedPublishers.signingProfileVersionArns'",
    ),
    "a CSC with no publisher": (
        lambda w: error_code(
            lambda: w.lambda_.create_code_signing_config(
                AllowedPublishers={"SigningProfileVersionArns": []}
            )
        ),
        "ValidationException",
        "at 'allowedPublishers.signingProfileVersionArns'",
    ),
    # Lambda takes any ARN of its shape ``Arn`` (arn:aws:s3:::bucket too: it matches no
    # signature), not one whose region is no region
    "a CSC publisher that is not an ARN Lambda takes": (
        csc(["arn:aws:signer:mars-1:123456789012:/signing-profiles/p/AbCdE00001"]),
        "ValidationException",
        "Value '[arn:aws:signer:mars-1:123456789012:/signing-profiles/p/AbCdE00001]' at "
        "'allowedPublishers.signingProfileVersionArns'",
    ),
    "a CSC policy not Warn or Enforce": (
        lambda w: csc(CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Block"})(w),
        "ValidationException",
        "at 'codeSigningPolicies.untrustedArtifactOnDeployment'",
    ),
    "a CSC description of 257 characters": (
        lambda w: csc(Description="d" * 257)(w),
        "ValidationException",
        "at 'description'",
    ),
    "an unknown CSC": (
        call(
            lambda w: (
                lambda: w.lambda_.get_code_signing_config(
                    CodeSigningConfigArn="arn:aws:lambda:us-east-1:123456789012:code-signing-config:"
                    "csc-0123456789abcdef0"
                )
            )
        ),
        "CodeSigningConfigNotFoundException",
        "csc-0123456789abcdef0",
    ),
    "a CSC for an unknown function": (
        call(
            lambda w: (
                lambda: w.lambda_.put_function_code_signing_config(
                    FunctionName="no-such-function",
                    CodeSigningConfigArn=w.lambda_.create_code_signing_config(
                        AllowedPublishers={"SigningProfileVersionArns": [w.arn]}
                    )["CodeSigningConfig"]["CodeSigningConfigArn"],
                )
            )
        ),
        "ResourceNotFoundException",
        "no-such-function",
    ),
    "malformed JSON to Lambda": (
        raw("POST", "/2020-04-22/code-signing-configs", "lambda", b'{"AllowedPublishers": '),
        "InvalidRequestContentException",  # Lambda's code for a body it cannot parse
        "JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_request_gets_the_services_error_and_changes_nothing(
    world: Fixture, case: str
) -> None:
    send, expected, text = CASES[case]
    before = world.snapshot()
    code, message, status = send(world)
    assert code == expected, message
    assert text in message
    assert 400 <= status < 500
    after = world.snapshot()
    if case == "a CSC for an unknown function":  # its setup creates one CSC, on purpose
        assert after[:2] == before[:2] and after[3] == before[3]
        assert len(after[2]) == len(before[2]) + 1
    else:
        assert after == before


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


OVERSIZED = r"""
import json, sys
from pathlib import Path
from werkzeug.test import Client
import provider.endpoint.signer_api as signer_api
from provider.endpoint.app import EndpointApp
from provider.endpoint.state import EndpointState
sys.path.insert(0, "tests")
from endpoint.conftest import package_bytes

signer_api.MAX_SOURCE_BYTES = 1000
app = EndpointApp(EndpointState(Path(sys.argv[1])))
client = Client(app)
def auth(service):
    return {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260601/us-east-1/"
            f"{service}/aws4_request, SignedHeaders=host, Signature=0"}
client.put("/big", headers=auth("s3"))
client.put("/big?versioning", headers=auth("s3"),
           data=b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
put = client.put("/big/big.zip", headers=auth("s3"),
                 data=package_bytes({"big.bin": bytes(range(256)) * 40}))
client.put("/signing-profiles/big_one", headers=auth("signer"),
           json={"platformId": "AWSLambda-SHA384-ECDSA"})
answer = client.post("/signing-jobs", headers=auth("signer"), json={
    "source": {"s3": {"bucketName": "big", "key": "big.zip",
                      "version": put.headers["x-amz-version-id"]}},
    "destination": {"s3": {"bucketName": "big"}}, "profileName": "big_one",
    "clientRequestToken": "t1"})
jobs = client.get("/signing-jobs", headers=auth("signer")).get_json()
app.close()
print(json.dumps({"status": answer.status_code, "code": answer.headers["x-amzn-ErrorType"],
                  "message": answer.get_json()["message"], "jobs": jobs["jobs"]}))
"""


def test_an_oversized_source_is_refused_before_any_job(tmp_path: Path) -> None:
    """Lambda's 250 MB limit, checked on the same WSGI app with a limit of 1000 bytes
    rather than a quarter-gigabyte upload (in a child process: the app hooks moto, which
    this test process shares with the moto-based tests)."""
    result = subprocess.run(
        [sys.executable, "-c", OVERSIZED, str(tmp_path / "home")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert (answer["status"], answer["code"]) == (400, "ValidationException")
    assert "at most 1000 bytes" in answer["message"]
    assert answer["jobs"] == []
