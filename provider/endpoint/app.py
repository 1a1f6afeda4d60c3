"""The endpoint's one WSGI application: Signer and Lambda's code signing config
operations are answered from the local backend; every other request goes, unchanged, to
moto's own server application in this process."""

from __future__ import annotations

import functools
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from botocore.exceptions import DataNotFoundError

from provider.endpoint import code_locations, limits, protocol, validation
from provider.endpoint.code_locations import CONTENT_PREFIX, LayerApi
from provider.endpoint.jobs import JobRunner
from provider.endpoint.lambda_api import LambdaCscApi
from provider.endpoint.moto_hook import install
from provider.endpoint.moto_memory import stop_tracking_instances
from provider.endpoint.signer_api import SignerApi
from provider.endpoint.state import Caller, EndpointState
from provider.errors import CodesignError, KeystoreError

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Handler = Callable[[Caller, dict[str, Any]], dict[str, Any]]
DEFAULT_REGION = "us-east-1"
#: moto's reset of all its state (moto's test harnesses post it between tests).
RESET_PATH = "/moto-api/reset"
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
}


def credential_scope(environ: Environ) -> tuple[str | None, str | None]:
    """``(service, region)`` of a SigV4-signed request, from its Authorization header or,
    presigned, its ``X-Amz-Credential`` (None, None when unsigned)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker in auth:
        credential = auth.split(marker, 1)[1].split(",", 1)[0]
    else:
        presigned = protocol.parse_query(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
        if not presigned:
            return None, None
        credential = presigned[0]
    scope = credential.strip().split("/")
    if len(scope) != 5:
        return None, None
    return scope[3].lower(), scope[2]


def caller_of(environ: Environ, region: str | None) -> Caller:
    """The caller's account as moto's own responses derive it (MOTO_ACCOUNT_ID, the
    x-moto-account-id header, else the access key's account in moto's IAM/STS)."""
    account = os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if not account:
        from moto.core.responses import BaseResponse
        from moto.iam.models import get_account_id_from

        found = BaseResponse.access_key_regex.search(environ.get("HTTP_AUTHORIZATION", ""))
        account = get_account_id_from(found.group(1) if found else "AKIAEXAMPLE")
    return Caller(account, region or DEFAULT_REGION)


def _path(environ: Environ) -> str:
    """The request path still percent-encoded (a ``/`` inside an ARN label stays ``%2F``);
    :func:`protocol.match` decodes the labels it captures."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw).split("?", 1)[0]
    return quote(str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace"))


def _respond(
    start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
) -> Iterable[bytes]:
    headers = [*headers, ("Content-Length", str(len(body)))]
    start_response(f"{status} {_STATUS_TEXT.get(status, 'Status')}", headers)
    return [body]


def server_fault_status(exc: CodesignError) -> int | None:
    """500 when the server's own keystore failed (not the request); else ``None``: the
    status the error's code has in the service's model (:func:`protocol.error_status`)."""
    return 500 if isinstance(exc, KeystoreError) else None


def _error_response(
    start_response: StartResponse, service: str, code: str, message: str, status: int | None = None
) -> Iterable[bytes]:
    status_code, headers, body = protocol.render_error(service, code, message, status)
    return _respond(start_response, status_code, headers, body)


def _aws_error_body(
    service: str | None, code: str, message: str
) -> tuple[list[tuple[str, str]], bytes]:
    """An error in the wire format of ``service``'s protocol (for what moto cannot serve)."""
    kind = "json"
    if service:
        try:
            kind = protocol.service_model(service).protocol
        except DataNotFoundError:  # a signing name botocore does not know: answer in JSON
            kind = "json"
    if kind in ("query", "ec2", "rest-xml"):
        from xml.sax.saxutils import escape

        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>0</RequestId>"
            "</ErrorResponse>"
        )
        if kind == "rest-xml":
            xml = f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        return [("Content-Type", "text/xml")], xml.encode()
    import json

    return (
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)],
        json.dumps({"__type": code, "message": message}).encode(),
    )


