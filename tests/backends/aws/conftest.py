"""The aws backend against moto (S3, Lambda functions, Signer profiles) and botocore's
Stubber (the calls moto lacks: signing jobs, revocations, code signing configs).

Nothing here reaches AWS: fake credentials, no config files, and every client is either
inside ``mock_aws`` or stubbed. Stubbed requests are checked by botocore against the
services' models, and stubbed responses by Stubber (or :func:`validated` for the stateful
fake Signer) against the same models.
"""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import threading
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from fake_aws import fake_aws_environment, fixed_zip
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse
from moto.server import ThreadedMotoServer

from provider.backends.aws import AwsBackend, AwsClients, S3Object
from provider.clock import add_months

REGION = "us-east-1"
#: moto's account.
ACCOUNT = "123456789012"
BUCKET = "codesign-artifacts"
#: An instant for input checks; AWS (and the fakes) stamp their own times.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials in us-east-1, and nothing of the host's AWS configuration."""
    fake_aws_environment(monkeypatch, tmp_path, REGION, also_remove=("CODESIGN_REGION",))


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on a loopback port, named by AWS_ENDPOINT_URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto's backends live in this process, shared by every server and mock_aws: start
    # from nothing, as a fresh endpoint would.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def moto() -> Iterator[None]:
    """moto's in-process AWS for the duration of the test."""
    with mock_aws():
        yield


#: The instant ``aws_cli`` pins by default.
CLI_NOW = "2026-06-01T12:00:00Z"


