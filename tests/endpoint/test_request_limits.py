"""What one request may cost the server: a body larger than its service accepts is refused
with the service's error before it is read; a body (or a request line) that stops arriving
is answered with a timeout error (or the connection closed) after ``--request-timeout``,
never a thread held forever; request threads are bounded."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from provider.endpoint.limits import BODY_LIMITS, MAX_REQUEST_THREADS

from .conftest import Clients, Server, clients_for, error_code, unique
from .serving import module_server
from .soak import probe

TIMEOUT = 2  # the server's --request-timeout here
#: How long a test waits for an answer the server owes after TIMEOUT (a loaded machine).
PATIENCE = 60
TOO_LARGE = "RequestEntityTooLargeException"


server = module_server("serve-home", "--request-timeout", str(TIMEOUT))


def _authorization(service: str) -> str:
    """A SigV4 header naming ``service`` (moto does not check the signature)."""
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )


def _connect(server: Server) -> socket.socket:
    address = urlsplit(server.url)
    return socket.create_connection((address.hostname, address.port), timeout=PATIENCE)


def _head(server: Server, method: str, path: str, service: str, **headers: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {urlsplit(server.url).netloc}",
        f"Authorization: {_authorization(service)}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body the server sends (it closes every connection)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_a_signer_body_shorter_than_its_content_length_gets_a_timeout_error(
    server: Server,
) -> None:
    with _connect(server) as sock:
        sock.sendall(
            _head(
                server,
                "PUT",
                f"/signing-profiles/{unique('slow_')}",
                "signer",
                Content_Type="application/json",
                Content_Length="100",
            )
            + b'{"platform'
        )
        started = time.monotonic()
        status, headers, body = _answer(sock)
    assert time.monotonic() - started < PATIENCE
    assert status == 408
    assert headers["x-amzn-errortype"] == "RequestTimeoutException"
    assert f"no data for {TIMEOUT:g} seconds" in json.loads(body)["message"]


def test_an_s3_upload_that_stops_gets_s3s_request_timeout(server: Server, aws: Clients) -> None:
    bucket = unique("slow-")
    aws("s3").create_bucket(Bucket=bucket)
    with _connect(server) as sock:
        sock.sendall(
            _head(server, "PUT", f"/{bucket}/key", "s3", Content_Length="1000") + b"x" * 10
        )
        status, _, body = _answer(sock)
    assert status == 400
    assert b"<Code>RequestTimeout</Code>" in body
    with pytest.raises(aws("s3").exceptions.NoSuchKey):
        aws("s3").get_object(Bucket=bucket, Key="key")


def test_a_request_line_that_never_ends_has_its_connection_closed(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /2015-03-31/functions HTT")
        assert sock.recv(1024) == b""  # closed after the timeout, nothing answered


@pytest.mark.parametrize(
    ("service", "method", "path", "size", "status", "code"),
    [
        ("signer", "PUT", "/signing-profiles/big", 50 * 1024**2, 413, TOO_LARGE),
        ("lambda", "POST", "/2015-03-31/functions", BODY_LIMITS["lambda"] + 1, 413, TOO_LARGE),
        ("s3", "PUT", "/any-bucket/big", 6 * 1024**3, 400, "EntityTooLarge"),
    ],
)
def test_a_body_larger_than_its_service_accepts_is_refused_before_it_is_sent(
    server: Server, service: str, method: str, path: str, size: int, status: int, code: str
) -> None:
    with _connect(server) as sock:
        # Only the headers: the answer comes without the body being read (or sent).
        sock.sendall(_head(server, method, path, service, Content_Length=str(size)))
        got, headers, body = _answer(sock)
    assert got == status
    if service == "s3":
        assert f"<Code>{code}</Code>".encode() in body
    else:
        assert headers["x-amzn-errortype"] == code
        assert str(BODY_LIMITS[service]) in json.loads(body)["message"]


def test_a_chunked_signer_body_past_its_limit_is_refused(server: Server) -> None:
    chunk = b"x" * 65536
    with _connect(server) as sock:
        sock.sendall(
            _head(
                server,
                "PUT",
                "/signing-profiles/chunked",
                "signer",
                Content_Type="application/json",
                Transfer_Encoding="chunked",
            )
        )
        try:
            for _ in range(BODY_LIMITS["signer"] // len(chunk) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server may have answered and closed already
            pass
        status, headers, _ = _answer(sock)
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"


def test_boto3_creating_a_function_with_an_over_50_mb_zip_gets_lambdas_413(
    aws: Clients, role: str
) -> None:
    lambda_ = aws("lambda")
    code, message, status = error_code(
        lambda: lambda_.create_function(
            FunctionName=unique("huge-"),
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": b"\0" * (50 * 1024 * 1024 + 1)},  # base64: past 69905067 bytes
        )
    )
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert "Request must be smaller than 69905067 bytes" in message


def test_request_threads_are_bounded_and_stalled_clients_do_not_stop_the_server(
    server: Server,
) -> None:
    base = probe(server.process.pid)
    stalled = [_connect(server) for _ in range(MAX_REQUEST_THREADS + 16)]
    try:
        for sock in stalled:
            sock.sendall(b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n")  # never ends
        time.sleep(0.5)
        busy = probe(server.process.pid)
        assert busy.threads <= base.threads + MAX_REQUEST_THREADS
        # A real client is answered once the stalled ones have timed out.
        answered: list[object] = []
        worker = threading.Thread(
            target=lambda: answered.append(
                clients_for(server.url)("signer").list_signing_platforms()
            )
        )
        worker.start()
        worker.join(timeout=PATIENCE)
        assert answered, "the server answered a client while others stalled"
    finally:
        for sock in stalled:
            sock.close()
    deadline = time.monotonic() + PATIENCE
    while probe(server.process.pid).threads > base.threads and time.monotonic() < deadline:
        time.sleep(0.2)
    assert probe(server.process.pid).threads <= base.threads
