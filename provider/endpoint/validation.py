"""Requests refused before a handler or moto sees them, in the service's own error shape.

Every request is checked here first, against botocore's service models: what it is
addressed to (the credential scope names a service; a Signer path carries a signature),
how it is framed (a readable body, a Content-Length that is a length), which operation it
names (``X-Amz-Target``, ``Action``), and, for Lambda's operations that go to moto, every
member of the input (types, lengths, ranges, enums, patterns: :func:`protocol.parse_input`).
moto stores what it is given: ``"Timeout": "soon"`` stored would break every later
``ListFunctions`` of the account, so nothing malformed may reach it. The messages are
AWS's (``N validation errors detected: Value '...' at 'member.path' failed to satisfy
constraint: ...; ...``, Lambda's own limits where its model differs:
:data:`protocol.SERVICE_LIMITS`), and Lambda's sentences for code it refuses.

The error shapes (what the catalogue in tests/endpoint/test_malformed_catalogue.py checks):

* rest-json (Lambda, Signer): the code in the ``x-amzn-ErrorType`` header and in the JSON
  body's ``__type``, the text in ``message`` (Lambda adds ``"Type": "User"``);
* json (``X-Amz-Target`` services): the same header and body;
* query (IAM, STS, CloudFormation): ``<ErrorResponse><Error><Type>Sender</Type><Code>``;
* rest-xml (S3): ``<Error><Code>...</Code><Message>...</Message></Error>``.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import ServiceModel

from provider.endpoint import protocol

Environ = dict[str, Any]
#: moto's backend names that are not botocore's service names once dashes are dropped.
_MOTO_ALIASES = {"awslambda": "lambda"}
#: Signer's operations that any service's tags path shares: Signer's only for its ARNs.
_SIGNER_TAG_OPERATIONS = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Refusal:
    """A complete error answer: status, headers and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@cache
def _botocore_names() -> dict[str, str]:
    names = botocore.session.get_session().get_available_services()
    return {name.replace("-", ""): name for name in names}


def model_of(name: str | None) -> ServiceModel | None:
    """botocore's model of a service named as botocore, a credential scope or a moto
    backend names it (None when none does)."""
    if not name:
        return None
    name = _MOTO_ALIASES.get(name, name)
    for candidate in (name, _botocore_names().get(name.replace("-", "").replace("_", ""))):
        if candidate:
            try:
                return protocol.service_model(candidate)
            except UnknownServiceError:
                continue
    return None


def _kind(model: ServiceModel | None) -> str:
    return "json" if model is None else str(model.protocol)


def refusal(model: ServiceModel | None, code: str, message: str, status: int = 400) -> Refusal:
    """``code`` and ``message`` in the error shape of ``model``'s protocol (JSON when no
    model is known)."""
    kind = _kind(model)
    if kind in ("query", "ec2"):
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>0</RequestId>"
            "</ErrorResponse>"
        )
        return Refusal(status, [("Content-Type", "text/xml")], xml.encode())
    if kind == "rest-xml":
        xml = f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        return Refusal(status, [("Content-Type", "application/xml")], xml.encode())
    if model is not None and kind == "rest-json":
        _, headers, body = protocol.render_error(model.service_name, code, message, status)
        return Refusal(status, headers, body)
    body = json.dumps({"__type": code, "message": message}).encode()
    return Refusal(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], body)


def _header(environ: Environ, name: str) -> str:
    return str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))


def _headers(environ: Environ) -> dict[str, str]:
    return {
        k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
    }


def signer_operation(method: str, path: str, query: dict[str, list[str]]) -> str | None:
    """The Signer operation a request's method and path name (None when none: a tags path
    is Signer's only for a Signer ARN)."""
    found = protocol.match("signer", method, path, query)
    if found is None:
        return None
    name, labels = found
    if name in _SIGNER_TAG_OPERATIONS and ":signer:" not in labels.get("resourceArn", ""):
        return None
    return name


