"""Code locations on this server: Lambda answers a layer version's ``Content.Location``
and a function's ``Code.Location`` with presigned URLs that download the zip; moto answers
``s3://`` for layers (and has no GetLayerVersionByArn) and an ``amazonaws.com`` URL for
functions, so nothing could download served code (``layer adopt`` needs it), and a client
following the function's URL would leave the machine. Here GetLayerVersion and
GetLayerVersionByArn are answered from moto's layer objects, the locations moto gives
(GetFunction's, and every layer version answer's, PublishLayerVersion's included) are
rewritten, and both are served, on the address the client used."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, unquote

from provider.endpoint import patching
from provider.endpoint.lambda_api import moto_lambda
from provider.endpoint.state import Caller
from provider.errors import NotFoundError
from provider.statuses import ArtifactKind

Document = dict[str, Any]
#: ``PREFIX/layer/ACCOUNT/REGION/NAME/VERSION`` and ``PREFIX/function/ACCOUNT/REGION/NAME/
#: VERSION``: not a bucket name S3 allows, so no S3 request is taken for one.
CONTENT_PREFIX = "/_sam-ext/code/"
#: ``scheme://host:port`` of the request being served (the locations' base).
BASE_URL: ContextVar[str | None] = ContextVar("sam_ext_serve_base_url", default=None)


def _location(
    base_url: str, kind: ArtifactKind, account: str, region: str, name: str, version: str
) -> str:
    return f"{base_url}{CONTENT_PREFIX}{kind}/{account}/{region}/{quote(name, safe='')}/" + quote(
        version, safe=""
    )


def _moto_layer_version(account: str, region: str, name: str, version: int) -> Any:
    """moto's layer version object, or ResourceNotFoundException naming it."""
    from moto.awslambda.exceptions import UnknownLayerException

    try:
        return moto_lambda(account, region).get_layer_version(name, str(version))
    except (UnknownLayerException, KeyError, ValueError):
        raise NotFoundError(
            f"layer version {name}:{version} does not exist in account {account} ({region})"
        ) from None


def _split_layer(layer: str, caller: Caller) -> tuple[str, str, str]:
    """``(account, region, name)`` of a layer given by name or layer ARN."""
    parts = layer.split(":")
    if layer.startswith("arn:") and len(parts) >= 7 and parts[5] == "layer":
        return parts[4], parts[3], parts[6]
    return caller.account, caller.region, layer


class LayerApi:
    """GetLayerVersion and GetLayerVersionByArn, with downloadable content locations."""

    OPERATIONS = frozenset({"GetLayerVersion", "GetLayerVersionByArn"})

    def handlers(self) -> dict[str, Callable[[Caller, Document], Document]]:
        """The operations' handlers (the content location is on the address the client
        used: :data:`BASE_URL`)."""

        def by_name(caller: Caller, p: Document) -> Document:
            account, region, name = _split_layer(p["LayerName"], caller)
            return self._document(account, region, name, int(p["VersionNumber"]))

        def by_arn(caller: Caller, p: Document) -> Document:
            parts = p["Arn"].split(":")
            if len(parts) != 8 or not parts[7].isdigit():
                raise NotFoundError(f"layer version {p['Arn']} does not exist")
            return self._document(parts[4], parts[3], parts[6], int(parts[7]))

        return {"GetLayerVersion": by_name, "GetLayerVersionByArn": by_arn}

    @staticmethod
    def _document(account: str, region: str, name: str, version: int) -> Document:
        document: Document = _moto_layer_version(account, region, name, version).get_layer_version()
        return document


def layer_content_location(layer: Any, content: Document) -> Document:
    """A layer version's ``Content`` with its location on this server (moto answers
    ``s3://``; unchanged outside a request)."""
    base_url = BASE_URL.get()
    if base_url is None:
        return content
    location = _location(
        base_url, ArtifactKind.LAYER, layer.account_id, layer.region, layer.name, str(layer.version)
    )
    return {**content, "Location": location}


def function_code_location(function: Any, code: Document) -> Document:
    """GetFunction's ``Code`` with its location on this server (unchanged outside a
    request, or for an image)."""
    base_url = BASE_URL.get()
    if base_url is None or code.get("RepositoryType") != "S3":
        return code
    location = _location(
        base_url, ArtifactKind.FUNCTION, function.account_id, function.region,
        function.function_name, str(function.version),
    )  # fmt: skip
    return {**code, "Location": location}


def content(path: str) -> bytes | None:
    """The zip at a code location's ``path``, or None when there is no such layer version
    or function version (any more)."""
    from moto.awslambda.exceptions import UnknownFunctionException

    parts = path[len(CONTENT_PREFIX) :].split("/")
    if len(parts) != 5:
        return None
    kind, account, region, name, version = parts[0], parts[1], parts[2], *map(unquote, parts[3:])
    try:
        if kind == ArtifactKind.LAYER and version.isdigit():
            return bytes(_moto_layer_version(account, region, name, int(version)).code_bytes)
        if kind == ArtifactKind.FUNCTION:
            found = moto_lambda(account, region).get_function(name, version)
            return bytes(found.code_bytes)
    except (NotFoundError, UnknownFunctionException, AttributeError):
        return None
    return None


def install() -> None:
    """GetFunction's ``Code.Location`` and every layer version answer's
    ``Content.Location`` (PublishLayerVersion, GetLayerVersion, ...) on this server
    (once per process)."""
    from moto.awslambda.models import LambdaFunction, LayerVersion

    original_code = patching.original(LambdaFunction, "get_code")
    original_layer = patching.original(LayerVersion, "get_layer_version")

    def get_code(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = original_code(self)
        if "Code" in answer:
            answer["Code"] = function_code_location(self, answer["Code"])
        return answer

    def get_layer_version(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = original_layer(self)
        answer["Content"] = layer_content_location(self, answer["Content"])
        return answer

    patching.install(LambdaFunction, "get_code", get_code)
    patching.install(LayerVersion, "get_layer_version", get_layer_version)
