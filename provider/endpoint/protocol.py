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
#: Where a service enforces a limit its botocore model does not state: (service, shape name)
#: -> the constraints the service checks and names in its message, over the model's.
SERVICE_LIMITS: dict[tuple[str, str], dict[str, Any]] = {
    # /tmp is 512 to 10,240 MB (Lambda's API reference, EphemeralStorage); the model says 32768
    ("lambda", "EphemeralStorageSize"): {"max": 10240},
}
#: How much of a refused value a message shows (AWS shows it whole; a value this long is
#: cut, with its length said).
_SHOWN = 1024


def _path(where: str, name: str) -> str:
    """A member's path as AWS's messages name it: each member lowerCamelCase, only the
    first letter lowered (``KMSKeyArn`` is ``kMSKeyArn``), joined with dots."""
    name = name[:1].lower() + name[1:]
    return f"{where}.{name}" if where else name


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"... ({len(text)} characters)"


def _rendered(value: Any, shape: Any = None) -> str:
    """``value`` as AWS's messages show it (Java's rendering): ``[a, b]`` for a list (an
    item outside its enum as ``null``, as Lambda deserialises it), ``{k=v}`` for a map."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        member = getattr(shape, "member", None)
        enum = getattr(member, "enum", None)
        return (
            "["
            + ", ".join(
                "null" if enum and item not in enum else _rendered(item, member) for item in value
            )
            + "]"
        )
    if isinstance(value, dict):
        key, item = getattr(shape, "key", None), getattr(shape, "value", None)
        return (
            "{"
            + ", ".join(f"{_rendered(k, key)}={_rendered(v, item)}" for k, v in value.items())
            + "}"
        )
    return _cut(str(value))


def _error(value: Any, where: str, rule: str, shape: Any = None) -> str:
    """One validation error, in AWS's words: the value quoted (``null`` bare; a sensitive
    member's value not shown: ``Value at '...'``)."""
    if shape is not None and shape.metadata.get("sensitive"):
        return f"Value at '{where}' failed to satisfy constraint: {rule}"
    shown = "null" if value is None else f"'{_rendered(value, shape)}'"
    return f"Value {shown} at '{where}' failed to satisfy constraint: {rule}"


def _validation(errors: list[str]) -> ProtocolError:
    """AWS's ValidationException for ``errors``: ``N validation errors detected: ...; ...``."""
    count = len(errors)
    detected = "1 validation error" if count == 1 else f"{count} validation errors"
    return ProtocolError(f"{detected} detected: " + "; ".join(errors))