def _service_by_path(method: str, path: str, query: dict[str, list[str]]) -> str:
    """Whose request an unsigned (or unreadably signed) one is: Signer's or Lambda's by
    path, else S3's (moto's default)."""
    if signer_operation(method, path, query):
        return "signer"
    if protocol.match("lambda", method, path, query):
        return "lambda"
    return "s3"


@dataclass
class Request:
    """What the checks read of a request."""

    environ: Environ
    scope: str | None  # the credential scope's service, None when unsigned
    method: str
    path: str
    query: dict[str, list[str]]
    body: Callable[[], bytes]  # the body, read once (raises OSError on a broken framing)


def check(request: Request, moto_backend: Callable[[], str | None]) -> Refusal | None:
    """The refusal a malformed request gets, or None for one to route on.
    ``moto_backend()``: the moto backend the request would reach (None: none)."""
    environ = request.environ
    framing = _framing(request)
    if framing:
        return framing
    if request.scope is None:
        return _unsigned(request)
    if request.scope == "signer":
        return None  # served here; the handlers parse against the model
    backend = _resolve(moto_backend, request.scope)
    model = model_of(backend) or model_of(request.scope)
    if backend is None:
        if model is None:
            return refusal(
                None,
                "InvalidSignatureException",
                f"Credential should be scoped to a valid service: {request.scope!r} (in the "
                "Authorization header's credential scope) is no service AWS has",
                403,
            )
        return refusal(
            model,
            "NotImplementedException",
            f"sam-ext serve does not serve {model.service_name} (moto, which serves the "
            "services other than Signer here, does not implement it)",
            501,
        )
    target = _header(environ, "X-Amz-Target")
    if target or str(environ.get("CONTENT_TYPE", "")).startswith("application/x-amz-json"):
        return _json_operation(request, model, target)
    if model is not None and model.service_name == "lambda":
        return lambda_input(request, model)
    if model is not None and _is_query(model, request):
        return _query_operation(request, model)
    return None


def _resolve(moto_backend: Callable[[], str | None], scope: str) -> str | None:
    try:
        return moto_backend()
    except Exception:  # moto knows the service but not this request (a header is missing)
        return scope


def _framing(request: Request) -> Refusal | None:
    """A Content-Length that is not a length, both a length and chunked framing, or a
    chunked body that does not decode: 400, in the addressee's shape."""
    environ = request.environ
    length = str(environ.get("CONTENT_LENGTH") or "")
    chunked = "chunked" in _header(environ, "Transfer-Encoding").lower()
    problem = None
    if length and not (length.isascii() and length.isdigit()):
        problem = f"Content-Length {length[:40]!r} is not a length in bytes"
    elif length and chunked and int(length) > 0:
        problem = "a request has Content-Length or Transfer-Encoding: chunked, not both"
    elif chunked:
        try:
            request.body()
        except (OSError, ValueError) as exc:
            problem = f"the chunked request body does not decode ({exc})"
    if problem is None:
        return None
    model = model_of(request.scope) or model_of(
        _service_by_path(request.method, request.path, request.query)
    )
    code = "IncompleteBody" if _kind(model) in ("rest-xml", "query", "ec2") else "BadRequest"
    if model is not None and _kind(model) in ("rest-json", "json"):
        code = protocol.content_error(model.service_name)
    return refusal(model, code, problem, 400)


