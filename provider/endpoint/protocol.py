"""AWS's rest-json protocol, server side, driven by botocore's service models.

botocore ships the model of every operation (method, URI template, where each input
member travels, types and constraints, output shapes, error shapes); this module uses
those models to match a request to an operation, turn it into the operation's input
document (checked against the input shape, errors naming the member), and to serialise
output documents and errors the way the service does, so every AWS SDK parses them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
import regex
from botocore.model import OperationModel, ServiceModel

from provider.clock import parse_instant
from provider.errors import CodesignError

Document = dict[str, Any]


class ProtocolError(CodesignError):
    """A request the service would refuse before running the operation; ``status`` is
    the HTTP status it answers with."""

    def __init__(self, message: str, *, code: str = "ValidationException", status: int = 400):
        super().__init__(message, code=code)
        self.status = status


class ShapeMismatch(ProtocolError):
    """A member of the wrong JSON type (a string for an integer, a string for a list):
    the request body does not deserialise into the input shape."""


#: The error a service answers when the request body is not the JSON it expects (not
#: JSON, or a member of the wrong type): Lambda's own code, else the one AWS's JSON
#: services share.
_CONTENT_ERROR = {"lambda": "InvalidRequestContentException"}
#: How much of a refused value a message shows.
_SHOWN = 80


def content_error(service: str) -> str:
    """The error code ``service`` answers a body it cannot deserialise with."""
    return _CONTENT_ERROR.get(service, "SerializationException")


@cache
def _pattern(expression: str) -> Any:
    """A model's ``pattern``, compiled with ``regex`` (the models use Java's ``\\p{L}``
    classes, which :mod:`re` lacks)."""
    return regex.compile(expression)


def pattern_matches(expression: str, value: str) -> bool:
    """Whether ``value`` matches the whole of a model's ``pattern``, as the services
    check it (so ``[a-z]+`` refuses ``../../x``)."""
    return _pattern(expression).fullmatch(value) is not None


@cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of service ``name`` (``signer``, ``lambda``, ...)."""
    return botocore.session.get_session().get_service_model(name)


@dataclass(frozen=True)
class Route:
    """One operation's method and URI template, compiled."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    literal_length: int
    required_query: tuple[str, ...]


def _compile(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    regex = ""
    literal = 0
    for piece in re.split(r"(\{[^}]+\})", path.rstrip("/") or "/"):
        if piece.startswith("{"):
            name = piece[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            regex += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(piece)
            literal += len(piece)
    required_query = tuple(q.split("=")[0] for q in query.split("&") if q)
    return Route(
        operation.name,
        operation.http["method"],
        re.compile(f"^{regex}/?$"),
        literal,
        required_query,
    )


@cache
def routes(service: str, operations: frozenset[str] | None = None) -> tuple[Route, ...]:
    """The routes of a service's operations (all, or the named ones), most literal first."""
    model = service_model(service)
    names = model.operation_names if operations is None else sorted(operations)
    compiled = [_compile(model.operation_model(name)) for name in names]
    return tuple(sorted(compiled, key=lambda r: -r.literal_length))


def match(
    service: str,
    method: str,
    path: str,
    query: dict[str, list[str]],
    operations: frozenset[str] | None = None,
) -> tuple[str, dict[str, str]] | None:
    """``(operation, uri parameters)`` of the request, or None when none matches."""
    for route in routes(service, operations):
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found and all(q in query for q in route.required_query):
            return route.operation, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


# --- input ---------------------------------------------------------------------------------
def _constraint(
    value: Any, where: str, rule: str, shape: Any = None, error: type[ProtocolError] = ProtocolError
) -> ProtocolError:
    if value is None:
        shown: Any = "null"
    elif shape is not None and shape.metadata.get("sensitive"):
        shown = "***"
    elif isinstance(value, (str, int, float, bool)):
        shown = value
        if isinstance(value, str) and len(value) > _SHOWN:
            shown = value[:_SHOWN] + f"... ({len(value)} characters)"
    else:
        shown = type(value).__name__
    return error(
        f"1 validation error detected: Value '{shown}' at '{where}' failed to satisfy "
        f"constraint: {rule}"
    )