class _Checker:
    """One input document checked against its shape: the values as the shapes' types, a
    value of the wrong JSON type raised at once (:class:`ShapeMismatch`, code
    ``mismatch``: the body does not deserialise), every constraint a value breaks
    collected in :attr:`errors` (lengths, ranges, enums, patterns, required members)."""

    def __init__(self, service: str, mismatch: str) -> None:
        self.service = service
        self.mismatch = mismatch
        self.errors: list[str] = []

    def meta(self, shape: Any) -> dict[str, Any]:
        """The shape's constraints as the service enforces them (:data:`SERVICE_LIMITS`)."""
        return {**shape.metadata, **SERVICE_LIMITS.get((self.service, shape.name), {})}

    def wrong_type(self, value: Any, where: str, rule: str, shape: Any) -> ShapeMismatch:
        error = ShapeMismatch(f"1 validation error detected: {_error(value, where, rule, shape)}")
        error.code = self.mismatch
        return error

    def rules(self, shape: Any) -> list[str]:
        """Every constraint of a scalar shape, as AWS lists a list member's or a map key's."""
        meta = self.meta(shape)
        sized = shape.type_name in ("string", "blob")
        said = [
            f"Member must have {'length' if sized else 'value'} less than or equal to {meta['max']}"
            if "max" in meta
            else "",
            f"Member must have {'length' if sized else 'value'} greater than or equal to "
            f"{meta['min']}"
            if "min" in meta
            else "",
            f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            if getattr(shape, "enum", None)
            else "",
            f"Member must satisfy regular expression pattern: {meta['pattern']}"
            if "pattern" in meta
            else "",
        ]
        return [rule for rule in said if rule]

    def broken(self, value: Any, shape: Any) -> list[str]:
        """The constraints of a scalar shape ``value`` (of the shape's type) breaks."""
        meta = self.meta(shape)
        kind = shape.type_name
        broken = []
        if kind in ("string", "blob"):
            size = len(value) if kind == "string" else len(_blob_bytes(value))
            if "min" in meta and size < meta["min"]:
                broken.append(f"Member must have length greater than or equal to {meta['min']}")
            if "max" in meta and size > meta["max"]:
                broken.append(f"Member must have length less than or equal to {meta['max']}")
        elif kind in ("integer", "long", "double", "float"):
            if "min" in meta and value < meta["min"]:
                broken.append(f"Member must have value greater than or equal to {meta['min']}")
            if "max" in meta and value > meta["max"]:
                broken.append(f"Member must have value less than or equal to {meta['max']}")
        if kind == "string" and shape.enum and value not in shape.enum:
            broken.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if kind == "string" and "pattern" in meta and not pattern_matches(meta["pattern"], value):
            broken.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        return broken

    def check(self, value: Any, shape: Any, where: str) -> Any:
        """``value`` as the shape's type, its broken constraints collected."""
        kind = shape.type_name
        if kind == "structure":
            return self.structure(value, shape, where)
        if kind == "list":
            return self.list(value, shape, where)
        if kind == "map":
            return self.map(value, shape, where)
        typed = self.scalar(value, shape, where)
        self.errors.extend(_error(value, where, rule, shape) for rule in self.broken(typed, shape))
        return typed

    def structure(self, value: Any, shape: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise self.wrong_type(value, where, "Member must be a structure (a JSON object)", shape)
        result: Document = {}
        required = set(shape.required_members)
        for name, member in shape.members.items():
            path = _path(where, name)
            if value.get(name) is not None:
                result[name] = self.check(value[name], member, path)
            elif name in required:
                self.errors.append(_error(None, path, "Member must not be null"))
        return result

    def _size(self, value: Any, shape: Any, where: str) -> None:
        meta = self.meta(shape)
        if "min" in meta and len(value) < meta["min"]:
            rule = f"Member must have length greater than or equal to {meta['min']}"
            self.errors.append(_error(value, where, rule, shape))
        if "max" in meta and len(value) > meta["max"]:
            rule = f"Member must have length less than or equal to {meta['max']}"
            self.errors.append(_error(value, where, rule, shape))

    def _aggregate(self, shape: Any) -> bool:
        """Whether a member shape's constraints are said for the whole list or map (a
        scalar's, as AWS does: ``Member must satisfy constraint: [...]``)."""
        return shape.type_name not in ("structure", "list", "map")

    def list(self, value: Any, shape: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise self.wrong_type(value, where, "Member must be a list", shape)
        self._size(value, shape, where)
        member = shape.member
        if not self._aggregate(member):  # each structure's members by their place
            return [
                self.check(item, member, f"{where}.{i}.member") for i, item in enumerate(value, 1)
            ]
        typed = [None if item is None else self.scalar(item, member, where) for item in value]
        if any(item is None or self.broken(item, member) for item in typed):
            rules = ", ".join([*self.rules(member), "Member must not be null"])
            rule = f"Member must satisfy constraint: [{rules}]"
            self.errors.append(_error(value, where, rule, shape))
        return typed

    def map(self, value: Any, shape: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise self.wrong_type(value, where, "Member must be a map (a JSON object)", shape)
        self._size(value, shape, where)
        keys = {k: self.scalar(k, shape.key, where) for k in value}
        if any(self.broken(k, shape.key) for k in keys.values()):
            rule = f"Map keys must satisfy constraint: [{', '.join(self.rules(shape.key))}]"
            self.errors.append(_error(value, where, rule, shape))
        item = shape.value
        if not self._aggregate(item):
            return {keys[k]: self.check(v, item, f"{where}.{k}") for k, v in value.items()}
        typed = {
            keys[k]: None if v is None else self.scalar(v, item, where) for k, v in value.items()
        }
        if any(v is None or self.broken(v, item) for v in typed.values()):
            rules = ", ".join([*self.rules(item), "Member must not be null"])
            rule = f"Map value must satisfy constraint: [{rules}]"
            self.errors.append(_error(value, where, rule, shape))
        return typed

    def scalar(self, value: Any, shape: Any, where: str) -> Any:
        """``value`` as a scalar shape's type (raises :class:`ShapeMismatch`)."""
        kind = shape.type_name
        if kind == "string":
            if not isinstance(value, str):
                raise self.wrong_type(value, where, "Member must be a string", shape)
            return value
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.wrong_type(value, where, "Member must be an integer", shape)
            return value
        if kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.wrong_type(value, where, "Member must be a number", shape)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self.wrong_type(value, where, "Member must be a boolean", shape)
            return value
        if kind == "timestamp":
            return self.timestamp(value, shape, where)
        if kind == "blob":
            if isinstance(value, (bytes, bytearray)):  # a raw payload
                return bytes(value)
            if not isinstance(value, str):
                raise self.wrong_type(value, where, "Member must be base64 text", shape)
            try:
                _blob_bytes(value)
            except (binascii.Error, ValueError):
                raise self.wrong_type(value, where, "Member must be base64 text", shape) from None
            return value
        return value

    def timestamp(self, value: Any, shape: Any, where: str) -> datetime:
        if isinstance(value, datetime):  # parsed already (a query string's member)
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                raise _validation([_error(value, where, "Member must be a timestamp")]) from None
        if isinstance(value, str):
            try:
                return parse_instant(value, field=where)
            except CodesignError:
                raise self.wrong_type(value, where, "Member must be a timestamp", shape) from None
        raise self.wrong_type(value, where, "Member must be a timestamp", shape)


def _blob_bytes(value: str | bytes) -> bytes:
    """A blob member's bytes (raises binascii.Error for text that is not base64)."""
    if isinstance(value, bytes):
        return value
    return base64.b64decode(value, validate=True)


def _from_text(text: str, shape: Any, where: str) -> Any:
    """A query-string or header value as the member's type."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise _validation([_error(text, where, "Member must be an integer")]) from None
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            raise _validation([_error(text, where, "Member must be a number")]) from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise _validation([_error(text, where, "Member must be a boolean (true or false)")])
        return text.lower() == "true"
    if kind == "timestamp":
        checker = _Checker("", "ValidationException")
        try:
            return checker.timestamp(float(text), shape, where)
        except ValueError:
            return checker.timestamp(text, shape, where)
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
                raw[name] = _from_text(uri_params[wire], member, _path("", name))
        elif location == "querystring":
            if wire in query:
                if member.type_name == "list":
                    raw[name] = [_from_text(v, member.member, _path("", name)) for v in query[wire]]
                else:
                    raw[name] = _from_text(query[wire][-1], member, _path("", name))
        elif location == "header":
            if wire.lower() in headers:
                raw[name] = _from_text(headers[wire.lower()], member, _path("", name))
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
    checker = _Checker(operation.service_model.service_name, mismatch)
    checked: dict[str, Any] = checker.check(raw, shape, "")
    if checker.errors:
        raise _validation(checker.errors)
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