def _unsigned(request: Request) -> Refusal | None:
    """A request without a readable SigV4 credential scope. A Signer path is Signer's
    (AWS answers 403 without a signature), never an S3 bucket named ``signing-profiles``;
    a malformed SigV4 header is refused in the shape of whom the path addresses."""
    authorization = _header(request.environ, "Authorization")
    addressee = _service_by_path(request.method, request.path, request.query)
    if addressee == "signer":
        if authorization:
            return refusal(
                model_of("signer"),
                "IncompleteSignatureException",
                "Authorization header requires a SigV4 'Credential' parameter of the form "
                "KEY/DATE/REGION/signer/aws4_request",
                403,
            )
        return refusal(
            model_of("signer"),
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: AWS Signer requests must be signed (SigV4)",
            403,
        )
    if authorization.startswith("AWS4-HMAC-SHA256"):
        model = model_of(addressee)
        if addressee == "s3":
            return refusal(
                model,
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed; its Credential must be "
                "KEY/DATE/REGION/SERVICE/aws4_request",
                400,
            )
        return refusal(
            model,
            "IncompleteSignatureException",
            "Authorization header requires a 'Credential' parameter of the form "
            "KEY/DATE/REGION/SERVICE/aws4_request",
            403,
        )
    return None


def _json_operation(request: Request, model: ServiceModel | None, target: str) -> Refusal | None:
    """An ``X-Amz-Target`` that names one of the service's operations, and a JSON object
    for a body (AWS: 400 UnknownOperationException, SerializationException)."""
    if model is None:
        return None
    prefix, _, operation = target.rpartition(".")
    expected = model.metadata.get("targetPrefix")
    if not target or operation not in model.operation_names or (expected and prefix != expected):
        shown = repr(target) if target else "no X-Amz-Target header"
        return refusal(
            model,
            "UnknownOperationException",
            f"{model.service_name} has no operation {shown}"
            + (f" (targets are {expected}.OPERATION)" if expected else ""),
            400,
        )
    if "json" not in model.metadata.get("protocols", [model.protocol]):
        return None
    try:
        body = request.body()
        document = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refusal(
            model, "SerializationException", f"the request body is not valid JSON ({exc})", 400
        )
    if not isinstance(document, dict):
        return refusal(
            model, "SerializationException", "the request body must be a JSON object", 400
        )
    return None


def _is_query(model: ServiceModel, request: Request) -> bool:
    protocols = model.metadata.get("protocols", [model.protocol])
    if model.protocol in ("query", "ec2"):
        return True
    form = str(request.environ.get("CONTENT_TYPE", "")).startswith(_FORM)
    return "query" in protocols and (form or "Action" in request.query)


def _query_operation(request: Request, model: ServiceModel) -> Refusal | None:
    """An ``Action`` (in the query string or the form body) that names one of the
    service's operations (AWS: 400 MissingAction, InvalidAction)."""
    actions = request.query.get("Action")
    if not actions and str(request.environ.get("CONTENT_TYPE", "")).startswith(_FORM):
        try:
            form = protocol.parse_query(request.body().decode("utf-8"))
        except UnicodeDecodeError:
            return refusal(model, "MalformedQueryString", "the form body is not UTF-8", 400)
        actions = form.get("Action")
    if not actions:
        return refusal(
            model, "MissingAction", f"the request names no {model.service_name} Action", 400
        )
    if actions[-1] not in model.operation_names:
        return refusal(
            model,
            "InvalidAction",
            f"The action {actions[-1]!r} is not valid for this web service ({model.service_name})",
            400,
        )
    return None


def lambda_input(request: Request, model: ServiceModel) -> Refusal | None:
    """A Lambda request for moto parsed against its operation's input shape: a member
    that is not the model's (a string for ``Timeout``, a ``../../x`` name) is refused
    before moto stores it, and so is code without one source (:func:`code_source`). A
    path no operation has is left to moto (its 404)."""
    found = protocol.match("lambda", request.method, request.path, request.query)
    if found is None:
        return None
    name, labels = found
    operation = model.operation_model(name)
    try:
        body = request.body()
        document = protocol.parse_input(
            operation, labels, request.query, _headers(request.environ), body
        )
        problem = _lambda_rules(name, document)
    except protocol.ProtocolError as exc:
        return refusal(model, exc.code, exc.message, exc.status)
    if problem:
        return refusal(model, "InvalidParameterValueException", problem, 400)
    return None