def _mismatch(value: Any, where: str, rule: str, shape: Any, code: str) -> ProtocolError:
    error = _constraint(value, where, rule, shape, ShapeMismatch)
    error.code = code
    return error


def _check(value: Any, shape: Any, where: str, mismatch: str = "ValidationException") -> Any:
    """``value`` as the shape's type, or a ValidationException naming ``where`` (a value
    of the wrong JSON type: a :class:`ShapeMismatch` with code ``mismatch``)."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            raise _mismatch(
                value, where, "Member must be a structure (a JSON object)", shape, mismatch
            )
        result: Document = {}
        for name in shape.required_members:
            if value.get(name) is None:
                raise _constraint(
                    None, f"{where}.{name}" if where else name, "Member must not be null"
                )
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                result[name] = _check(
                    value[name], member, f"{where}.{name}" if where else name, mismatch
                )
        return result
    if kind == "list":
        if not isinstance(value, list):
            raise _mismatch(value, where, "Member must be a list", shape, mismatch)
        _length(value, meta, where)
        return [
            _check(item, shape.member, f"{where}[{i}]", mismatch) for i, item in enumerate(value)
        ]
    if kind == "map":
        if not isinstance(value, dict):
            raise _mismatch(value, where, "Member must be a map (a JSON object)", shape, mismatch)
        _length(value, meta, where)
        return {
            _check(k, shape.key, f"{where}.key", mismatch): _check(
                v, shape.value, f"{where}.{k}", mismatch
            )
            for k, v in value.items()
        }
    if kind == "string":
        if not isinstance(value, str):
            raise _mismatch(value, where, "Member must be a string", shape, mismatch)
        _length(value, meta, where, shape)
        if shape.enum and value not in shape.enum:
            raise _constraint(
                value, where, f"Member must satisfy enum value set: {shape.enum}", shape
            )
        pattern = meta.get("pattern")
        if pattern and not pattern_matches(pattern, value):
            raise _constraint(
                value, where, f"Member must satisfy regular expression pattern: {pattern}", shape
            )
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _mismatch(value, where, "Member must be an integer", shape, mismatch)
        _range(value, meta, where)
        return value
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _mismatch(value, where, "Member must be a number", shape, mismatch)
        _range(value, meta, where)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _mismatch(value, where, "Member must be a boolean", shape, mismatch)
        return value
    if kind == "timestamp":
        if isinstance(value, datetime):  # parsed already (a query string's member)
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                raise _constraint(value, where, "Member must be a timestamp") from None
        if isinstance(value, str):
            try:
                return parse_instant(value, field=where)
            except CodesignError:
                raise _mismatch(
                    value, where, "Member must be a timestamp", shape, mismatch
                ) from None
        raise _mismatch(value, where, "Member must be a timestamp", shape, mismatch)
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):  # a raw payload
            return bytes(value)
        if not isinstance(value, str):
            raise _mismatch(value, where, "Member must be base64 text", shape, mismatch)
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _mismatch(value, where, "Member must be base64 text", shape, mismatch) from None
        _length(value, meta, where, shape)
        return value
    return value


def _range(value: float, meta: dict[str, Any], where: str) -> None:
    if "min" in meta and value < meta["min"]:
        raise _constraint(
            value, where, f"Member must have value greater than or equal to {meta['min']}"
        )
    if "max" in meta and value > meta["max"]:
        raise _constraint(
            value, where, f"Member must have value less than or equal to {meta['max']}"
        )


def _length(value: Any, meta: dict[str, Any], where: str, shape: Any = None) -> None:
    if "min" in meta and len(value) < meta["min"]:
        raise _constraint(
            value, where, f"Member must have length greater than or equal to {meta['min']}", shape
        )
    if "max" in meta and len(value) > meta["max"]:
        raise _constraint(
            value, where, f"Member must have length less than or equal to {meta['max']}", shape
        )


def _from_text(text: str, shape: Any, where: str) -> Any:
    """A query-string or header value as the member's type."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise _constraint(text, where, "Member must be an integer") from None
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            raise _constraint(text, where, "Member must be a number") from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise _constraint(text, where, "Member must be a boolean (true or false)")
        return text.lower() == "true"
    if kind == "timestamp":
        try:
            return _check(float(text), shape, where)
        except ValueError:
            return _check(text, shape, where)
    return text


