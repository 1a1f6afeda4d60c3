"""What one request may cost ``sam-ext serve``: the size of its body (per service, as AWS
bounds it) and how long the server waits on the client's socket; refused with the
service's own error before the body is read (see SECURITY.md, "sam-ext serve under load").
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import parse_qs

from provider.errors import CodesignError

#: Seconds a read or a write on a client's socket may wait (the request line, headers,
#: body, and the answer): a client that stops sending gets a timeout error (or, before
#: its headers are complete, a closed connection), never a thread held forever.
REQUEST_TIMEOUT = 30.0
#: Request threads at once; when all are busy, new connections wait in the listen queue.
MAX_REQUEST_THREADS = 64

MiB = 1024 * 1024
#: The largest request body per service (SigV4 signing name):
BODY_LIMITS = {
    # Signer's requests are small JSON documents; the largest valid one (PutSigningProfile
    # with 200 tags of 128 + 256 characters, every character escaped as \uXXXX) is under
    # 0.5 MiB. AWS documents no figure; this is the endpoint's own bound.
    "signer": 1 * MiB,
    # Lambda refuses "Request must be smaller than 69905067 bytes for the CreateFunction
    # operation": a 50 MB .zip (its direct-upload limit), base64-encoded.
    "lambda": 69_905_067,
    # S3's limit for one PutObject (larger objects need a multipart upload).
    "s3": 5 * 1024 * MiB,
}
#: Everything else moto serves (CloudFormation, IAM, STS, CloudWatch, ...).
DEFAULT_BODY_LIMIT = 16 * MiB
#: Where a request's refused body is noted, for the layers above moto's answer.
FAILURE_KEY = "codesign.body_error"


class BodyError(CodesignError):
    """A request body refused: too large, too slow, or shorter than announced."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        #: The request's service (signing name), whose error shape the answer takes.
        self.service: str | None = None


def _for(service: str | None, error: BodyError) -> BodyError:
    error.service = service
    return error


def _too_large(service: str | None, size: int | str, limit: int) -> BodyError:
    what = f"{size} bytes" if isinstance(size, int) else size
    message = f"the request body is {what}; {service or 'this service'} accepts at most {limit}"
    if service == "s3":
        return BodyError(
            400,
            "EntityTooLarge",
            f"Your proposed upload exceeds the maximum allowed size ({message})",
        )
    if service == "lambda":
        return BodyError(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {limit} bytes ({message})",
        )
    return BodyError(413, "RequestEntityTooLargeException", message)


def _timeout(service: str | None, timeout: float | None) -> BodyError:
    message = (
        f"the request body did not arrive: no data for {timeout:g} seconds"
        if timeout is not None
        else "the request body did not arrive"
    )
    if service == "s3":
        return BodyError(
            400,
            "RequestTimeout",
            "Your socket connection to the server was not "
            f"read from or written to within the timeout period ({message})",
        )
    return BodyError(408, "RequestTimeoutException", message)


def _incomplete(service: str | None, got: int, expected: int) -> BodyError:
    return BodyError(
        400,
        "IncompleteBody",
        f"the request body ended after {got} of the {expected} bytes its Content-Length announced",
    )


def service_of(environ: dict[str, Any], service: str | None) -> str | None:
    """The signing name of a request: its SigV4 header's, else a presigned URL's."""
    if service is not None:
        return service
    credential = parse_qs(str(environ.get("QUERY_STRING", ""))).get("X-Amz-Credential")
    if credential:
        scope = credential[0].split("/")
        if len(scope) == 5:
            return scope[3].lower()
    return None


def guard(environ: dict[str, Any], service: str | None) -> BodyError | None:
    """The refusal of a request whose ``Content-Length`` exceeds its service's limit
    (nothing of its body read); otherwise None, and ``wsgi.input`` becomes a stream that
    raises :class:`BodyError` (and notes it in the environ) on a body that goes past the
    limit (chunked), stops arriving, or ends short."""
    service = service_of(environ, service)
    limit = BODY_LIMITS.get(service or "", DEFAULT_BODY_LIMIT)
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    expected: int | None = None
    if declared.isdigit():
        expected = int(declared)
        if expected > limit:
            return _for(service, _too_large(service, expected, limit))
    stream = environ.get("wsgi.input")
    if stream is not None:
        socket_ = environ.get("werkzeug.socket")
        timeout = socket_.gettimeout() if isinstance(socket_, socket.socket) else None
        environ["wsgi.input"] = GuardedInput(stream, environ, service, limit, expected, timeout)
    return None


class GuardedInput:
    """A request body stream that keeps to the limits (see :func:`guard`)."""

    def __init__(
        self,
        stream: Any,
        environ: dict[str, Any],
        service: str | None,
        limit: int,
        expected: int | None,
        timeout: float | None,
    ) -> None:
        self._stream = stream
        self._environ = environ
        self._service = service
        self._limit = limit
        self._expected = expected
        self._timeout = timeout
        self._read = 0

    def _fail(self, error: BodyError) -> BodyError:
        self._environ[FAILURE_KEY] = _for(self._service, error)
        return error

    def _account(self, data: bytes, asked: int | None) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise self._fail(_too_large(self._service, "larger than that", self._limit))
        if (
            self._expected is not None
            and self._read < self._expected
            and (not data or (asked is not None and asked > 0 and len(data) < asked))
        ):
            raise self._fail(_incomplete(self._service, self._read, self._expected))
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative or None)."""
        if self._expected is not None:
            left = self._expected - self._read
            size = left if size is None or size < 0 else min(size, left)
            if size <= 0:
                return b""
        elif size is None or size < 0:
            size = self._limit + 1 - self._read  # a chunked body: never more than the limit
        try:
            data = self._stream.read(size)
        except TimeoutError:
            raise self._fail(_timeout(self._service, self._timeout)) from None
        return self._account(bytes(data), size)

    def readline(self, size: int | None = -1) -> bytes:
        """One line (at most ``size`` bytes)."""
        if self._expected is not None:
            left = self._expected - self._read
            size = left if size is None or size < 0 else min(size, left)
            if size <= 0:
                return b""
        try:
            data = self._stream.readline(size if size is not None else -1)
        except TimeoutError:
            raise self._fail(_timeout(self._service, self._timeout)) from None
        return self._account(bytes(data), None)

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` as :meth:`read` would."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")