def _lambda_rules(operation: str, document: dict[str, Any]) -> str | None:
    """What Lambda refuses beyond the model's shapes, in Lambda's words, where moto would
    store a function it cannot describe afterwards (a ``Code`` without a source fails
    every later ``ListFunctions`` of the account). A .zip function (the default
    PackageType) needs Runtime and Handler before its code is looked at: Lambda's order
    (so an ``ImageUri`` without ``PackageType: Image`` is refused too)."""
    if operation == "CreateFunction":
        image = document.get("PackageType") == "Image"
        if not image and not (document.get("Runtime") and document.get("Handler")):
            return (
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        return code_source(document.get("Code", {}), "Code", image=image)
    if operation == "UpdateFunctionCode":
        return code_source(document, "", image=None)
    if operation == "PublishLayerVersion":
        content = document.get("Content", {})
        if not content:  # moto's words (and check) for a layer without content
            return "Missing Content"
        return code_source(content, "Content", image=False)
    return None


def code_source(code: dict[str, Any], where: str, *, image: bool | None) -> str | None:
    """Why ``code`` does not name exactly one source Lambda takes (``ZipFile``, or
    ``S3Bucket`` and ``S3Key``, or for an image ``ImageUri``; ``image`` None: any of
    them), or None. A ``ZipFile`` must be a .zip archive."""
    at = f"{where}." if where else ""
    s3_members = [k for k in ("S3Bucket", "S3Key", "S3ObjectVersion") if k in code]
    if "ZipFile" in code and s3_members:  # Lambda's words
        return "Please do not provide other FunctionCode parameters when providing a ZipFile."
    if ("S3Bucket" in code) != ("S3Key" in code) and not ({"ZipFile", "ImageUri"} & set(code)):
        return "Please provide a source for function code."
    if ("S3Bucket" in code) != ("S3Key" in code):
        return f"{at}S3Bucket and {at}S3Key name the code's object together; one is missing"
    sources = [k for k in ("ZipFile", "S3Bucket", "ImageUri") if k in code]
    allowed = {None: ("ZipFile", "S3Bucket", "ImageUri"), True: ("ImageUri",)}.get(
        image, ("ZipFile", "S3Bucket")
    )
    wrong = [k for k in sources if k not in allowed]
    if wrong == ["ImageUri"]:  # Lambda's words, as the read-once hook says them
        return "Please don't provide ImageUri when the intended function PackageType is Zip."
    if wrong:
        kind = "an Image package" if image else "a .zip package"
        return f"{at}{wrong[0]} is not a source for {kind}"
    if len(sources) != 1:
        choices = " or ".join(at + k for k in allowed).replace(
            f"{at}S3Bucket", f"{at}S3Bucket and {at}S3Key"
        )
        if not sources:
            return "Please provide a source for function code."
        found = " and ".join(at + k for k in sources)
        return f"the code needs exactly one source ({choices}); the request has {found}"
    if "ZipFile" in code:
        data = base64.b64decode(code["ZipFile"])
        if not zipfile.is_zipfile(io.BytesIO(data)):
            return (
                "Could not unzip uploaded file. Please check your file, then try to upload again."
            )
    return None


class JsonErrors(BaseHTTPRequestHandler):
    """The HTTP server's own refusals (a request line, version or header block it cannot
    parse, before any service is known) as JSON errors, where :mod:`http.server` writes
    an HTML page: ``x-amzn-ErrorType`` names the status (``BadRequestException``)."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The error ``code`` as a JSON body, then the connection closes."""
        try:
            status = HTTPStatus(code)
            short, long = status.phrase, status.description
        except ValueError:
            short, long = "Error", ""
        text = message or short
        self.log_error("code %d, message %s", code, text)
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # an unreadable request line: a status line too
        self.send_response(code, short)
        self.send_header("Connection", "close")
        if code < 200 or code in (204, 205, 304):
            self.end_headers()
            return
        error = "".join(short.title().split()).replace("-", "") + "Exception"
        body = json.dumps({"__type": error, "message": f"{text}: {explain or long}"}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)