def aws_cli(
    capsys: pytest.CaptureFixture[str], *args: str, status: int = 0, now: str | None = CLI_NOW
) -> tuple[str, str]:
    """Run ``sam-ext --backend aws [--now NOW] ARGS`` in-process; checks the exit status
    and that no traceback or "internal error" reached stderr; returns stdout and stderr."""
    from sam_ext.cli import main

    code = main(["--backend", "aws", *(("--now", now) if now else ()), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == status, f"exit {code}, expected {status}\nstdout: {out}\nstderr: {err}"
    return out, err


def package_app(capsys: pytest.CaptureFixture[str], arn: str, profiles: str, *extra: str) -> str:
    """``sam-ext --backend aws package`` of the working directory's template into
    s3://BUCKET/app, signing with ``profiles`` (``--signing-profiles``), the template's
    ``TrustedProfileVersionArn`` parameter set to ``arn``; writes packaged.yaml and returns
    stderr (the summary table)."""
    return aws_cli(
        capsys,
        "package",
        "--s3-bucket",
        BUCKET,
        "--s3-prefix",
        "app",
        "--signing-profiles",
        profiles,
        "--parameter-overrides",
        f"TrustedProfileVersionArn={arn}",
        "--output-template-file",
        "packaged.yaml",
        *extra,
    )[1]


def assert_cfn_lint_accepts(*templates: Path) -> None:
    """One cfn-lint process (of this virtualenv) for ``templates``: it finds nothing."""
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def package_bytes(files: dict[str, bytes] | None = None) -> bytes:
    """A small Lambda .zip (members dated 1980, so the same files give the same bytes)."""
    return fixed_zip({"app.py": b"def handler(e, c):\n    return 1\n"} if files is None else files)


@pytest.fixture
def package(tmp_path: Path) -> Callable[..., Path]:
    """``package(name="app.zip", files=None)`` writes a .zip into ``tmp_path``."""

    def make(name: str = "app.zip", files: dict[str, bytes] | None = None) -> Path:
        path = tmp_path / "packages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(package_bytes(files))
        return path

    return make


_SESSION: list[boto3.session.Session] = []


def session() -> boto3.session.Session:
    """One boto3 session for the whole run: its loader caches the service models, which
    boto3's default session (reset by every ``mock_aws``) would load again per test."""
    if not _SESSION:
        _SESSION.append(boto3.session.Session(region_name=REGION))
    return _SESSION[0]


@pytest.fixture
def s3(moto: None) -> Any:
    """A moto S3 client with a versioned bucket :data:`BUCKET`."""
    client = session().client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


@pytest.fixture
def role(moto: None) -> str:
    """An IAM role ARN moto's Lambda accepts."""
    iam = session().client("iam")
    return str(
        iam.create_role(RoleName="codesign-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    )


class PartialStubber(Stubber):
    """botocore's Stubber for the named operations only; the client's other calls go on
    to moto. Requests of stubbed calls are recorded in :attr:`calls`."""

    def __init__(self, client: Any, operations: Iterable[str]) -> None:
        super().__init__(client)
        mapping = client.meta.method_to_api_mapping
        self.operations = {mapping.get(name, name) for name in operations}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _get_response_handler(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        if model.name not in self.operations:
            return None
        return super()._get_response_handler(model, params, context, **kwargs)

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        if model.name not in self.operations:
            return None
        self.calls.append((model.name, copy.deepcopy(params)))
        return super()._assert_expected_params(model, params, context, **kwargs)

    def requests(self, operation: str) -> list[dict[str, Any]]:
        """The parameters of every recorded call of ``operation`` (API name)."""
        return [params for name, params in self.calls if name == operation]


def signed_bytes(source: bytes, job_id: str) -> bytes:
    """What the fakes write as a signed package: the source plus a marker member (AWS's
    real format is not documented; only the bytes differing from the source matters)."""
    buffer = io.BytesIO(source)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(".signature/aws-signer", f"job {job_id}".encode())
    return buffer.getvalue()


def write_signed_object(s3: Any, params: dict[str, Any], job_id: str) -> str:
    """Do what Signer does when a job succeeds: write ``prefix + jobId + ".zip"``."""
    source = params["source"]["s3"]
    body = s3.get_object(
        Bucket=source["bucketName"], Key=source["key"], VersionId=source["version"]
    )["Body"].read()
    destination = params["destination"]["s3"]
    key = f"{destination.get('prefix', '')}{job_id}.zip"
    s3.put_object(Bucket=destination["bucketName"], Key=key, Body=signed_bytes(body, job_id))
    return key


def job_response(
    job_id: str,
    status: str,
    *,
    profile_name: str = "publisher",
    profile_version: str = "a1b2c3d4e5",
    key: str | None = None,
    created: datetime = NOW,
    expires: datetime | None = None,
    reason: str | None = None,
    revoked: str | None = None,
    owner: str = ACCOUNT,
) -> dict[str, Any]:
    """A DescribeSigningJob response with every field a real one has."""
    response: dict[str, Any] = {
        "jobId": job_id,
        "source": {"s3": {"bucketName": BUCKET, "key": "app/unsigned.zip", "version": "v1"}},
        "signingMaterial": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
        "platformId": "AWSLambda-SHA384-ECDSA",
        "platformDisplayName": "AWS Lambda",
        "profileName": profile_name,
        "profileVersion": profile_version,
        "createdAt": created,
        "requestedBy": f"arn:aws:iam::{owner}:user/ci",
        "status": status,
        "jobOwner": owner,
        "jobInvoker": ACCOUNT,
    }
    if status != "InProgress":
        response["completedAt"] = created
    if status == "Succeeded":
        response["signatureExpiresAt"] = expires or add_months(created, 135)
        response["signedObject"] = {
            "s3": {"bucketName": BUCKET, "key": key or f"app/signed_{job_id}.zip"}
        }
    if reason is not None:
        response["statusReason"] = reason
    if revoked is not None:
        response["revocationRecord"] = {
            "reason": revoked,
            "revokedAt": created,
            "revokedBy": f"arn:aws:iam::{ACCOUNT}:user/security",
        }
    return response


def validated(client: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """``response``, checked against the operation's output shape (as Stubber checks)."""
    shape = client.meta.service_model.operation_model(operation).output_shape
    validate_parameters(response, shape)
    return response


@dataclass
class FakeJob:
    """A signing job of :class:`FakeSigner`."""

    response: dict[str, Any]
    polls_left: int


@dataclass
class FakeSigner:
    """AWS Signer's signing jobs with state, for flows and concurrency (where Stubber's
    ordered queue cannot follow): StartSigningJob is idempotent per client request token,
    reads the source version from (moto) S3, fails jobs for sources that are not
    non-empty zips, and writes ``prefix + jobId + ".zip"``; DescribeSigningJob reports
    ``InProgress`` for ``in_progress_polls`` polls. Requests are validated by botocore,
    responses by :func:`validated`; every other Signer call goes on to moto."""

    client: Any
    s3: Any
    in_progress_polls: int = 1
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _params: threading.local = field(default_factory=threading.local)

    OPERATIONS = frozenset({"StartSigningJob", "DescribeSigningJob", "RevokeSignature"})

    def __post_init__(self) -> None:
        self.client.meta.events.register_first("before-parameter-build.signer", self._capture)
        self.client.meta.events.register("before-call.signer", self._answer)

    def _capture(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in self.OPERATIONS:
            self._params.value = copy.deepcopy(params)

    @staticmethod
    def _error(code: str, message: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse(None, status, {}, None), {  # type: ignore[arg-type]
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    def _answer(self, model: Any, **_: Any) -> Any:
        if model.name not in self.OPERATIONS:
            return None
        params = self._params.value
        with self.lock:
            if model.name == "StartSigningJob":
                return self._start(params)
            job = self.jobs.get(params["jobId"])
            if job is None:
                return self._error(
                    "ResourceNotFoundException", f"job {params['jobId']} not found", 404
                )
            if model.name == "RevokeSignature":
                job.response["revocationRecord"] = {
                    "reason": params["reason"],
                    "revokedAt": datetime.now(UTC),
                    "revokedBy": f"arn:aws:iam::{ACCOUNT}:user/security",
                }
                return AWSResponse(None, 200, {}, None), {}  # type: ignore[arg-type]
            response = copy.deepcopy(job.response)
            if job.polls_left > 0:
                job.polls_left -= 1
                response["status"] = "InProgress"
                for name in ("completedAt", "signatureExpiresAt", "signedObject", "statusReason"):
                    response.pop(name, None)
            return AWSResponse(None, 200, {}, None), validated(  # type: ignore[arg-type]
                self.client, "DescribeSigningJob", response
            )

    def _start(self, params: dict[str, Any]) -> Any:
        token = params["clientRequestToken"]
        if token in self.tokens:
            job_id = self.tokens[token]
            owner = self.jobs[job_id].response["jobOwner"]
            return AWSResponse(None, 200, {}, None), validated(  # type: ignore[arg-type]
                self.client, "StartSigningJob", {"jobId": job_id, "jobOwner": owner}
            )
        # The profile is moto's (put_signing_profile works there).
        profile = self.client.get_signing_profile(profileName=params["profileName"])
        if profile["status"] != "Active":
            return self._error(
                "ValidationException", f"profile {params['profileName']} is not Active", 400
            )
        job_id = str(uuid.uuid4())
        self.started += 1
        now = datetime.now(UTC)
        source = params["source"]["s3"]
        response = {
            "jobId": job_id,
            "source": {"s3": dict(source)},
            "platformId": profile["platformId"],
            "platformDisplayName": "AWS Lambda",
            "profileName": params["profileName"],
            "profileVersion": profile["profileVersion"],
            "createdAt": now,
            "completedAt": now,
            "requestedBy": f"arn:aws:iam::{ACCOUNT}:user/ci",
            "status": "Succeeded",
            "jobOwner": params.get("profileOwner", ACCOUNT),
            "jobInvoker": ACCOUNT,
        }
        body = self.s3.get_object(
            Bucket=source["bucketName"], Key=source["key"], VersionId=source["version"]
        )["Body"].read()
        reason = self._invalid(body)
        if reason is not None:
            response.update(status="Failed", statusReason=reason)
        else:
            period = profile["signatureValidityPeriod"]
            months = period["value"] * (12 if period["type"] == "YEARS" else 1)
            response["signatureExpiresAt"] = add_months(now, months)
            key = write_signed_object(self.s3, params, job_id)
            response["signedObject"] = {
                "s3": {"bucketName": params["destination"]["s3"]["bucketName"], "key": key}
            }
        self.jobs[job_id] = FakeJob(
            validated(self.client, "DescribeSigningJob", response), self.in_progress_polls
        )
        self.tokens[token] = job_id
        return AWSResponse(None, 200, {}, None), validated(  # type: ignore[arg-type]
            self.client, "StartSigningJob", {"jobId": job_id, "jobOwner": response["jobOwner"]}
        )

    @staticmethod
    def _invalid(body: bytes) -> str | None:
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                if not archive.namelist():
                    return "Signing failed: the source zip file is empty"
                if any(name.startswith(".signature/") for name in archive.namelist()):
                    return "Signing failed: the source zip file is already signed"
        except zipfile.BadZipFile:
            return "Signing failed: the source is not a valid zip file"
        return None


@dataclass
class AwsWorld:
    """An :class:`AwsBackend` on moto, with optional stubs on its Signer and Lambda clients."""

    backend: AwsBackend
    signer: Any
    lambda_: Any
    s3: Any

    def stub_signer(self, *operations: str) -> PartialStubber:
        """Stub these Signer operations (others go to moto); activated."""
        stub = PartialStubber(self.signer, operations)
        stub.activate()
        return stub

    def stub_lambda(self, *operations: str) -> PartialStubber:
        """Stub these Lambda operations (others go to moto); activated."""
        stub = PartialStubber(self.lambda_, operations)
        stub.activate()
        return stub

    def fake_signer(self, in_progress_polls: int = 1) -> FakeSigner:
        """A stateful fake for signing jobs (see :class:`FakeSigner`)."""
        return FakeSigner(self.signer, self.s3, in_progress_polls)

    def fake_code_signing(self) -> FakeCodeSigning:
        """A stateful fake for Lambda's code signing configs (see :class:`FakeCodeSigning`)."""
        return FakeCodeSigning(self.lambda_)

    def put_profile(self, name: str = "publisher") -> dict[str, Any]:
        """A signing profile in moto."""
        return self.backend.put_signing_profile(name, now=NOW)

    def count_uploads(self) -> list[int]:
        """From now on, count the S3 PutObject calls: the one item of the list returned."""
        uploads = [0]

        def count(**_: Any) -> None:
            uploads[0] += 1

        self.s3.meta.events.register("before-call.s3.PutObject", count)
        return uploads


def make_clients(**config: Any) -> AwsClients:
    """Clients for moto (call inside ``mock_aws``)."""
    from provider.backends.aws.session import retry_config

    settings = retry_config(config.get("retry_mode"), config.get("max_attempts"))
    return AwsClients(
        signer=session().client("signer", config=settings),
        lambda_=session().client("lambda", config=settings),
        s3=session().client("s3", config=settings),
        account=ACCOUNT,
    )


@pytest.fixture
def world(s3: Any) -> AwsWorld:
    """An AwsBackend on moto with the versioned bucket; jobs polled without delay."""
    clients = make_clients()
    backend = AwsBackend(clients=clients, job_delay=0, job_max_attempts=5)
    backend.function_delay = 0
    return AwsWorld(backend, clients.signer, clients.lambda_, s3)


@pytest.fixture
def cli_world(world: AwsWorld, monkeypatch: pytest.MonkeyPatch) -> AwsWorld:
    """``--backend aws`` (CLI) and ``codesign:backend aws`` (Pulumi providers) open this
    world's backend: moto + fakes, jobs and stacks polled without delay."""
    import provider.backends.factory as factory
    import provider.resources._base as resources_base

    real = factory.open_backend
    world.backend.stack_delay = 0

    def open_backend(name: str = "local", **options: Any) -> Any:
        return world.backend if name == "aws" else real(name, **options)

    monkeypatch.setattr(factory, "open_backend", open_backend)
    monkeypatch.setattr(resources_base, "open_backend", open_backend)
    return world


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries without their sleeps (the attempts still happen): no backoff
    between attempts, and no wait for the adaptive mode's send tokens."""
    from botocore.retries import bucket, standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)


def inject_errors(client: Any, operation: str, responses: list[tuple[int, bytes, dict[str, str]]]):
    """Answer the next calls of ``operation`` on the wire with these raw HTTP responses
    (status, body, headers) before letting calls through to moto; returns the list of
    attempts seen, so retries can be counted. (moto still sees each request: botocore
    asks every before-send handler and takes the first answer.)"""
    attempts: list[str] = []
    queue = list(responses)

    def before_send(request: Any, **_: Any) -> Any:
        attempts.append(request.url)
        if queue:
            status, body, headers = queue.pop(0)
            return AWSResponse(request.url, status, headers, MockRawResponse(body))
        return None

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-send.{service}.{operation}", before_send)
    return attempts


# --- Lambda: code signing configs and code in S3 -----------------------------------
CSC_ID = "csc-0a1b2c3d4e5f6a7b8"
CSC_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:{CSC_ID}"
OTHER_CSC = CSC_ARN[:-1] + "9"
PUBLISHER = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/publisher/a1b2c3d4e5"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:web"


def csc_response(
    policy: str = "Enforce", allowed: tuple[str, ...] = (PUBLISHER,), arn: str = CSC_ARN
) -> dict[str, Any]:
    """A Get/Create/UpdateCodeSigningConfig response as Lambda sends it."""
    return {
        "CodeSigningConfig": {
            "CodeSigningConfigId": arn.rsplit(":", 1)[1],
            "CodeSigningConfigArn": arn,
            "Description": "web functions",
            "AllowedPublishers": {"SigningProfileVersionArns": list(allowed)},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
            "LastModified": "2026-06-01T12:00:00.000+0000",
        }
    }


def upload(world: AwsWorld, key: str = "app/code.zip", body: bytes | None = None) -> S3Object:
    """An object in the versioned bucket (as a signing job would have written it)."""
    response = world.s3.put_object(Bucket=BUCKET, Key=key, Body=body or package_bytes())
    return S3Object(BUCKET, key, response["VersionId"])


@dataclass
class FakeCodeSigning:
    """Lambda's code signing config operations with state (moto serves none of them but
    GetFunctionCodeSigningConfig): Create/Get/DeleteCodeSigningConfig and
    Put/Get/DeleteFunctionCodeSigningConfig. A config given to CreateFunction is recorded
    by moto, and answered from there until a Put or Delete here changes it. Requests are
    validated by botocore, responses by :func:`validated`; other calls go on to moto."""

    client: Any
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    attached: dict[str, str] = field(default_factory=dict)
    _params: threading.local = field(default_factory=threading.local)

    OPERATIONS = frozenset(
        {
            "CreateCodeSigningConfig",
            "GetCodeSigningConfig",
            "DeleteCodeSigningConfig",
            "PutFunctionCodeSigningConfig",
            "GetFunctionCodeSigningConfig",
            "DeleteFunctionCodeSigningConfig",
        }
    )

    def __post_init__(self) -> None:
        self.client.meta.events.register_first("before-parameter-build.lambda", self._capture)
        self.client.meta.events.register("before-call.lambda", self._answer)

    def _capture(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in self.OPERATIONS:
            self._params.value = copy.deepcopy(params)

    def _ok(self, operation: str, response: dict[str, Any], status: int = 200) -> Any:
        model = self.client.meta.service_model.operation_model(operation)
        checked = validated(self.client, operation, response) if model.output_shape else {}
        return AWSResponse(None, status, {}, None), checked  # type: ignore[arg-type]

    def _answer(self, model: Any, **_: Any) -> Any:
        name = model.name
        if name not in self.OPERATIONS:
            return None
        params = self._params.value
        if name == "CreateCodeSigningConfig":
            config_id = "csc-" + uuid.uuid4().hex[:17]
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:{config_id}"
            self.configs[arn] = {
                "CodeSigningConfigId": config_id,
                "CodeSigningConfigArn": arn,
                "Description": params.get("Description", ""),
                "AllowedPublishers": params["AllowedPublishers"],
                "CodeSigningPolicies": params.get(
                    "CodeSigningPolicies", {"UntrustedArtifactOnDeployment": "Warn"}
                ),
                "LastModified": "2026-06-01T12:00:00.000+0000",
            }
            return self._ok(name, {"CodeSigningConfig": self.configs[arn]}, 201)
        if name in ("GetCodeSigningConfig", "DeleteCodeSigningConfig"):
            arn = params["CodeSigningConfigArn"]
            if arn not in self.configs:
                return FakeSigner._error("ResourceNotFoundException", f"{arn} not found", 404)
            if name == "DeleteCodeSigningConfig":
                del self.configs[arn]
                return self._ok(name, {}, 204)
            return self._ok(name, {"CodeSigningConfig": self.configs[arn]})
        function = params["FunctionName"]
        if name == "PutFunctionCodeSigningConfig":
            self.attached[function] = params["CodeSigningConfigArn"]
            return self._ok(
                name, {"CodeSigningConfigArn": self.attached[function], "FunctionName": function}
            )
        if name == "DeleteFunctionCodeSigningConfig":
            self.attached[function] = ""
            return self._ok(name, {}, 204)
        if function not in self.attached:
            return None  # moto's, from CreateFunction
        return self._ok(
            name, {"CodeSigningConfigArn": self.attached[function], "FunctionName": function}
        )
