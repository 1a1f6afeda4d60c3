"""Where users wait (issue 20, section 5): ``sam-ext --backend aws package`` against a
``sam-ext serve`` process signs many packages at once by default, and when Signer answers
``ThrottlingException`` it backs off (botocore's adaptive retry mode: retries, and a
client-side rate limiter that every later request then waits on) and still signs them all.
The throttling answers are real HTTP error responses given to botocore before the request
leaves (the served Signer has no quotas of its own); everything else is served."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.retries import bucket
from endpoint.serving import Server, module_server

from provider.backends.aws import session as aws_session
from sam_ext.cli import main

from .conftest import REGION, inject_errors

FUNCTIONS = 12


server = module_server("served-home")


class App:
    """A template of FUNCTIONS functions, a versioned bucket and a profile on the server."""

    def __init__(self, server: Server, root: Path) -> None:
        self.tag = str(time.monotonic_ns() % 10**10)
        session = boto3.session.Session(region_name=REGION)
        self.s3 = session.client("s3", endpoint_url=server.url)
        self.signer = session.client("signer", endpoint_url=server.url)
        self.bucket = f"rate-{self.tag}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        self.profile = f"rate_{self.tag}"
        self.signer.put_signing_profile(
            profileName=self.profile, platformId="AWSLambda-SHA384-ECDSA"
        )
        self.root = root
        resources = []
        for index in range(FUNCTIONS):
            source = root / f"fn{index:02d}"
            source.mkdir(parents=True)
            (source / "app.py").write_text(f"def handler(event, context):\n    return {index}\n")
            resources.append(
                f"  Fn{index:02d}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                f"      CodeUri: fn{index:02d}/\n      Handler: app.handler\n"
                "      Runtime: python3.12\n"
            )
        (root / "template.yaml").write_text(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n" + "".join(resources)
        )

    def package(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
        profiles = " ".join(f"Fn{i:02d}={self.profile}" for i in range(FUNCTIONS))
        status = main(
            [
                "--backend", "aws", "package", "-t", str(self.root / "template.yaml"),
                "--s3-bucket", self.bucket, "--signing-profiles", profiles,
                "--output-template-file", str(self.root / "packaged.yaml"), *extra,
            ]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert "Traceback" not in err and "internal error" not in err, err
        return status, err

    def jobs(self) -> list[dict[str, Any]]:
        jobs = self.signer.list_signing_jobs()["jobs"]
        return [j for j in jobs if j["profileName"] == self.profile]


@pytest.fixture
def app(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    return App(server, tmp_path / "app")


@pytest.fixture
def signer_hooks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each Signer client the CLI opens, to hook before its requests are sent."""
    opened: list[Any] = []
    real = aws_session.open_clients

    def open_clients(**options: Any) -> Any:
        clients = real(**options)
        opened.append(clients.signer)
        for hook in hooks:
            hook(clients.signer)
        return clients

    hooks: list[Any] = []
    monkeypatch.setattr(aws_session, "open_clients", open_clients)
    import provider.backends.aws as aws_package

    monkeypatch.setattr(aws_package, "open_clients", open_clients)
    return hooks


def test_the_default_signs_many_packages_at_once(
    app: App, signer_hooks: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Every StartSigningJob waits until FUNCTIONS of them are in flight together: with the
    # old default (4 at a time) the barrier would break instead.
    together = threading.Barrier(FUNCTIONS, timeout=60)
    broken: list[str] = []

    def wait_for_the_others(**_: Any) -> None:
        try:
            together.wait()
        except threading.BrokenBarrierError:
            broken.append(threading.current_thread().name)

    signer_hooks.append(
        lambda client: client.meta.events.register(
            "before-send.signer.StartSigningJob", wait_for_the_others
        )
    )
    status, err = app.package(capsys)
    assert status == 0, err
    assert broken == [], f"the {FUNCTIONS} signing jobs were not all in flight at once"
    assert len(app.jobs()) == FUNCTIONS
    assert all(j["status"] == "Succeeded" for j in app.jobs())


def test_throttling_is_backed_off_and_every_package_is_signed(
    app: App, signer_hooks: list[Any], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    throttled = 6
    attempts: list[list[str]] = []
    answer = json.dumps({"message": "Rate exceeded"}).encode()
    errors = [(429, answer, {"x-amzn-ErrorType": "ThrottlingException"})] * throttled
    signer_hooks.append(
        lambda client: attempts.append(inject_errors(client, "StartSigningJob", errors))
    )
    # The adaptive mode's rate limiter: count the requests that had to take a send token
    # (it paces nothing until a throttling answer), without sleeping for them.
    waited: list[int] = []
    monkeypatch.setattr(
        bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: waited.append(1) or True
    )
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)

    status, err = app.package(capsys)
    assert status == 0, err
    [sent] = attempts
    assert len(sent) == FUNCTIONS + throttled  # each throttled start was tried again
    jobs = app.jobs()
    assert len(jobs) == FUNCTIONS and all(j["status"] == "Succeeded" for j in jobs)
    assert waited, "no request waited on the client-side rate limiter after throttling"
    packaged = (app.root / "packaged.yaml").read_text()
    assert packaged.count(f"s3://{app.bucket}/signed_") == FUNCTIONS
