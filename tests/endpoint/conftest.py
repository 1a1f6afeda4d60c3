"""A real ``sam-ext serve`` process per test module, and clients for it.

The server is started as users start it (``sam-ext serve --port 0 --home DIR``); its
``listening on`` line gives the address. Clients are plain boto3 with fake credentials
and ``endpoint_url``: the real serializers and parsers, nothing stubbed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from fake_aws import fake_aws_environment, fixed_zip

from .serving import REPO, Server, module_server, start_server

REGION = "us-east-1"
#: moto's default account: what fake credentials map to.
ACCOUNT = "123456789012"
#: Re-exported: the test modules import the server helpers from here.
__all__ = ["REPO", "Server", "start_server"]


def client_config() -> Config:
    """No retries (a test sees the first answer) and short timeouts."""
    return Config(
        retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60
    )


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no host AWS configuration."""
    fake_aws_environment(monkeypatch, tmp_path, REGION, also_remove=("MOTO_ACCOUNT_ID",))


#: One server per test module (tests use their own names, so they do not collide).
server = module_server("serve-home")


@dataclass
class Clients:
    """boto3 clients for one server and one set of credentials."""

    url: str
    session: boto3.session.Session

    def __call__(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.url, config=client_config())


def clients_for(
    url: str, access_key: str = "testing", secret: str = "testing", token: str | None = None
) -> Clients:
    """Clients with these credentials (moto maps the access key to an account)."""
    return Clients(
        url,
        boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=REGION,
        ),
    )


@pytest.fixture
def aws(server: Server) -> Clients:
    """``aws("signer")`` etc.: clients for the module's server, moto's default account."""
    return clients_for(server.url)


def package_bytes(files: dict[str, bytes] | None = None) -> bytes:
    """A small Lambda .zip."""
    return fixed_zip({"app.py": b"def handler(e, c):\n    return 1\n"} if files is None else files)


def unique(prefix: str) -> str:
    """A name no other test of the module uses."""
    return f"{prefix}{time.monotonic_ns() % 10**12}"


def versioned_bucket(s3: Any, name: str | None = None) -> str:
    """A new versioned bucket."""
    bucket = name or unique("bucket-")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def upload(s3: Any, bucket: str, key: str, data: bytes) -> str:
    """Put an object; returns its version id."""
    return str(s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"])


def sign(
    aws: Clients, profile: str, bucket: str, key: str, data: bytes | None = None, **extra: Any
) -> dict[str, Any]:
    """Upload ``data``, sign it with ``profile``, wait, return DescribeSigningJob."""
    s3, signer = aws("s3"), aws("signer")
    version = upload(s3, bucket, key, package_bytes() if data is None else data)
    job = signer.start_signing_job(
        source={"s3": {"bucketName": bucket, "key": key, "version": version}},
        destination={"s3": {"bucketName": bucket, "prefix": "signed/"}},
        profileName=profile,
        clientRequestToken=unique("token-"),
        **extra,
    )
    signer.get_waiter("successful_signing_job").wait(
        jobId=job["jobId"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    return dict(signer.describe_signing_job(jobId=job["jobId"]))


@pytest.fixture
def role(aws: Clients) -> str:
    """An IAM role moto's Lambda accepts."""
    iam = aws("iam")
    name = unique("role-")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"])


def error_code(call: Callable[[], Any]) -> tuple[str, str, int]:
    """``(code, message, HTTP status)`` of the ClientError ``call`` raises."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return (
        error["Code"],
        error.get("Message", ""),
        caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )
