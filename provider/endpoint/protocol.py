"""AWS's rest-json protocol, server side, driven by botocore's service models.

botocore ships the model of every operation (method, URI template, where each input
member travels, types and constraints, output shapes, error shapes); this module uses
those models to match a request to an operation, turn it into the operation's input
document (checked against the input shape, errors naming the member), and to serialise
output documents and errors the way the service does, so every AWS SDK parses them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
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
def _constraint(value: Any, where: str, rule: str) -> ProtocolError:
    shown = value if isinstance(value, (str, int, float, bool)) else type(value).__name__
    return ProtocolError(
        f"1 validation error detected: Value '{shown}' at '{where}' failed to satisfy "
        f"constraint: {rule}"
    )


def _check(value: Any, shape: Any, where: str) -> Any:
    """``value`` as the shape's type, or a ValidationException naming ``where``."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            raise _constraint(value, where, "Member must be a structure (a JSON object)")
        result: Document = {}
        for name in shape.required_members:
            if value.get(name) is None:
                raise _constraint(
                    None, f"{where}.{name}" if where else name, "Member must not be null"
                )
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                result[name] = _check(value[name], member, f"{where}.{name}" if where else name)
        return result
    if kind == "list":
        if not isinstance(value, list):
            raise _constraint(value, where, "Member must be a list")
        _length(value, meta, where)
        return [_check(item, shape.member, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _constraint(value, where, "Member must be a map (a JSON object)")
        _length(value, meta, where)
        return {
            _check(k, shape.key, f"{where}.key"): _check(v, shape.value, f"{where}.{k}")
            for k, v in value.items()
        }
    if kind == "string":
        if not isinstance(value, str):
            raise _constraint(value, where, "Member must be a string")
        _length(value, meta, where)
        if shape.enum and value not in shape.enum:
            raise _constraint(value, where, f"Member must satisfy enum value set: {shape.enum}")
        pattern = meta.get("pattern")
        if pattern and not re.search(pattern, value):
            raise _constraint(
                value, where, f"Member must satisfy regular expression pattern: {pattern}"
            )
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _constraint(value, where, "Member must be an integer")
        if "min" in meta and value < meta["min"]:
            raise _constraint(
                value, where, f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            raise _constraint(
                value, where, f"Member must have value less than or equal to {meta['max']}"
            )
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _constraint(value, where, "Member must be a boolean")
        return value
    if kind == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            try:
                return parse_instant(value, field=where)
            except CodesignError:
                raise _constraint(value, where, "Member must be a timestamp") from None
        raise _constraint(value, where, "Member must be a timestamp")
    if kind == "blob":
        if not isinstance(value, str):
            raise _constraint(value, where, "Member must be base64 text")
        return value
    return value


def _length(value: Any, meta: dict[str, Any], where: str) -> None:
    if "min" in meta and len(value) < meta["min"]:
        raise _constraint(
            value, where, f"Member must have length greater than or equal to {meta['min']}"
        )
    if "max" in meta and len(value) > meta["max"]:
        raise _constraint(
            value, where, f"Member must have length less than or equal to {meta['max']}"
        )


def _from_text(text: str, shape: Any, where: str) -> Any:
    """A query-string or header value as the member's type."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise _constraint(text, where, "Member must be an integer") from None
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
    """The operation's input document, checked against its input shape."""
    shape: Any = operation.input_shape
    if shape is None:
        return {}
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
    if body_members and body.strip():
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(
                f"the request body is not valid JSON ({exc})", code="SerializationException"
            ) from None
        if not isinstance(document, dict):
            raise ProtocolError(
                "the request body must be a JSON object", code="SerializationException"
            )
        for name in body_members:
            if name in document:
                raw[name] = document[name]
    return _check(raw, shape, "")  # type: ignore[no-any-return]


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