def operation_name(environ: Environ, service: str | None, body: bytes) -> str:
    """The API name of a request (from its target header, Action or URI), for messages."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    query = protocol.parse_query(environ.get("QUERY_STRING", ""))
    action = query.get("Action")
    if not action and body[:200].find(b"Action=") >= 0:
        action = protocol.parse_query(body.decode("utf-8", "replace")).get("Action")
    if action:
        return action[0]
    model = validation.model_of(service)
    if service and model is not None and model.protocol.startswith("rest"):
        try:
            found = protocol.match(
                service, environ.get("REQUEST_METHOD", "GET"), _path(environ), query
            )
        except DataNotFoundError:  # a name botocore does not know (model_of knew an alias)
            found = None
        if found:
            return found[0]
    return f"{environ.get('REQUEST_METHOD', 'GET')} {_path(environ)}"


class EndpointApp:
    """``sam-ext serve``'s WSGI application over ``state``."""

    def __init__(self, state: EndpointState, *, job_delay: float = 0.0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        install(state)
        stop_tracking_instances()  # moto would keep every object ever made
        self.state = state
        self.runner = JobRunner(state, job_delay)
        self.signer = SignerApi(state, self.runner)
        self.csc = LambdaCscApi(state)
        self.layers = LayerApi()
        self.moto = DomainDispatcherApplication(create_backend_app)
        #: moto's host -> backend lookup (a scan of every backend's URL patterns), kept.
        self._backend_for_host = functools.lru_cache(maxsize=512)(self.moto.get_backend_for_host)

    def close(self) -> None:
        """Stop running jobs (those not finished fail at the next start)."""
        self.runner.stop()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._guarded(environ, start_response)
        except Exception as exc:  # a bug here: the service's 500, never werkzeug's page
            traceback.print_exc(file=sys.stderr)
            service, _ = credential_scope(environ)
            refused = validation.refusal(
                validation.model_of(service),
                "InternalFailure",
                f"sam-ext serve failed: {type(exc).__name__}: {exc}",
                500,
            )
            return _respond(start_response, refused.status, refused.headers, refused.body)

    def _moto_backend(self, environ: Environ) -> str | None:
        """The moto backend moto's dispatcher would give the request (None: none)."""
        path_info = str(environ.get("PATH_INFO", ""))
        if path_info.startswith(("/moto-api", "/latest/")) or path_info == "/favicon.ico":
            return "moto_api"
        backend: str | None = self._backend_for_host(
            self.moto.infer_service_region_host(environ, path_info)
        )
        return backend

    def _guarded(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """The request within its body's limits (size, time), then routed."""
        service, _ = credential_scope(environ)
        refused = limits.guard(environ, service)  # too large: answered before reading it
        if refused is not None:
            return _refuse(service, refused, start_response)
        try:
            return self._route(service, environ, start_response)
        except limits.BodyError as exc:  # too slow, too long or too short, as it was read
            return _refuse(service, exc, start_response)

    def _route(
        self, service: str | None, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = _path(environ)
        code_locations.BASE_URL.set(_base_url(environ))
        request = validation.Request(
            environ,
            service,
            method,
            path,
            protocol.parse_query(environ.get("QUERY_STRING", "")),
            lambda: _read_body(environ),
        )
        refused = validation.check(request, lambda: self._moto_backend(environ))
        if refused is not None:
            return _respond(start_response, refused.status, refused.headers, refused.body)
        if service == "signer":
            return self._serve("signer", self.signer.operations, None, environ, start_response)
        if service in ("lambda", None) and "code-signing-config" in path:
            query = protocol.parse_query(environ.get("QUERY_STRING", ""))
            if protocol.match("lambda", method, path, query, LambdaCscApi.OPERATIONS):
                return self._serve(
                    "lambda", self.csc.operations, LambdaCscApi.OPERATIONS, environ, start_response
                )
        if service in ("lambda", None) and "/layers" in path:
            query = protocol.parse_query(environ.get("QUERY_STRING", ""))
            if protocol.match("lambda", method, path, query, LayerApi.OPERATIONS):
                handlers = self.layers.handlers()
                return self._serve("lambda", handlers, LayerApi.OPERATIONS, environ, start_response)
        if service is None and method == "GET" and path.startswith(CONTENT_PREFIX):
            return self._code_content(path, start_response)
        if method == "POST" and path == RESET_PATH:
            return self._reset(service, environ, start_response)
        return self._to_moto(service, environ, start_response)

    def _reset(
        self, service: str | None, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        """moto's ``/moto-api/reset`` (what test harnesses call between tests), and the
        endpoint's own records with it: profiles, keys, jobs, code signing configs."""
        with self.state.serial:
            self.runner.clear()
            self.state.reset()
            return self._to_moto(service, environ, start_response)

    def _code_content(self, path: str, start_response: StartResponse) -> Iterable[bytes]:
        """A layer version's or function's zip at the location GetLayerVersion or
        GetFunction gave (an S3 ``NoSuchKey`` error when it is gone, as a presigned URL's
        object would be)."""
        with self.state.serial:
            data = code_locations.content(path)
        if data is None:
            headers, payload = _aws_error_body("s3", "NoSuchKey", f"no code at {path}")
            return _respond(start_response, 404, headers, payload)
        return _respond(start_response, 200, [("Content-Type", "application/zip")], data)

    def _serve(
        self,
        service: str,
        handlers: dict[str, Handler],
        operations: frozenset[str] | None,
        environ: Environ,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        body = _read_body(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        path = _path(environ)
        query = protocol.parse_query(environ.get("QUERY_STRING", ""))
        found = protocol.match(service, method, path, query, operations)
        if found is None:
            return _error_response(
                start_response,
                service,
                "UnknownOperationException",
                f"{service} has no operation at {method} {path}",
                404,
            )
        name, uri_params = found
        handler = handlers.get(name)
        if handler is None:
            return _error_response(
                start_response,
                service,
                "NotImplementedException",
                f"sam-ext serve does not emulate {service} operation {name}",
                501,
            )
        _, region = credential_scope(environ)
        caller = caller_of(environ, region)
        try:
            model = protocol.service_model(service).operation_model(name)
            headers = {
                k[5:].replace("_", "-").lower(): str(v)
                for k, v in environ.items()
                if k.startswith("HTTP_")
            }
            params = protocol.parse_input(model, uri_params, query, headers, body)
            with self.state.serial:
                document = handler(caller, params)
            status, payload = protocol.render_output(model, document)
        except protocol.ProtocolError as exc:
            return _error_response(start_response, service, exc.code, exc.message, exc.status)
        except CodesignError as exc:
            return _error_response(
                start_response, service, exc.code, exc.message, server_fault_status(exc)
            )
        except Exception as exc:  # a bug here: said plainly to the client, traced in the log
            traceback.print_exc(file=sys.stderr)
            return _error_response(
                start_response,
                service,
                "InternalFailure",
                f"sam-ext serve failed in {service} {name}: {type(exc).__name__}: {exc}",
                500,
            )
        return _respond(start_response, status, [("Content-Type", "application/json")], payload)

    def _to_moto(
        self, service: str | None, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        """moto's answer; an HTML "not found" or a crash becomes an AWS-shaped error.
        (The body is left to moto, unread: S3 uploads stream.)"""
        held: dict[str, Any] = {}

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            held.update(status=status, headers=headers)
            return lambda data: None

        try:
            result: Iterable[bytes] = self.moto(environ, hold)
        except limits.BodyError:
            raise
        except NotImplementedError as exc:
            body = _replayed_body(environ)
            return self._moto_error(
                service,
                environ,
                body,
                start_response,
                501,
                "NotImplementedException",
                "moto (serving it here) does not implement {op}" + (f": {exc}" if str(exc) else ""),
            )
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            body = _replayed_body(environ)
            return self._moto_error(
                service,
                environ,
                body,
                start_response,
                500,
                "InternalFailure",
                f"{{op}} failed in moto: {type(exc).__name__}: {exc}",
            )
        refused = environ.get(limits.FAILURE_KEY)
        if refused is not None:  # moto (or Flask under it) made its own answer of it
            if hasattr(result, "close"):
                result.close()
            return _refuse(service, refused, start_response)
        status = str(held.get("status", "500"))
        content_type = dict((k.lower(), v) for k, v in held.get("headers", [])).get(
            "content-type", ""
        )
        if status.startswith("404") and "text/html" in content_type:
            answer = b"".join(result)
            if hasattr(result, "close"):
                result.close()
            if not _unrouted(held.get("headers", []), answer):
                # moto's own answer (its ResourceNotFoundException for an event source
                # mapping, say, goes out with an HTML content type)
                start_response(held["status"], held["headers"])
                return [answer]
            body = _replayed_body(environ)
            return self._moto_error(
                service,
                environ,
                body,
                start_response,
                404,
                "UnknownOperationException",
                "sam-ext serve does not serve {op}",
            )
        start_response(held["status"], held["headers"])
        return result

    @staticmethod
    def _moto_error(
        service: str | None,
        environ: Environ,
        body: bytes,
        start_response: StartResponse,
        status: int,
        code: str,
        template: str,
    ) -> Iterable[bytes]:
        op = f"{service or 'an unknown service'} operation {operation_name(environ, service, body)}"
        headers, payload = _aws_error_body(service, code, template.format(op=op))
        return _respond(start_response, status, headers, payload)


def _unrouted(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether a 404 is werkzeug's page for a path no moto route takes (rather than a
    moto handler's answer, which carries its error type or a JSON/XML body)."""
    if any(name.lower() == "x-amzn-errortype" for name, _ in headers):
        return False
    return body.lstrip()[:15].lower() == b"<!doctype html>"


def _refuse(
    service: str | None, error: limits.BodyError, start_response: StartResponse
) -> Iterable[bytes]:
    """A refused request body, in the error shape of the request's service."""
    service = error.service or service
    if service in ("signer", "lambda"):
        return _error_response(start_response, service, error.code, error.message, error.status)
    headers, payload = _aws_error_body(service, error.code, error.message)
    return _respond(start_response, error.status, headers, payload)


def _base_url(environ: Environ) -> str:
    """``scheme://host:port`` the client reached this server at."""
    host = environ.get("HTTP_HOST") or (
        f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
    )
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


def _replayed_body(environ: Environ) -> bytes:
    """A form body moto read and put back (query protocols), for naming the operation."""
    stream = environ.get("wsgi.input")
    return bytes(stream.getvalue()) if isinstance(stream, io.BytesIO) else b""


def _read_body(environ: Environ) -> bytes:
    """The request body, read once and put back for the next reader."""
    cached = environ.get("codesign.body")
    if cached is not None:
        return bytes(cached)
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    stream = environ.get("wsgi.input")
    if stream is None:
        data = b""
    elif length >= 0:
        data = stream.read(length)
    else:  # chunked: werkzeug ends the stream at the last chunk
        data = stream.read() if environ.get("wsgi.input_terminated") else b""
    environ["wsgi.input"] = io.BytesIO(data)
    environ["codesign.body"] = data
    return data