def parse_input(
    operation: OperationModel,
    uri_params: dict[str, str],
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> Document:
    """The operation's input document, checked against its input shape (types, lengths,
    ranges, enums and patterns) before anything runs; the errors are the service's own
    (a body that is not the JSON expected: :func:`content_error`)."""
    shape: Any = operation.input_shape
    if shape is None:
        return {}
    content = content_error(operation.service_model.service_name)
    raw: Document = {}
    body_members = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in uri_params:
                raw[name] = _from_text(uri_params[wire], member, name)
        elif location == "querystring":
            if wire in query:
                if member.type_name == "list":
                    raw[name] = [_from_text(v, member.member, name) for v in query[wire]]
                else:
                    raw[name] = _from_text(query[wire][-1], member, name)
        elif location == "header":
            if wire.lower() in headers:
                raw[name] = _from_text(headers[wire.lower()], member, name)
        else:
            body_members[name] = member
    payload = shape.serialization.get("payload")
    if payload and shape.members[payload].type_name in ("blob", "string"):
        if body:  # the body itself is the member (Invoke's Payload), not JSON
            raw[payload] = body if shape.members[payload].type_name == "blob" else _text(body)
    elif body_members and body.strip():
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(
                f"Could not parse request body into json: the request body is not valid JSON "
                f"({exc})",
                code=content,
            ) from None
        if not isinstance(document, dict):
            raise ProtocolError(
                "Could not parse request body into json: the request body must be a JSON object",
                code=content,
            )
        if payload:  # a structure member is the whole body
            raw[payload] = document
        else:
            for name in body_members:
                if name in document:
                    raw[name] = document[name]
    mismatch = content if content != "SerializationException" else "ValidationException"
    checked: dict[str, Any] = _check(raw, shape, "", mismatch)
    return checked


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the request body is not UTF-8 text") from None


# --- output ----------------------------------------------------------------------------------
def _epoch(value: Any) -> float:
    instant = value if isinstance(value, datetime) else parse_instant(str(value), field="at")
    return instant.timestamp()


def shape_output(value: Any, shape: Any) -> Any:
    """``value`` reduced to the members of ``shape``, timestamps as epoch seconds (the
    rest-json default), so clients parse exactly what the service would send."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        return {
            name: shape_output(value[name], member)
            for name, member in shape.members.items()
            if value.get(name) is not None and "location" not in member.serialization
        }
    if kind == "list":
        return [shape_output(item, shape.member) for item in value]
    if kind == "map":
        return {k: shape_output(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return _epoch(value)
    return value


def render_output(operation: OperationModel, document: Document) -> tuple[int, bytes]:
    """The HTTP status and JSON body of a successful answer."""
    status = int(operation.http.get("responseCode", 200))
    if operation.output_shape is None or status == 204:
        return status, b"" if status == 204 else b"{}"
    return status, json.dumps(shape_output(document, operation.output_shape)).encode()


def error_status(service: str, code: str, default: int = 400) -> int:
    """The HTTP status the service model gives error ``code``."""
    model = service_model(service)
    for shape in model.error_shapes:
        if shape.name == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", default))
    return default


def render_error(
    service: str, code: str, message: str, status: int | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An error as rest-json services send it: the code in ``x-amzn-ErrorType`` and the
    body, the message in ``message`` (and Lambda's ``Type``/``Message``)."""
    body: Document = {"__type": code, "message": message}
    if service == "lambda":
        body.update(Type="User", Message=message)
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return (
        status if status is not None else error_status(service, code),
        headers,
        json.dumps(body).encode(),
    )


def parse_query(query_string: str) -> dict[str, list[str]]:
    """A query string as ``{name: [values]}`` (blank values kept)."""
    return parse_qs(query_string, keep_blank_values=True)
