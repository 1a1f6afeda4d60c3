"""``sam-ext --backend aws layer adopt``: a vendor's public layer (another account's),
fetched with GetLayerVersionByArn, downloaded from its presigned ``Content.Location``,
signed unchanged and published with moto's PublishLayerVersion.

moto 5.2 does not implement GetLayerVersionByArn, so botocore's Stubber answers it (with a
response checked against Lambda's model); its ``Content.Location`` is a real HTTP URL on a
server this test runs on 127.0.0.1, standing in for S3's presigned URL."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from provider.layers import content_sha256
from sam_ext.cli import main
from tests.backends.aws.conftest import ACCOUNT, BUCKET, AwsWorld

VENDOR_ARN = "arn:aws:lambda:us-east-1:464622532012:layer:Datadog-Python312:98"
FILES = {
    "python/datadog_lambda/__init__.py": b"__version__ = '6.98.0'\n",
    "python/datadog_lambda/wrapper.py": b"def datadog_lambda_wrapper(f):\n    return f\n",
}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 5, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def _b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class _Served:
    """Bodies served at paths: ``served["/x"] = (200, b"...")``."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.base = ""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Served]:
    """An HTTP server on 127.0.0.1 (a free port), stopped after the test."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    state = _Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = state.routes.get(self.path.split("?")[0], (404, b"no such key"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _layer_response(location: str, data: bytes, **extra: Any) -> dict[str, Any]:
    response = {
        "Content": {"Location": location, "CodeSha256": _b64sha(data), "CodeSize": len(data)},
        "LayerArn": VENDOR_ARN.rsplit(":", 1)[0],
        "LayerVersionArn": VENDOR_ARN,
        "Description": "Datadog Lambda Python 3.12",
        "CreatedDate": "2024-05-01T00:00:00.000+0000",
        "Version": 98,
        "CompatibleRuntimes": ["python3.12"],
        "CompatibleArchitectures": ["x86_64", "arm64"],
        "LicenseInfo": "Apache-2.0",
    }
    response.update(extra)
    return response


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    status = main(["--backend", "aws", "layer", "adopt", *args])
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else None, captured.err


ADOPT = ("--layer-version-arn", VENDOR_ARN, "--profile-name", "platform_team")


def test_a_vendor_layer_is_fetched_signed_unchanged_and_published(
    cli_world: AwsWorld, served: _Served, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("platform_team")
    data = _zip(FILES)
    served.routes["/vendor.zip"] = (200, data)
    stub = cli_world.stub_lambda("GetLayerVersionByArn")
    stub.add_response(
        "get_layer_version_by_arn",
        _layer_response(f"{served.base}/vendor.zip?X-Amz-Signature=abc", data),
        {"Arn": VENDOR_ARN},
    )
    status, out, err = run(capsys, *ADOPT, "--s3-bucket", BUCKET, "--s3-prefix", "layers")
    assert status == 0, err
    stub.assert_no_pending_responses()
    expected = content_sha256({n: hashlib.sha256(c).hexdigest() for n, c in FILES.items()})
    assert out["LayerVersionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:Datadog-Python312:1"
    assert out["ContentSha256Before"] == out["ContentSha256After"] == expected
    assert out["AddedBySigning"] == [".signature/aws-signer"]
    assert out["SourceCodeSha256"] == _b64sha(data)
    assert f"content SHA-256 before: {expected}" in err
    assert f"content SHA-256 after:  {expected} (unchanged: 2 files" in err

    # What moto's Lambda holds: the signed object, with the source's metadata.
    published = cli_world.lambda_.get_layer_version(LayerName="Datadog-Python312", VersionNumber=1)
    assert published["Content"]["CodeSha256"] == out["CodeSha256"]
    assert published["CompatibleRuntimes"] == ["python3.12"]
    assert published["LicenseInfo"] == "Apache-2.0"
    assert published["Description"].startswith(f"Adopted unchanged from {VENDOR_ARN}")
    job = cli_world.backend.describe_signing_job(out["SigningJobId"])
    signed = cli_world.s3.get_object(Bucket=BUCKET, Key=job["signedObject"]["key"])["Body"].read()
    assert job["signedObject"]["key"].startswith("layers/")
    assert _b64sha(signed) == out["CodeSha256"]
    with zipfile.ZipFile(io.BytesIO(signed)) as archive:
        assert {n: archive.read(n) for n in FILES} == FILES

    stub.add_response(
        "get_layer_version_by_arn",
        _layer_response(f"{served.base}/vendor.zip", data),
        {"Arn": VENDOR_ARN},
    )
    status, out, err = run(capsys, *ADOPT, "--s3-bucket", BUCKET, "--layer-name", "dd_py312")
    assert status == 0, err
    assert out["LayerVersionArn"].endswith(":layer:dd_py312:1")


@pytest.mark.parametrize(
    ("served_as", "naming"),
    [
        ("tampered", "is not the layer's CodeSha256"),
        ("expired", "HTTP 403"),
        ("not_zip", "not a plain zip that can be signed"),
        ("file_url", "is not an HTTP(S) URL"),
    ],
)
def test_a_layer_that_cannot_be_trusted_is_not_published(
    cli_world: AwsWorld,
    served: _Served,
    capsys: pytest.CaptureFixture[str],
    served_as: str,
    naming: str,
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("platform_team")
    data = _zip(FILES)
    location = f"{served.base}/vendor.zip"
    if served_as == "tampered":
        served.routes["/vendor.zip"] = (200, _zip({**FILES, "python/evil.py": b"import os\n"}))
        response = _layer_response(location, data)
    elif served_as == "expired":
        served.routes["/vendor.zip"] = (403, b"<Error><Code>AccessDenied</Code></Error>")
        response = _layer_response(location, data)
    elif served_as == "not_zip":
        served.routes["/vendor.zip"] = (200, b"#!/bin/sh\n")
        response = _layer_response(location, b"#!/bin/sh\n")
    else:
        response = _layer_response("file:///etc/passwd", data)
    stub = cli_world.stub_lambda("GetLayerVersionByArn")
    stub.add_response("get_layer_version_by_arn", response, {"Arn": VENDOR_ARN})
    status, out, err = run(capsys, *ADOPT, "--s3-bucket", BUCKET)
    assert status != 0 and out is None
    assert naming in err and VENDOR_ARN in err and err.count("\n") == 1, err
    assert cli_world.lambda_.list_layers()["Layers"] == []


def test_adopt_on_aws_needs_an_arn_and_a_bucket(
    cli_world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, *ADOPT)
    assert status == 2 and "--s3-bucket: required with --backend aws" in err
    status, _, err = run(capsys, "--zip-file", "x.zip", "--profile-name", "platform_team")
    assert status == 2 and "--layer-version-arn: required" in err
    status, _, err = run(
        capsys, "--layer-version-arn", "arn:aws:lambda:us-east-1:1:layer:x", "--profile-name", "p1"
    )
    assert status == 2 and "is not a layer version ARN" in err
    stub = cli_world.stub_lambda("GetLayerVersionByArn")
    stub.add_client_error(
        "get_layer_version_by_arn",
        "AccessDeniedException",
        "not authorized to perform lambda:GetLayerVersion",
        http_status_code=403,
    )
    status, _, err = run(capsys, *ADOPT, "--s3-bucket", BUCKET)
    assert status == 1 and "lambda:GetLayerVersion" in err and err.count("\n") == 1
