"""The ``sam-ext serve`` command: start, stop, what it says, what survives a restart."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import (
    REPO,
    Server,
    clients_for,
    package_bytes,
    sign,
    start_server,
    unique,
    upload,
    versioned_bucket,
)

PLATFORM = "AWSLambda-SHA384-ECDSA"


def raw_request(
    server: Server,
    method: str,
    path: str,
    service: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A request as an SDK sends it (a SigV4 Authorization header naming ``service``),
    without an SDK's validation in the way."""
    request = urllib.request.Request(server.url + path, data=body or None, method=method)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=testing/20260601/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
    )
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_it_prints_where_it_listens_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    server = start_server(tmp_path / "home")
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith(":0")
    assert clients_for(server.url)("signer").list_signing_profiles()["profiles"] == []
    assert server.stop(sig) == 0
    assert "Traceback" not in server.log()
    assert "stopped" in server.log()


def test_binding_beyond_loopback_warns(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", "--host", "0.0.0.0")
    try:
        assert "not authenticated" in server.log()
    finally:
        server.stop()


def test_another_loopback_address_binds_without_the_warning(tmp_path: Path) -> None:
    """127.0.0.2 is loopback too (it used to be warned about as beyond this machine)."""
    server = start_server(tmp_path / "home", "--host", "127.0.0.2")
    try:
        assert server.url.startswith("http://127.0.0.2:")
        assert clients_for(server.url)("signer").list_signing_profiles()["profiles"] == []
        assert "warning" not in server.log()
    finally:
        assert server.stop() == 0


def test_an_unknown_host_is_refused_by_name_and_creates_nothing(tmp_path: Path) -> None:
    """It used to warn about binding beyond this machine, then print werkzeug's bare
    'Name or service not known'."""
    result = subprocess.run(
        [sys.executable, "-m", "sam_ext.cli", "serve", "--host", "nosuchhost.invalid",
         "--port", "0", "--home", str(tmp_path / "home")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--host" in result.stderr and "'nosuchhost.invalid'" in result.stderr
    assert "warning" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists()


def test_a_port_in_use_is_refused_by_name_and_creates_nothing(tmp_path: Path) -> None:
    """It used to print werkzeug's own lines ("Address already in use", "Port N is in use
    by another program...") and exit 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sam_ext.cli", "serve", "--port", str(port),
             "--home", str(tmp_path / "home")],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    said = f"error: ValidationException: --port: cannot listen on 127.0.0.1:{port}: "
    assert lines[0].startswith(said)
    assert "in use" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists()


def test_help_says_what_survives_a_restart() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sam_ext.cli", "serve", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(result.stdout.split())
    assert "survive a restart" in text and "live as long as the process" in text
    assert "profile permissions, tags" in text  # kept in --home, as the README says
    assert "--job-delay" in text


def test_unknown_operations_get_aws_shaped_errors_naming_them(server: Server) -> None:
    status, headers, body = raw_request(server, "GET", "/no-such-thing", "signer")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert "signer" in json.loads(body)["message"]
    # moto's Flask answers an unknown Lambda path with an HTML 404; the endpoint does not.
    status, headers, body = raw_request(server, "GET", "/2015-03-31/no-such-thing", "lambda")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["__type"] == "UnknownOperationException"
    assert "lambda" in document["message"] and "/2015-03-31/no-such-thing" in document["message"]
    status, _, body = raw_request(server, "POST", "/signing-jobs/with-payload", "signer", b"{}")
    assert status == 501 and b"SignPayload" in body


def test_a_restart_keeps_keys_and_records_and_says_what_is_gone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start_server(home)
    aws = clients_for(first.url)
    name = unique("kept_")
    arn = aws("signer").put_signing_profile(profileName=name, platformId=PLATFORM)[
        "profileVersionArn"
    ]
    bucket = versioned_bucket(aws("s3"))
    job = sign(aws, name, bucket, "a.zip")
    csc = aws("lambda").create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [arn]}
    )["CodeSigningConfig"]
    assert first.stop() == 0

    second = start_server(home)
    try:
        assert "1 signing profile(s) from earlier runs" in second.log()
        assert "1 signed object(s) of earlier runs are gone" in second.log()
        again = clients_for(second.url)
        assert again("signer").get_signing_profile(profileName=name)["profileVersionArn"] == arn
        assert (
            again("lambda").get_code_signing_config(
                CodeSigningConfigArn=csc["CodeSigningConfigArn"]
            )["CodeSigningConfig"]
            == csc
        )
        described = again("signer").describe_signing_job(jobId=job["jobId"])
        assert described["status"] == "Succeeded"
        assert "earlier server run and is gone" in described["statusReason"]
        # The keys survived: the profile still signs.
        new_bucket = versioned_bucket(again("s3"))
        assert sign(again, name, new_bucket, "b.zip")["status"] == "Succeeded"
    finally:
        second.stop()


def test_a_job_interrupted_by_a_kill_fails_at_the_next_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start_server(home, "--job-delay", "30")
    aws = clients_for(first.url)
    name = unique("slow_")
    aws("signer").put_signing_profile(profileName=name, platformId=PLATFORM)
    bucket = versioned_bucket(aws("s3"))
    version = upload(aws("s3"), bucket, "a.zip", package_bytes())
    job_id = aws("signer").start_signing_job(
        source={"s3": {"bucketName": bucket, "key": "a.zip", "version": version}},
        destination={"s3": {"bucketName": bucket}},
        profileName=name,
        clientRequestToken=unique("t"),
    )["jobId"]
    assert aws("signer").describe_signing_job(jobId=job_id)["status"] == "InProgress"
    first.process.kill()
    first.process.wait(timeout=15)

    second = start_server(home)
    try:
        described = clients_for(second.url)("signer").describe_signing_job(jobId=job_id)
        assert described["status"] == "Failed"
        assert "stopped before the job completed" in described["statusReason"]
    finally:
        second.stop()


def test_without_the_serve_extra_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sam_ext.cli import main

    # As if moto were not installed: importing the server module fails.
    monkeypatch.setitem(sys.modules, "provider.endpoint.server", None)
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'lambda-codesign[serve]'" in err and "Traceback" not in err


def test_another_moto_release_is_refused_by_name(tmp_path: Path) -> None:
    """The hook is written for one moto release; another is refused, not half-used."""
    script = (
        "import sys, moto\n"
        "moto.__version__ = '9.9.9'\n"
        "from pathlib import Path\n"
        "from provider.endpoint.moto_hook import install\n"
        "from provider.endpoint.state import EndpointState\n"
        "from provider.errors import CodesignError\n"
        "try:\n"
        "    install(EndpointState(Path(sys.argv[1])))\n"
        "except CodesignError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "home")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "written for moto 5.2.5; moto 9.9.9 is installed" in result.stdout
